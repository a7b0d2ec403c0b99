/**
 * Acceptance: a 6000x4000 photo (built from Kodak images) encodes and decodes through the CLI
 * on the wasm backend with peak RSS under 4 GB, printed by the CLI.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { TEST_MODEL_ID, kodim, runCli, tempDir } from './helpers';

async function buildLargePhoto(path: string): Promise<void> {
  const W = 6000;
  const H = 4000;
  const tiles: sharp.OverlayOptions[] = [];
  let k = 0;
  for (let y = 0; y < H; y += 512) for (let x = 0; x < W; x += 768) {
    // Landscape Kodak images only, so every tile is 768x512.
    const pick = [1, 2, 3, 5, 6, 7, 8, 11, 12, 13, 14, 15, 16, 20, 21, 22, 23, 24][k++ % 18];
    tiles.push({ input: kodim(pick), left: x, top: y });
  }
  await sharp({ create: { width: W, height: H, channels: 3, background: '#808080' } })
    .composite(tiles.filter((t) => (t.left as number) < W && (t.top as number) < H).map((t) => ({ ...t, input: t.input })))
    .jpeg({ quality: 92 })
    .toFile(path);
}

describe('24-megapixel photo through the CLI on wasm', () => {
  it('encodes and decodes under 4 GB peak RSS', async () => {
    const dir = tempDir();
    const jpg = join(dir, 'big.jpg');
    await buildLargePhoto(jpg);
    const sgai = join(dir, 'big.sgai');
    const enc = await runCli(['encode', jpg, '-o', sgai, '--model', TEST_MODEL_ID, '--backend', 'wasm']);
    expect(enc.code, enc.stderr).toBe(0);
    console.log(`encode: ${enc.stdout.trim()} | peak RSS ${enc.peakRssMb} MB`);
    expect(enc.peakRssMb).toBeDefined();
    expect(enc.peakRssMb!).toBeLessThan(4000);
    const png = join(dir, 'big.png');
    const dec = await runCli(['decode', sgai, '-o', png, '--backend', 'wasm']);
    expect(dec.code, dec.stderr).toBe(0);
    console.log(`decode: ${dec.stdout.trim()} | peak RSS ${dec.peakRssMb} MB`);
    expect(dec.peakRssMb!).toBeLessThan(4000);
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height]).toEqual([6000, 4000]);
    expect(statSync(sgai).size).toBeGreaterThan(10_000);
  });
});
