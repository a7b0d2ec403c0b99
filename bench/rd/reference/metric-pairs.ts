/**
 * Deterministic image pairs for checking our metrics against independent implementations.
 * Only the recipe lives in the repo; the pixels are rebuilt from Kodak (shared/datasets) and a
 * seeded PRNG, so the committed reference numbers (metrics-reference.json) stay small.
 *
 *   npx tsx bench/rd/reference/metric-pairs.ts <outdir>   # writes <name>.a.rgb/.b.rgb + pairs.json
 * then bench/rd/reference/make_metrics_ref.py computes the reference numbers from those files.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { type RasterImage } from '../../../src/core';
import { mulberry32 } from '../../../test/seeded-random';

const HERE = dirname(fileURLToPath(import.meta.url));
export const KODAK_DIR = resolve(HERE, '..', '..', '..', '..', 'shared', 'datasets', 'kodak');

export interface MetricPair {
  name: string;
  a: RasterImage;
  b: RasterImage;
  /** sha256 of b's samples, for pairs whose pixels come from a library that may change (JPEG). */
  bSha256: string;
}

/** Small seeded PRNG (mulberry32): same sequence on every platform. */
const rng = mulberry32;

const clamp8 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

async function kodak(i: number, crop?: { left: number; top: number; width: number; height: number }): Promise<RasterImage> {
  let p = sharp(join(KODAK_DIR, `kodim${String(i).padStart(2, '0')}.png`)).removeAlpha();
  if (crop) p = p.extract(crop);
  const { data, info } = await p.raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, bitDepth: 8, data: new Uint8Array(data) };
}

function map(img: RasterImage, f: (v: number, i: number) => number): RasterImage {
  return { ...img, data: Uint8Array.from(img.data, (v, i) => clamp8(f(v, i))) };
}

function noise(img: RasterImage, amp: number, seed: number): RasterImage {
  const r = rng(seed);
  return map(img, (v) => v + (r() * 2 - 1) * amp);
}

function boxBlur3(img: RasterImage): RasterImage {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const yy = Math.min(h - 1, Math.max(0, y + dy));
            const xx = Math.min(w - 1, Math.max(0, x + dx));
            s += data[(yy * w + xx) * 3 + c];
          }
        }
        out[(y * w + x) * 3 + c] = clamp8(s / 9);
      }
    }
  }
  return { ...img, data: out };
}

/** Halfway between each pixel and its 8x8 block mean: JPEG-like blocking without a codec. */
function blocky(img: RasterImage): RasterImage {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(data.length);
  for (let by = 0; by < h; by += 8) {
    for (let bx = 0; bx < w; bx += 8) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        let n = 0;
        for (let y = by; y < Math.min(h, by + 8); y++) for (let x = bx; x < Math.min(w, bx + 8); x++, n++) s += data[(y * w + x) * 3 + c];
        const m = s / n;
        for (let y = by; y < Math.min(h, by + 8); y++) {
          for (let x = bx; x < Math.min(w, bx + 8); x++) out[(y * w + x) * 3 + c] = clamp8((data[(y * w + x) * 3 + c] + m) / 2);
        }
      }
    }
  }
  return { ...img, data: out };
}

function gradient(w: number, h: number): RasterImage {
  const r = rng(7);
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      data[i] = clamp8((x / w) * 255);
      data[i + 1] = clamp8((y / h) * 255);
      data[i + 2] = clamp8(128 + 60 * Math.sin(x / 9) * Math.cos(y / 13) + r() * 20);
    }
  }
  return { width: w, height: h, bitDepth: 8, data };
}

async function jpegRoundTrip(img: RasterImage, quality: number): Promise<RasterImage> {
  const jpg = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).jpeg({ quality, mozjpeg: false }).toBuffer();
  const { data, info } = await sharp(jpg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, bitDepth: 8, data: new Uint8Array(data) };
}

const sha = (img: RasterImage): string => createHash('sha256').update(img.data).digest('hex');

export async function metricPairs(): Promise<MetricPair[]> {
  const pairs: Array<{ name: string; a: RasterImage; b: RasterImage }> = [];
  const k01 = await kodak(1);
  pairs.push({ name: 'kodim01-noise8', a: k01, b: noise(k01, 8, 1) });
  const k04 = await kodak(4);
  pairs.push({ name: 'kodim04-blur3', a: k04, b: boxBlur3(k04) });
  const k23 = await kodak(23, { left: 200, top: 100, width: 256, height: 192 });
  pairs.push({ name: 'kodim23crop-blocky', a: k23, b: blocky(k23) });
  const k08 = await kodak(8, { left: 64, top: 32, width: 256, height: 256 });
  pairs.push({ name: 'kodim08crop-noise60', a: k08, b: noise(k08, 60, 2) });
  const g = gradient(176, 176);
  pairs.push({ name: 'gradient176-gamma-noise', a: g, b: noise(map(g, (v) => 255 * (v / 255) ** 1.3), 4, 3) });
  const k12 = await kodak(12, { left: 100, top: 80, width: 320, height: 240 });
  pairs.push({ name: 'kodim12crop-jpeg15', a: k12, b: await jpegRoundTrip(k12, 15) });
  return pairs.map((p) => ({ ...p, bSha256: sha(p.b) }));
}

// Writes the pairs as raw RGB for the Python reference script.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: metric-pairs.ts <outdir>');
  mkdirSync(out, { recursive: true });
  const pairs = await metricPairs();
  for (const p of pairs) {
    writeFileSync(join(out, `${p.name}.a.rgb`), p.a.data);
    writeFileSync(join(out, `${p.name}.b.rgb`), p.b.data);
  }
  writeFileSync(join(out, 'pairs.json'), JSON.stringify(pairs.map((p) => ({ name: p.name, width: p.a.width, height: p.a.height, bSha256: p.bSha256 })), null, 2));
  console.log(`wrote ${pairs.length} pairs to ${out}`);
}
