/**
 * Files and pixels with the ort backend: an exact decode (the default) gives exactly the
 * pixels today's reference decoder gave (SHA-256 recorded in test/fixtures/ort before the ort
 * backend existed: bench/exact-reference.ts checks all 24 Kodak images), a --fast decode on ort
 * is at most one 8-bit level away, and a file encoded on ort decodes on wasm to exactly the
 * latents the encoder chose. The default model, real weights, real Kodak photos.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/backend';
import { decode, encode, encodeFile, resolveModel, synthesiseLatents } from '../src/core/codec';
import { decodeSgai } from '../src/core/format';
import { latentGrid } from '../src/core/latent-grid';
import { psnr } from '../src/core/metrics/psnr';
import { decodeLatents } from '../src/core/pipeline/latent-coding';
import { ROOT, kodim, runCli, tempDir } from './helpers';
import { HAVE_KODAK, levelDiff, photo } from './ort-helpers';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const fixture = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'ort', 'exact-reference.json'), 'utf8')) as {
  weightsSha256: string; images: Record<string, { sgai: string; pixels: string }>;
};
const model = resolveModel({});
const IMAGES = [1, 4, 13];

describe.skipIf(!HAVE_KODAK)('exact decodes with ort active = the reference decoder of before', () => {
  it('the fixture was recorded with the shipped default model', () => {
    expect(fixture.weightsSha256, 'the default model changed: re-record with npx tsx bench/exact-reference.ts --record').toBe(model.weights.sha256);
  });

  for (const i of IMAGES) {
    it(`kodim${String(i).padStart(2, '0')}: same file from a wasm encode, identical exact pixels, fast ort pixels within one level`, async () => {
      const { image, name } = await photo(i);
      const want = fixture.images[name];
      await initBackend('wasm');
      const r = await encode(image, { model, preview: false });
      expect(sha(r.bytes)).toBe(want.sgai);
      await initBackend('ort');
      const exact = await decode(r.bytes, { model });
      expect(exact.exact).toBe(true);
      expect(exact.synthesis).toBe('tfjs');
      expect(sha(exact.image.data as Uint8Array)).toBe(want.pixels);
      const fast = await decode(r.bytes, { model, exact: false });
      expect(fast.exact).toBe(false);
      expect(fast.synthesis).toBe('ort');
      const d = levelDiff(exact.image, fast.image);
      expect(d.max).toBeLessThanOrEqual(1);
      expect(d.differing / d.total).toBeLessThan(1e-3);
      console.log(`${name}: exact decode identical to the reference; --fast (ort) differs by one level at ${d.differing} of ${d.total} values`);
    });
  }
});

describe('encoding on ort', () => {
  for (const i of [1, 4]) {
    it(`image ${i}: an ort-encoded file decodes on wasm to exactly the encoder's latents`, async () => {
      const { image, name } = await photo(i);
      await initBackend('ort');
      const r = await encode(image, { model, keepLatents: true, preview: false });
      await initBackend('wasm');
      const file = decodeSgai(r.bytes);
      const g = latentGrid(image.width, image.height, file.header.tileSize);
      const all = Array.from({ length: g.tilesX * g.tilesY }, (_, t) => t);
      const yHat = decodeLatents(model.weights, file.zStream, file.yStreams, g, all);
      expect(Buffer.compare(Buffer.from(yHat.buffer), Buffer.from(r.yHat!.buffer))).toBe(0);
      const dec = await decode(r.bytes, { model });
      const ref = await synthesiseLatents(model, r.yHat!, image.width, image.height, file.header.tileSize);
      expect(Buffer.compare(Buffer.from(dec.image.data as Uint8Array), Buffer.from(ref.data as Uint8Array))).toBe(0);
      expect(psnr(image, dec.image)).toBeGreaterThan(22);

      // The same photo encoded on wasm: the rounded latents agree but for a handful per million.
      const w = await encode(image, { model, keepLatents: true, preview: false });
      let differ = 0;
      for (let k = 0; k < yHat.length; k++) if (w.yHat![k] !== r.yHat![k]) differ++;
      expect(differ / yHat.length).toBeLessThan(2e-5);
      console.log(`${name}: ort encode ${r.bytes.length} B, wasm encode ${w.bytes.length} B; quantized latents differ at ${differ} of ${yHat.length}`);
    });
  }

  it('encode exact=true analyses on the wasm reference even with ort active: the same bytes as a wasm encode', async () => {
    const { image } = await photo(4);
    await initBackend('wasm');
    const onWasm = await encode(image, { model, preview: false });
    await initBackend('ort');
    const exact = await encode(image, { model, preview: false, exact: true });
    expect(Buffer.compare(Buffer.from(exact.bytes), Buffer.from(onWasm.bytes))).toBe(0);
  });
});

describe.skipIf(!HAVE_KODAK)('the CLI', () => {
  it('picks ort by default; decode --exact gives the reference pixels, --fast is within one level, both together are refused', async () => {
    const dir = tempDir('sgai-ort-cli-');
    const { image, name } = await photo(1);
    await initBackend('wasm');
    const sgai = join(dir, 'a.sgai');
    writeFileSync(sgai, (await encode(image, { model, preview: false })).bytes);
    const pixels = async (png: string) => new Uint8Array(await sharp(png).raw().toBuffer());

    const exact = await runCli(['decode', sgai, '-o', join(dir, 'exact.png'), '--exact', '--quiet']);
    expect(exact.code, exact.stderr).toBe(0);
    expect(exact.stderr).toMatch(/^backend: ort \[1 thread/m);
    expect(sha(await pixels(join(dir, 'exact.png')))).toBe(fixture.images[name].pixels);

    const fast = await runCli(['decode', sgai, '-o', join(dir, 'fast.png'), '--fast', '--quiet']);
    expect(fast.code, fast.stderr).toBe(0);
    expect(fast.stdout).toMatch(/fast \(synthesis on ONNX Runtime\)/);
    const a = await pixels(join(dir, 'exact.png'));
    const b = await pixels(join(dir, 'fast.png'));
    let max = 0;
    for (let k = 0; k < a.length; k++) max = Math.max(max, Math.abs(a[k] - b[k]));
    expect(max).toBeLessThanOrEqual(1);

    const both = await runCli(['decode', sgai, '-o', join(dir, 'x.png'), '--exact', '--fast']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--exact and --fast exclude each other/);
  });

  it('encode --exact with ort active writes the same file as an encode on wasm', async () => {
    const dir = tempDir('sgai-ort-cli-');
    const src = kodim(4);
    const out = join(dir, 'e.sgai');
    const e = await runCli(['encode', src, '-o', out, '--exact', '--quiet']);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stderr).toMatch(/^backend: ort/m);
    await initBackend('wasm');
    const ref = await encodeFile(src, { model });
    expect(Buffer.compare(readFileSync(out), Buffer.from(ref.bytes))).toBe(0);
  });
});
