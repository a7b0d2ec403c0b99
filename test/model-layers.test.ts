import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/backend';
import { hyperSynthesis } from '../src/core/model/hyper-synthesis';
import { applyLayer } from '../src/core/model/network';
import { convFromTorch, gdnFromTorch, upFromTorch } from '../src/core/model/weights';
import { mulberry32 } from './seeded-random';

const rng = (seed: number) => {
  const r = mulberry32(seed);
  return () => r() - 0.5;
};

/** Direct PyTorch ConvTranspose2d(k=5, s=2, p=2, op=1), float64: out[2i-2+k] += x[i]*w[k]. */
function transposedRef(x: Float64Array, h: number, w: number, cin: number, wt: Float32Array, b: Float32Array, cout: number) {
  const H = 2 * h;
  const W = 2 * w;
  const out = new Float64Array(H * W * cout);
  for (let p = 0; p < H * W; p++) for (let o = 0; o < cout; o++) out[p * cout + o] = b[o];
  for (let iy = 0; iy < h; iy++)
    for (let ix = 0; ix < w; ix++)
      for (let ky = 0; ky < 5; ky++)
        for (let kx = 0; kx < 5; kx++) {
          const oy = 2 * iy - 2 + ky;
          const ox = 2 * ix - 2 + kx;
          if (oy < 0 || oy >= H || ox < 0 || ox >= W) continue;
          for (let i = 0; i < cin; i++)
            for (let o = 0; o < cout; o++) out[(oy * W + ox) * cout + o] += x[(iy * w + ix) * cin + i] * wt[((i * cout + o) * 5 + ky) * 5 + kx];
        }
  return out;
}

describe('transposed convolution as phase convolution + depth-to-space', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  const [h, w, cin, cout] = [5, 7, 3, 4];
  const r = rng(7);
  const wt = Float32Array.from({ length: cin * cout * 25 }, r);
  const b = Float32Array.from({ length: cout }, r);
  const x = Float64Array.from({ length: h * w * cin }, r);
  const ref = transposedRef(x, h, w, cin, wt, b, cout);
  const up = upFromTorch(wt, b, cin, cout);

  it('tfjs (wasm) equals the direct transposed convolution', () => {
    const out = tf.tidy(() => applyLayer(tf.tensor4d(Float32Array.from(x), [1, h, w, cin]), up).dataSync());
    expect(out.length).toBe(ref.length);
    let max = 0;
    for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(out[i] - ref[i]));
    expect(max).toBeLessThan(1e-5);
  });

  it('tfjs equals tf.conv2dTranspose with PyTorch-equivalent cropping', () => {
    // conv2dTranspose with 'valid' gives (h-1)*2+5; PyTorch's padding 2 / output padding 1 crops 2 in front, 1 behind.
    const filt = new Float32Array(25 * cout * cin);
    for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) for (let ky = 0; ky < 5; ky++) for (let kx = 0; kx < 5; kx++)
      filt[((ky * 5 + kx) * cout + o) * cin + i] = wt[((i * cout + o) * 5 + ky) * 5 + kx];
    const got = tf.tidy(() => {
      const xt = tf.tensor4d(Float32Array.from(x), [1, h, w, cin]);
      const full = tf.conv2dTranspose(xt, tf.tensor4d(filt, [5, 5, cout, cin]), [1, 2 * h + 3, 2 * w + 3, cout], 2, 'valid');
      return tf.add(tf.slice(full, [0, 2, 2, 0], [1, 2 * h, 2 * w, cout]), tf.tensor1d(b)).dataSync();
    });
    let max = 0;
    for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(got[i] - ref[i]));
    expect(max).toBeLessThan(1e-5);
  });

  it('the float64 h_s path equals the direct transposed convolution', () => {
    const out = hyperSynthesis([up], x, h, w, cin);
    let max = 0;
    for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(out.data[i] - ref[i]));
    expect(max).toBeLessThan(1e-6); // weights are float32, arithmetic float64
  });
});

