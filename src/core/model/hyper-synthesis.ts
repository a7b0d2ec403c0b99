/**
 * h_s in float64: the one pinned, deterministic path from z^ to the means and scales of y. The
 * entropy decoder only works if it sees exactly the CDF indices the encoder used, so this path
 * must not depend on the tfjs backend (wasm SIMD, native, GPU and cpu all sum in different
 * orders). JS numbers and WebAssembly f64/f64x2 are IEEE-754 doubles with no fused multiply-add,
 * and every output element is summed in a fixed order (tap row, tap column, input channel), so
 * the result is bit-identical on every machine, in either implementation (conv64 here and the
 * SIMD kernel of conv64-wasm.ts, used where it applies), and identical whether computed for the
 * whole image or for a tile with enough halo. See docs/determinism.md.
 */
import { conv64Wasm } from './conv64-wasm';
import type { ConvWeights, Layer, UpWeights } from './weights';

export interface HyperOutput {
  /** HWC, M channels each, for the requested y region. */
  scales: Float64Array;
  means: Float64Array;
  height: number;
  width: number;
}

const f64Cache = new WeakMap<Layer, { filter: Float64Array; bias: Float64Array }>();
function f64Of(layer: ConvWeights | UpWeights) {
  let hit = f64Cache.get(layer);
  if (!hit) {
    hit = { filter: Float64Array.from(layer.filter), bias: Float64Array.from(layer.bias) };
    f64Cache.set(layer, hit);
  }
  return hit;
}

/**
 * Stride-1 "same" convolution with zero padding; filter [k][k][cin][cout]. Input channels are
 * taken four at a time (one load/store of the accumulator per four multiply-adds: 2.4x faster in
 * V8). The order of every sum is still fixed - bias, then taps in row-major order, then input
 * channels in groups of four - and taps outside the input are skipped the same way whatever
 * crop is being computed, so results are bit-identical across machines, tiles and bands.
 */
export function conv64(x: Float64Array, h: number, w: number, cin: number, cout: number, k: number, filter: Float64Array, bias: Float64Array): Float64Array {
  const pad = k >> 1;
  const out = new Float64Array(h * w * cout);
  const acc = new Float64Array(cout);
  const cin4 = cin & ~3;
  for (let oy = 0; oy < h; oy++) {
    for (let ox = 0; ox < w; ox++) {
      acc.set(bias);
      for (let ky = 0; ky < k; ky++) {
        const iy = oy + ky - pad;
        if (iy < 0 || iy >= h) continue;
        for (let kx = 0; kx < k; kx++) {
          const ix = ox + kx - pad;
          if (ix < 0 || ix >= w) continue;
          const xi = (iy * w + ix) * cin;
          const wk = (ky * k + kx) * cin;
          let ci = 0;
          for (; ci < cin4; ci += 4) {
            const v0 = x[xi + ci];
            const v1 = x[xi + ci + 1];
            const v2 = x[xi + ci + 2];
            const v3 = x[xi + ci + 3];
            const w0 = (wk + ci) * cout;
            const w1 = w0 + cout;
            const w2 = w1 + cout;
            const w3 = w2 + cout;
            for (let c = 0; c < cout; c++) acc[c] += v0 * filter[w0 + c] + v1 * filter[w1 + c] + v2 * filter[w2 + c] + v3 * filter[w3 + c];
          }
          for (; ci < cin; ci++) {
            const v = x[xi + ci];
            const wb = (wk + ci) * cout;
            for (let c = 0; c < cout; c++) acc[c] += v * filter[wb + c];
          }
        }
      }
      out.set(acc, (oy * w + ox) * cout);
    }
  }
  return out;
}

export type HyperKernel = 'wasm' | 'js';
let kernelChoice: HyperKernel = 'wasm';
/** Which implementation h_s uses (same bits either way): benchmarks time the JS one as the baseline, tests compare them. */
export function setHyperKernel(k: HyperKernel): void {
  kernelChoice = k;
}

/** The WebAssembly kernel (same bits, several times faster) where it applies, else conv64. */
function conv64Fastest(x: Float64Array, h: number, w: number, cin: number, cout: number, k: number, filter: Float64Array, bias: Float64Array): Float64Array {
  return (kernelChoice === 'wasm' ? conv64Wasm(x, h, w, cin, cout, k, filter, bias) : null) ?? conv64(x, h, w, cin, cout, k, filter, bias);
}

