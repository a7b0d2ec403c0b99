/**
 * Inputs for the ort tests: real Kodak photos when ../shared/datasets/kodak is there, else a
 * generated photo-like image (smooth gradients, edges and fine texture), so the tests run on a
 * checkout without the dataset too.
 */
import { existsSync } from 'node:fs';
import { readImage } from '../src/core/image/read';
import type { RasterImage } from '../src/core/image/raster';
import { KODAK, kodim } from './helpers';

export const HAVE_KODAK = existsSync(kodim(1));

/** A deterministic 8-bit RGB test picture of w x h. */
export function syntheticPhoto(w: number, h: number, seed = 1): RasterImage {
  const data = new Uint8Array(w * h * 3);
  let s = seed >>> 0;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const edge = (x + 0.6 * y) % 160 < 80 ? 40 : 0;
      for (let c = 0; c < 3; c++) {
        const v = 110 + 70 * Math.sin(x / (37 + 11 * c) + y / 53) + 30 * Math.cos((x * y) / 9000 + c) + edge + 14 * (rnd() - 0.5);
        data[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  return { width: w, height: h, bitDepth: 8, data };
}

/** Kodak image i if present, else a synthetic 768x512 (or 512x768 for the portrait ones) picture. */
export async function photo(i: number): Promise<{ image: RasterImage; name: string }> {
  if (HAVE_KODAK) return { image: (await readImage(kodim(i))).image, name: `kodim${String(i).padStart(2, '0')}` };
  const portrait = [4, 9, 10, 17, 18, 19].includes(i);
  return { image: syntheticPhoto(portrait ? 512 : 768, portrait ? 768 : 512, i), name: `synthetic${i} (no ${KODAK})` };
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/** Largest difference between two 8-bit (or 16-bit) rasters, and how many values differ. */
export function levelDiff(a: RasterImage, b: RasterImage): { max: number; differing: number; total: number } {
  let max = 0;
  let differing = 0;
  for (let k = 0; k < a.data.length; k++) {
    const d = Math.abs(a.data[k] - b.data[k]);
    if (d) differing++;
    if (d > max) max = d;
  }
  return { max, differing, total: a.data.length };
}
