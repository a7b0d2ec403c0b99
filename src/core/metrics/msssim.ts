/**
 * MS-SSIM (Wang, Simoncelli, Bovik 2003) and luma helpers for the R-D benchmark.
 *
 * Parameters are the usual ones: 5 scales, 11-tap Gaussian window with sigma 1.5, exponents
 * 0.0448, 0.2856, 0.3001, 0.2363, 0.1333, K1 = 0.01, K2 = 0.03, 2x2 average downsampling between
 * scales. Statistics use only windows that fit entirely inside the image ("valid" filtering).
 *
 * Conventions (they change the numbers, so they are stated here and in docs/benchmarks.md):
 * - Samples are scaled to [0,1] (8-bit /255, 16-bit /65535) and the dynamic range L is 1.
 * - RGB: MS-SSIM is computed per channel and the three values are averaged, as
 *   pytorch_msssim / CompressAI do.
 * - Y: BT.601 full-range luma Y = 0.299 R + 0.587 G + 0.114 B on the [0,1] floats, not rounded.
 * - cs and ssim terms are clamped at 0 before the power, so a negative term cannot produce NaN.
 * - Odd sizes: before downsampling, the last row/column is repeated, so a side of n becomes
 *   ceil(n/2). For sizes that stay even through the pyramid (Kodak) this is plain 2x2 averaging.
 * - The short side must be at least 161 px so the coarsest scale still holds one 11x11 window.
 */
import { SgaiError } from '../errors';
import type { RasterImage } from '../image/raster';

export const MSSSIM_WEIGHTS: readonly number[] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];
const WIN = 11;
const SIGMA = 1.5;
const K1 = 0.01;
const K2 = 0.03;
/** Smallest short side for which all 5 scales hold one full window. */
export const MSSSIM_MIN_SIDE = 161;

/** A single-channel float image, row-major. */
export interface Plane {
  width: number;
  height: number;
  data: Float64Array;
}

const GAUSS: Float64Array = (() => {
  const g = new Float64Array(WIN);
  const c = (WIN - 1) / 2;
  let s = 0;
  for (let i = 0; i < WIN; i++) {
    g[i] = Math.exp(-((i - c) ** 2) / (2 * SIGMA * SIGMA));
    s += g[i];
  }
  for (let i = 0; i < WIN; i++) g[i] /= s;
  return g;
})();

function sameSize(a: RasterImage, b: RasterImage): void {
  if (a.width !== b.width || a.height !== b.height) {
    throw new SgaiError('INVALID_ARGUMENT', `cannot compare ${a.width}x${a.height} with ${b.width}x${b.height}`);
  }
  if (a.data.length !== a.width * a.height * 3 || b.data.length !== b.width * b.height * 3) {
    throw new SgaiError('INVALID_ARGUMENT', 'images must hold interleaved RGB samples (3 per pixel)');
  }
}

const scaleOf = (img: RasterImage): number => 1 / (img.bitDepth === 16 ? 65535 : 255);

/** One channel (0 = R, 1 = G, 2 = B) as floats in [0,1]. */
export function channelPlane(img: RasterImage, c: 0 | 1 | 2): Plane {
  const n = img.width * img.height;
  const out = new Float64Array(n);
  const s = scaleOf(img);
  for (let i = 0; i < n; i++) out[i] = img.data[i * 3 + c] * s;
  return { width: img.width, height: img.height, data: out };
}

/** BT.601 luma on [0,1] floats (full range, unrounded). */
export function lumaPlane(img: RasterImage): Plane {
  const n = img.width * img.height;
  const out = new Float64Array(n);
  const s = scaleOf(img);
  const d = img.data;
  for (let i = 0; i < n; i++) out[i] = (0.299 * d[i * 3] + 0.587 * d[i * 3 + 1] + 0.114 * d[i * 3 + 2]) * s;
  return { width: img.width, height: img.height, data: out };
}

/** PSNR in dB (peak 1) between two planes; Infinity when identical. */
export function psnrPlanes(a: Plane, b: Plane): number {
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i] - b.data[i];
    sum += d * d;
  }
  const m = sum / a.data.length;
  return m === 0 ? Infinity : -10 * Math.log10(m);
}

/** PSNR of BT.601 luma (full range, peak 1); Infinity when the lumas are identical. */
export function psnrY(a: RasterImage, b: RasterImage): number {
  sameSize(a, b);
  return psnrPlanes(lumaPlane(a), lumaPlane(b));
}