function depthToSpace64(x: Float64Array, h: number, w: number, c: number): Float64Array {
  const out = new Float64Array(h * w * 4 * c);
  const W2 = 2 * w;
  for (let y = 0; y < h; y++)
    for (let xx = 0; xx < w; xx++)
      for (let p = 0; p < 4; p++) {
        const src = (y * w + xx) * 4 * c + p * c;
        const dst = ((2 * y + (p >> 1)) * W2 + 2 * xx + (p & 1)) * c;
        for (let ch = 0; ch < c; ch++) out[dst + ch] = x[src + ch];
      }
  return out;
}

function leaky64(x: Float64Array): void {
  for (let i = 0; i < x.length; i++) if (x[i] < 0) x[i] *= 0.01;
}

/** Run h_s on a z map (HWC, float64). Returns the raw 2M-channel output at 4x resolution. */
export function hyperSynthesis(layers: Layer[], z: Float64Array, h: number, w: number, n: number): { data: Float64Array; height: number; width: number; channels: number } {
  let x = z;
  let [hh, ww, cc] = [h, w, n];
  for (const layer of layers) {
    if (layer.kind === 'leaky') {
      leaky64(x);
    } else if (layer.kind === 'conv') {
      const { filter, bias } = f64Of(layer);
      x = conv64Fastest(x, hh, ww, cc, layer.cout, layer.k, filter, bias);
      cc = layer.cout;
    } else if (layer.kind === 'up') {
      const { filter, bias } = f64Of(layer);
      const phases = conv64Fastest(x, hh, ww, cc, 4 * layer.cout, 3, filter, bias);
      x = depthToSpace64(phases, hh, ww, layer.cout);
      hh *= 2;
      ww *= 2;
      cc = layer.cout;
    } else {
      throw new Error(`h_s has no ${layer.kind} layer`);
    }
  }
  return { data: x, height: hh, width: ww, channels: cc };
}

/**
 * z positions of context on each side of a region. Exactly enough: output row 4a (the first y
 * row of z row a) depends on z rows down to a - 2, and output row 4b - 1 on z rows up to b + 1
 * (conv 3x3 at 4x, then two phase convolutions with one-tap reach).
 */
export const HYPER_HALO = 2;

/**
 * Means and scales of y for the y-region [y0, y0+rh) x [x0, x0+rw) (y0, x0 multiples of 4),
 * computed from a crop of z^ with a halo, so a tile can be decoded without the whole image.
 */
export function hyperSynthesisRegion(
  layers: Layer[], zHat: Float64Array, zh: number, zw: number, n: number, m: number,
  y0: number, x0: number, rh: number, rw: number,
): HyperOutput {
  const zy0 = Math.max(0, y0 / 4 - HYPER_HALO);
  const zx0 = Math.max(0, x0 / 4 - HYPER_HALO);
  const zy1 = Math.min(zh, Math.ceil((y0 + rh) / 4) + HYPER_HALO);
  const zx1 = Math.min(zw, Math.ceil((x0 + rw) / 4) + HYPER_HALO);
  const ch = zy1 - zy0;
  const cw = zx1 - zx0;
  const crop = new Float64Array(ch * cw * n);
  for (let y = 0; y < ch; y++) crop.set(zHat.subarray(((zy0 + y) * zw + zx0) * n, ((zy0 + y) * zw + zx1) * n), y * cw * n);
  const full = hyperSynthesis(layers, crop, ch, cw, n);
  const scales = new Float64Array(rh * rw * m);
  const means = new Float64Array(rh * rw * m);
  const oy = y0 - zy0 * 4;
  const ox = x0 - zx0 * 4;
  for (let y = 0; y < rh; y++)
    for (let x = 0; x < rw; x++) {
      const src = ((oy + y) * full.width + ox + x) * 2 * m;
      const dst = (y * rw + x) * m;
      for (let c = 0; c < m; c++) {
        scales[dst + c] = full.data[src + c];
        means[dst + c] = full.data[src + m + c];
      }
    }
  return { scales, means, height: rh, width: rw };
}