describe('convolution and GDN layouts follow PyTorch', () => {
  it('stride-2 5x5 conv with symmetric padding matches a direct computation', async () => {
    await initBackend('wasm');
    const [h, w, cin, cout] = [8, 6, 2, 3];
    const r = rng(3);
    const wt = Float32Array.from({ length: cout * cin * 25 }, r);
    const b = Float32Array.from({ length: cout }, r);
    const x = Float32Array.from({ length: h * w * cin }, r);
    const got = tf.tidy(() => applyLayer(tf.tensor4d(x, [1, h, w, cin]), convFromTorch(wt, b, cout, cin, 5, 2)).dataSync());
    const [H, W] = [h / 2, w / 2];
    for (let oy = 0; oy < H; oy++)
      for (let ox = 0; ox < W; ox++)
        for (let o = 0; o < cout; o++) {
          let acc = b[o];
          for (let ky = 0; ky < 5; ky++)
            for (let kx = 0; kx < 5; kx++) {
              const iy = 2 * oy - 2 + ky;
              const ix = 2 * ox - 2 + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              for (let i = 0; i < cin; i++) acc += x[(iy * w + ix) * cin + i] * wt[((o * cin + i) * 5 + ky) * 5 + kx];
            }
          expect(got[(oy * W + ox) * cout + o]).toBeCloseTo(acc, 5);
        }
  });

  it('GDN uses effective beta/gamma from the reparametrised values', async () => {
    await initBackend('wasm');
    const c = 2;
    const pedestal = 2 ** -36;
    const betaP = Float32Array.from([1.1, 0.0001]); // second is below its bound sqrt(1e-6 + pedestal)
    const gammaP = Float32Array.from([0.3, 0.2, 0.1, 0.4]); // [out i][in j]
    const layer = gdnFromTorch('gdn', betaP, gammaP, c);
    const x = Float32Array.from([0.5, -2]);
    const got = tf.tidy(() => applyLayer(tf.tensor4d(x, [1, 1, 1, c]), layer).dataSync());
    const beta = [1.1 ** 2 - pedestal, 1e-6 + pedestal - pedestal];
    const gamma = [[0.09, 0.04], [0.01, 0.16]].map((r) => r.map((v) => v - pedestal));
    for (let i = 0; i < c; i++) {
      const norm = beta[i] + gamma[i][0] * x[0] ** 2 + gamma[i][1] * x[1] ** 2;
      expect(got[i]).toBeCloseTo(x[i] / Math.sqrt(norm), 5);
    }
  });
});

describe('pinned float64 h_s', () => {
  it('a region with a 2-position halo is bit-identical to the same part of the whole map', async () => {
    const { loadModelFromPath } = await import('../src/core/model/registry');
    const { hyperSynthesisRegion } = await import('../src/core/model/hyper-synthesis');
    const { TEST_MODEL_PATH } = await import('./helpers');
    const w = loadModelFromPath(TEST_MODEL_PATH).weights;
    const [zh, zw] = [7, 9];
    const r = rng(11);
    const z = Float64Array.from({ length: zh * zw * w.N }, () => Math.round(r() * 6));
    const whole = hyperSynthesisRegion(w.hS, z, zh, zw, w.N, w.M, 0, 0, zh * 4, zw * 4);
    for (const [y0, x0, h, wd] of [[8, 12, 8, 16], [0, 0, 4, 4], [20, 28, 8, 8], [4, 0, 12, 36]]) {
      const part = hyperSynthesisRegion(w.hS, z, zh, zw, w.N, w.M, y0, x0, h, wd);
      for (let row = 0; row < h; row++)
        for (let col = 0; col < wd; col++)
          for (let c = 0; c < w.M; c++) {
            const a = ((y0 + row) * zw * 4 + x0 + col) * w.M + c;
            const b = (row * wd + col) * w.M + c;
            expect(part.means[b]).toBe(whole.means[a]);
            expect(part.scales[b]).toBe(whole.scales[a]);
          }
    }
  });
});
