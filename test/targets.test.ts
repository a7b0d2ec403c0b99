/** Quality targets search models and the refinement lambda, and report what the file really is. */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/backend';
import { decode, encode } from '../src/core/codec';
import type { RasterImage } from '../src/core/image/raster';
import { psnr } from '../src/core/metrics/psnr';
import { loadModelFromPath, type LoadedModel } from '../src/core/model/registry';
import { encodeToTarget } from '../src/core/targets';
import { TEST_MODEL_PATH, kodakCrop } from './helpers';

describe('quality targets', () => {
  let model: LoadedModel;
  let crop: RasterImage;
  beforeAll(async () => {
    await initBackend('wasm');
    model = loadModelFromPath(TEST_MODEL_PATH);
    crop = await kodakCrop(15, 300, 200, 192, 192);
  });

  it('a bpp target is met by searching the refinement lambda, and the reported numbers are the real file', async () => {
    const base = await encode(crop, { model });
    const baseBpp = (base.bytes.length * 8) / (192 * 192);
    const target = baseBpp * 1.15; // room above the unrefined point: refinement should spend it on quality
    const t = await encodeToTarget(crop, { kind: 'bpp', value: target }, [model], { refine: { method: 'ssl', iterations: 6 } });
    expect(t.met).toBe(true);
    expect(t.reached.bpp).toBeLessThanOrEqual(target);
    expect(t.reached.bytes).toBe(t.result.bytes.length);
    const dec = (await decode(t.result.bytes, { model })).image;
    expect(t.reached.psnr).toBeCloseTo(psnr(crop, dec), 10);
    expect(t.reached.msssim).not.toBeNull();
    expect(t.probes.length).toBeGreaterThan(1);
    // Every kept probe that meets the target is no better than the chosen one.
    for (const p of t.probes.filter((q) => q.meets)) expect(p.psnr).toBeLessThanOrEqual(t.reached.psnr + 1e-9);
  });

  it('an unreachable quality target returns the closest result and says so', async () => {
    const t = await encodeToTarget(crop, { kind: 'psnr', value: 60 }, [model]);
    expect(t.met).toBe(false);
    expect(t.reached.psnr).toBeLessThan(60);
  });

  it('a size target in bytes', async () => {
    const t = await encodeToTarget(crop, { kind: 'bytes', value: 100_000 }, [model]);
    expect(t.met).toBe(true);
    expect(t.result.bytes.length).toBeLessThanOrEqual(100_000);
  });

  it('rejects impossible targets', async () => {
    await expect(encodeToTarget(crop, { kind: 'msssim', value: 1.2 }, [model])).rejects.toThrow(/not reachable/);
    await expect(encodeToTarget(crop, { kind: 'bpp', value: 1 }, [])).rejects.toThrow(/no models/);
  });
});
