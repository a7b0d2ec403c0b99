/**
 * Tiles must never show seams: tiled and whole-image transforms of the same data agree up to
 * float rounding, and a region decode equals the same crop of the full decode.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/backend';
import { decode, encode, synthesiseLatents } from '../src/core/codec';
import { analyse } from '../src/core/pipeline/transforms';
import type { RasterImage } from '../src/core/image/raster';
import { readImage } from '../src/core/image/read';
import { latentGrid } from '../src/core/latent-grid';
import { loadModelFromPath, type LoadedModel } from '../src/core/model/registry';
import { TEST_MODEL_PATH, kodim } from './helpers';

function crop(img: RasterImage, x: number, y: number, w: number, h: number): RasterImage {
  const data = new Uint8Array(w * h * 3);
  for (let r = 0; r < h; r++) data.set((img.data as Uint8Array).subarray(((y + r) * img.width + x) * 3, ((y + r) * img.width + x + w) * 3), r * w * 3);
  return { width: w, height: h, bitDepth: 8, data };
}

describe('tiling', () => {
  let model: LoadedModel;
  let photo: RasterImage;
  beforeAll(async () => {
    await initBackend('wasm');
    model = loadModelFromPath(TEST_MODEL_PATH);
    photo = crop((await readImage(kodim(21))).image, 0, 0, 700, 460); // not a multiple of 64 on purpose
  });

  it('tiled analysis equals whole-image analysis up to float rounding', async () => {
    const whole = await analyse(model.weights, photo, latentGrid(photo.width, photo.height, 1024));
    const tiled = await analyse(model.weights, photo, latentGrid(photo.width, photo.height, 128));
    let max = 0;
    for (let i = 0; i < whole.length; i++) max = Math.max(max, Math.abs(whole[i] - tiled[i]));
    expect(max).toBeLessThan(1e-3);
  });

  it('tiled and whole-image synthesis of the same latents agree (no seams)', async () => {
    const r = await encode(photo, { model, tileSize: 128, keepLatents: true });
    const tiled = await synthesiseLatents(model, r.yHat!, photo.width, photo.height, 128);
    const whole = await synthesiseLatents(model, r.yHat!, photo.width, photo.height, 1024);
    let maxDiff = 0;
    let differing = 0;
    for (let i = 0; i < whole.data.length; i++) {
      const d = Math.abs(whole.data[i] - tiled.data[i]);
      maxDiff = Math.max(maxDiff, d);
      if (d) differing++;
    }
    // Float rounding may flip an 8-bit value that sits on a .5 boundary, nothing more.
    expect(maxDiff).toBeLessThanOrEqual(1);
    expect(differing / whole.data.length).toBeLessThan(1e-3);
  });

  it('a region decode equals the same crop of the full decode, and decodes fewer tiles', async () => {
    const r = await encode(photo, { model, tileSize: 128 });
    const full = (await decode(r.bytes, { model })).image;
    const region = { x: 200, y: 150, width: 180, height: 90 };
    const part = (await decode(r.bytes, { model, region })).image;
    expect(Buffer.compare(Buffer.from(part.data as Uint8Array), Buffer.from(crop(full, region.x, region.y, region.width, region.height).data as Uint8Array))).toBe(0);
    await expect(decode(r.bytes, { model, region: { x: 650, y: 0, width: 100, height: 10 } })).rejects.toThrow(/outside the 700x460 image/);
  });
});
