/**
 * The refinement engine end to end on real Kodak content with the test model: it never makes
 * the rate-distortion loss worse than no refinement, refined files decode bit-exactly like any
 * other, retargeting lambda moves bpp and PSNR the expected way, it is deterministic for a seed,
 * cancellation leaves nothing behind, and tensor memory stays flat.
 *
 * CPU budget: 128x128 crops (the centre of each of the 24 Kodak images) and few iterations;
 * full-size, long-budget numbers are in docs/sgaplus-results.md.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/backend';
import { decode, encode, synthesiseLatents } from '../src/core/codec';
import { SgaiError } from '../src/core/errors';
import { decodeSgai } from '../src/core/format';
import type { RasterImage } from '../src/core/image/raster';
import { loadModelFromPath, type LoadedModel } from '../src/core/model/registry';
import { TEST_MODEL_PATH, kodakCrop } from './helpers';

describe('refinement engine', () => {
  let model: LoadedModel;
  const crops: RasterImage[] = [];
  beforeAll(async () => {
    await initBackend('wasm');
    model = loadModelFromPath(TEST_MODEL_PATH);
    for (let i = 1; i <= 24; i++) crops.push(await kodakCrop(i, -1, -1, 128, 128));
  });

  it('never worse than unrefined, refined files decode bit-exactly, lambda retargeting moves along the R-D curve (24 Kodak crops)', async () => {
    const lam = model.card.lambda;
    const rows: string[] = [];
    for (const [i, crop] of crops.entries()) {
      const base = await encode(crop, { model, preview: false });
      const same = await encode(crop, { model, preview: false, keepLatents: true, refine: { method: 'ssl', iterations: 15, seed: 1 } });
      const r = same.refinement!;
      expect(r.best.loss).toBeLessThanOrEqual(r.initial.loss);
      // A refined file is an ordinary file: it decodes to g_s of exactly the latents it codes.
      const dec = (await decode(same.bytes, { model })).image;
      const expected = await synthesiseLatents(model, same.yHat!, crop.width, crop.height, 512);
      expect(Buffer.compare(Buffer.from(dec.data as Uint8Array), Buffer.from(expected.data as Uint8Array))).toBe(0);
      expect(decodeSgai(same.bytes).refine).toMatchObject({ method: 'ssl', lambda: lam, iterations: 15 });

      const up = (await encode(crop, { model, preview: false, refine: { method: 'ssl', iterations: 15, seed: 1, lambda: lam * 4 } })).refinement!;
      const down = (await encode(crop, { model, preview: false, refine: { method: 'ssl', iterations: 15, seed: 1, lambda: lam / 4 } })).refinement!;
      expect(up.best.bpp).toBeGreaterThan(down.best.bpp);
      expect(up.best.psnr).toBeGreaterThan(down.best.psnr);
      rows.push(`kodim${i + 1}: unrefined ${base.stats.bytes} B; same lambda loss ${r.initial.loss.toFixed(4)} -> ${r.best.loss.toFixed(4)}; x4 lambda ${up.best.bpp.toFixed(3)} bpp ${up.best.psnr.toFixed(2)} dB; /4 lambda ${down.best.bpp.toFixed(3)} bpp ${down.best.psnr.toFixed(2)} dB`);
    }
    console.log(rows.join('\n'));
  });

  it('is deterministic for a seed and keeps tensor memory flat', async () => {
    const before = tf.memory().numTensors;
    const a = await encode(crops[0], { model, preview: false, refine: { method: 'ssl3', iterations: 8, seed: 3 } });
    const mid = tf.memory().numTensors;
    const b = await encode(crops[0], { model, preview: false, refine: { method: 'ssl3', iterations: 8, seed: 3 } });
    expect(Buffer.compare(Buffer.from(a.bytes), Buffer.from(b.bytes))).toBe(0);
    expect(tf.memory().numTensors).toBe(mid);
    expect(mid - before).toBeLessThan(200); // one-off constants of the differentiable model
  });

  it('cancels with a typed error and reports progress', async () => {
    const ctrl = new AbortController();
    const seen: number[] = [];
    await expect(encode(crops[1], {
      model, preview: false, signal: ctrl.signal,
      refine: { method: 'ssl', iterations: 50, onProgress: (p) => { seen.push(p.iteration); if (p.iteration === 3) ctrl.abort(); } },
    })).rejects.toSatisfy((e) => e instanceof SgaiError && e.code === 'CANCELLED');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('a time budget stops early and still returns the best iterate', async () => {
    const r = (await encode(crops[2], { model, preview: false, refine: { method: 'linear', iterations: 10_000, timeBudgetS: 1 } })).refinement!;
    expect(r.iterations).toBeLessThan(10_000);
    expect(r.best.loss).toBeLessThanOrEqual(r.initial.loss);
  });
});

describe('large photos', () => {
  it('are refined tile by tile (bounded memory) and still decode exactly', async () => {
    await initBackend('wasm');
    const model = loadModelFromPath(TEST_MODEL_PATH);
    // 700x900 padded to 704x960: larger than the whole-image limit, so 2x2 refinement tiles.
    const big = await kodakCrop(3, 0, 0, 900, 700);
    const progress: number[] = [];
    const r = await encode(big, { model, preview: false, keepLatents: true, refine: { method: 'ssl', iterations: 3, onProgress: (p) => progress.push(p.iteration) } });
    const f = r.refinement!;
    expect(progress.at(-1)).toBe(12); // 4 tiles x 3 iterations
    expect(f.best.loss).toBeLessThanOrEqual(f.initial.loss * 1.001);
    const dec = (await decode(r.bytes, { model })).image;
    const expected = await synthesiseLatents(model, r.yHat!, 900, 700, 512);
    expect(Buffer.compare(Buffer.from(dec.data as Uint8Array), Buffer.from(expected.data as Uint8Array))).toBe(0);
  });
});
