/**
 * Acceptance: all 24 Kodak photos round-trip through the CLI; the decoded image is
 * bit-identical to g_s applied to the quantized latents the encoder chose, and the file size
 * is within 1 % + 64 bytes of the ideal code length plus the header/metadata/preview bytes.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/backend';
import { encode, synthesiseLatents } from '../src/core/codec';
import { readImage } from '../src/core/image/read';
import { psnr } from '../src/core/metrics/psnr';
import { loadModelFromPath } from '../src/core/model/registry';
import { TEST_MODEL_ID, TEST_MODEL_PATH, kodim, runCli, tempDir } from './helpers';

describe('Kodak round trip through the CLI', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('all 24 images: bit-exact synthesis of the chosen latents, size close to the ideal code length', async () => {
    const dir = tempDir();
    const model = loadModelFromPath(TEST_MODEL_PATH);
    const rows: string[] = [];
    for (let i = 1; i <= 24; i++) {
      const src = kodim(i);
      const sgai = join(dir, `k${i}.sgai`);
      const png = join(dir, `k${i}.png`);
      const e = await runCli(['encode', src, '-o', sgai, '--model', TEST_MODEL_ID, '--backend', 'wasm', '--quiet']);
      expect(e.code, e.stderr).toBe(0);
      const d = await runCli(['decode', sgai, '-o', png, '--backend', 'wasm', '--quiet']);
      expect(d.code, d.stderr).toBe(0);

      // The same encode in-process gives the same bytes (deterministic) and the latents it chose.
      const { image: original, meta } = await readImage(src);
      // encodeFile records the source's hash and size (format 1.1's srci chunk).
      const bytes = readFileSync(src);
      const source = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
      const r = await encode(original, { model, keepLatents: true, metadata: meta, source, idealBits: true });
      const fileBytes = readFileSync(sgai);
      expect(Buffer.compare(Buffer.from(r.bytes), fileBytes)).toBe(0);

      const expected = await synthesiseLatents(model, r.yHat!, original.width, original.height, 512);
      const { image: decoded } = await readImage(png);
      expect(decoded.width).toBe(original.width);
      expect(Buffer.compare(Buffer.from(decoded.data as Uint8Array), Buffer.from(expected.data as Uint8Array))).toBe(0);

      const s = { ...r.stats, idealStreamBytes: r.stats.idealStreamBytes! };
      expect(s.idealStreamBytes).toBeGreaterThan(0);
      expect(Math.abs(s.streamBytes - s.idealStreamBytes)).toBeLessThanOrEqual(0.01 * s.idealStreamBytes + 64);
      expect(s.bytes).toBe(s.streamBytes + s.overheadBytes);
      rows.push(`kodim${String(i).padStart(2, '0')} ${s.bytes} B ${s.bpp.toFixed(3)} bpp, streams ${s.streamBytes} vs ideal ${s.idealStreamBytes.toFixed(0)} B, overhead ${s.overheadBytes} B, PSNR ${psnr(original, decoded).toFixed(2)} dB`);
    }
    console.log(rows.join('\n'));
  });
});