/** Mean SSIM and mean contrast-structure term of one scale, over all valid 11x11 windows. */
function ssimAndCs(x: Plane, y: Plane): { ssim: number; cs: number } {
  const { width: w, height: h } = x;
  const ow = w - WIN + 1;
  const oh = h - WIN + 1;
  if (ow < 1 || oh < 1) throw new SgaiError('INVALID_ARGUMENT', `a ${w}x${h} plane is smaller than the ${WIN}x${WIN} window`);
  // Horizontal pass of the five moments into one buffer (5 values per output column), then the
  // vertical pass per output pixel: separable filtering keeps this O(22) per pixel.
  const hx = new Float64Array(ow * h * 5);
  const xd = x.data;
  const yd = y.data;
  for (let r = 0; r < h; r++) {
    const row = r * w;
    for (let c = 0; c < ow; c++) {
      let mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
      for (let k = 0; k < WIN; k++) {
        const g = GAUSS[k];
        const a = xd[row + c + k];
        const b = yd[row + c + k];
        mx += g * a;
        my += g * b;
        xx += g * a * a;
        yy += g * b * b;
        xy += g * a * b;
      }
      const o = (r * ow + c) * 5;
      hx[o] = mx;
      hx[o + 1] = my;
      hx[o + 2] = xx;
      hx[o + 3] = yy;
      hx[o + 4] = xy;
    }
  }
  const c1 = K1 * K1;
  const c2 = K2 * K2;
  let ssimSum = 0;
  let csSum = 0;
  for (let r = 0; r < oh; r++) {
    for (let c = 0; c < ow; c++) {
      let mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
      for (let k = 0; k < WIN; k++) {
        const g = GAUSS[k];
        const o = ((r + k) * ow + c) * 5;
        mx += g * hx[o];
        my += g * hx[o + 1];
        xx += g * hx[o + 2];
        yy += g * hx[o + 3];
        xy += g * hx[o + 4];
      }
      const vx = xx - mx * mx;
      const vy = yy - my * my;
      const cov = xy - mx * my;
      const cs = (2 * cov + c2) / (vx + vy + c2);
      csSum += cs;
      ssimSum += ((2 * mx * my + c1) / (mx * mx + my * my + c1)) * cs;
    }
  }
  const n = ow * oh;
  return { ssim: ssimSum / n, cs: csSum / n };
}

/** 2x2 box average; an odd last row/column is paired with itself (see the header). */
function downsample(p: Plane): Plane {
  const { width: w, height: h, data } = p;
  const nw = Math.ceil(w / 2);
  const nh = Math.ceil(h / 2);
  const out = new Float64Array(nw * nh);
  for (let r = 0; r < nh; r++) {
    const r0 = 2 * r;
    const r1 = Math.min(r0 + 1, h - 1);
    for (let c = 0; c < nw; c++) {
      const c0 = 2 * c;
      const c1 = Math.min(c0 + 1, w - 1);
      out[r * nw + c] = 0.25 * (data[r0 * w + c0] + data[r0 * w + c1] + data[r1 * w + c0] + data[r1 * w + c1]);
    }
  }
  return { width: nw, height: nh, data: out };
}

/** Single-scale SSIM of two planes (Gaussian window, valid windows only). */
export function ssimPlanes(x: Plane, y: Plane): number {
  checkPlanes(x, y, WIN);
  return ssimAndCs(x, y).ssim;
}

function checkPlanes(x: Plane, y: Plane, minSide: number): void {
  if (x.width !== y.width || x.height !== y.height || x.data.length !== y.data.length || x.data.length !== x.width * x.height) {
    throw new SgaiError('INVALID_ARGUMENT', `cannot compare a ${x.width}x${x.height} plane with a ${y.width}x${y.height} one`);
  }
  if (Math.min(x.width, x.height) < minSide) {
    throw new SgaiError('INVALID_ARGUMENT', `MS-SSIM needs images of at least ${minSide} px on the short side; got ${x.width}x${x.height}`);
  }
}

/** MS-SSIM of two planes in [0,1]. */
export function msssimPlanes(x: Plane, y: Plane): number {
  checkPlanes(x, y, MSSSIM_MIN_SIDE);
  let value = 1;
  let a = x;
  let b = y;
  for (let s = 0; s < MSSSIM_WEIGHTS.length; s++) {
    const { ssim, cs } = ssimAndCs(a, b);
    const last = s === MSSSIM_WEIGHTS.length - 1;
    value *= Math.max(0, last ? ssim : cs) ** MSSSIM_WEIGHTS[s];
    if (!last) {
      a = downsample(a);
      b = downsample(b);
    }
  }
  return value;
}

/** MS-SSIM on RGB: per-channel MS-SSIM, averaged over the three channels. */
export function msssimRgb(a: RasterImage, b: RasterImage): number {
  sameSize(a, b);
  let sum = 0;
  for (const c of [0, 1, 2] as const) sum += msssimPlanes(channelPlane(a, c), channelPlane(b, c));
  return sum / 3;
}

/** MS-SSIM on BT.601 luma. */
export function msssimY(a: RasterImage, b: RasterImage): number {
  sameSize(a, b);
  return msssimPlanes(lumaPlane(a), lumaPlane(b));
}

/** MS-SSIM in dB, -10 log10(1 - v), the scale R-D plots use so high values stay readable. */
export function msssimDb(v: number): number {
  return v >= 1 ? Infinity : -10 * Math.log10(1 - v);
}
