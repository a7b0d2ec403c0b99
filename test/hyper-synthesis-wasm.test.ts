/**
 * The WebAssembly h_s kernel must give exactly the bits of the JS conv64 (the format's pinned
 * path: a single differing bit can change a CDF index and break decoding of files written by
 * another version or machine). Random shapes cover the kernel's interior blocks, border pixels,
 * tiny maps and uneven sizes; the shipped default model covers real weights and real z^ from a
 * photo encoded with real sharp decoding. test/ort-codec.test.ts adds whole files: encodes now
 * give the SHA-256 recorded with the JS-only h_s.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyse, hyperAnalyse, latentGrid, readImage, resolveModel } from '../src/core';
import { floatToRaster, rasterToFloatRegion } from '../src/core/image/raster';
import { conv64Wasm, conv64WasmAvailable, tapMasks } from '../src/core/model/conv64-wasm';
import { conv64, hyperSynthesis, setHyperKernel } from '../src/core/model/hyper-synthesis';
import { decodeZHat, encodeLatents } from '../src/core/pipeline/latent-coding';
import { buildConv64Module, GENERATED } from '../scripts/build-wasm';
import { readFileSync } from 'node:fs';
import { ROOT } from './helpers';

/** Deterministic values in [-0.5, 0.5) with a few exact zeros and negatives of every size. */
function values(n: number, seed: number): Float64Array {
  const a = new Float64Array(n);
  let v = seed >>> 0;
  for (let i = 0; i < n; i++) {
    v = (Math.imul(v, 1664525) + 1013904223) >>> 0;
    a[i] = i % 97 === 0 ? 0 : (v / 2 ** 32 - 0.5) * (i % 3 === 0 ? 1e-3 : 7);
  }
  return a;
}

function sameBits(a: Float64Array, b: Float64Array): number {
  expect(b.length).toBe(a.length);
  const x = new BigUint64Array(a.buffer, a.byteOffset, a.length);
  const y = new BigUint64Array(b.buffer, b.byteOffset, b.length);
  let differ = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) differ++;
  return differ;
}

describe('the WebAssembly h_s kernel', () => {
  it('is built from its generator (the committed module is not stale)', async () => {
    expect(readFileSync(GENERATED, 'utf8')).toBe(await buildConv64Module());
  });

  it('loads in this Node (WebAssembly SIMD present)', () => {
    expect(conv64WasmAvailable()).toBe(true);
  });

  const shapes: [h: number, w: number, cin: number, cout: number, k: number][] = [
    [1, 1, 4, 4, 3], [1, 7, 8, 4, 3], [2, 3, 4, 8, 3], [5, 4, 4, 4, 3], [9, 13, 12, 20, 3],
    [6, 11, 64, 384, 3], [12, 9, 96, 576, 3], [10, 17, 144, 192, 3], [7, 7, 8, 12, 5], [4, 6, 16, 8, 1],
  ];
  for (const [h, w, cin, cout, k] of shapes) {
    it(`${h}x${w}, ${cin} -> ${cout} channels, ${k}x${k}: bit-identical to conv64`, () => {
      const x = values(h * w * cin, h * 7 + w);
      const f = values(k * k * cin * cout, cin + cout);
      const b = values(cout, 3);
      const fast = conv64Wasm(x, h, w, cin, cout, k, f, b);
      expect(fast).not.toBeNull();
      expect(sameBits(conv64(x, h, w, cin, cout, k, f, b), fast!)).toBe(0);
    });
  }

  // Transposed convolutions run as phase convolutions whose filters are zero at some taps for
  // whole channel blocks: the kernel skips those taps and must still give conv64's bits.
  const phased: [h: number, w: number, cin: number, cout: number, k: number][] = [[6, 11, 64, 384, 3], [9, 13, 12, 20, 3], [7, 9, 8, 12, 5]];
  for (const [h, w, cin, cout, k] of phased) {
    it(`${h}x${w}, ${cin} -> ${cout}, ${k}x${k} with taps zero per channel block: skipped, bit-identical to conv64`, () => {
      const x = values(h * w * cin, h + w);
      const f = values(k * k * cin * cout, cin * 3 + cout);
      // Block cb (4 channels) has no weight at taps t where (t + cb) % 3 == 0; one block none at all.
      for (let t = 0; t < k * k; t++)
        for (let ci = 0; ci < cin; ci++)
          for (let c = 0; c < cout; c++) if ((t + (c >> 2)) % 3 === 0 || c >> 2 === 1) f[(t * cin + ci) * cout + c] = 0;
      const b = values(cout, 5);
      const masks = tapMasks(f, k, cin, cout);
      expect(masks[0]).not.toBe((1 << (k * k)) - 1); // taps really are skipped
      expect(masks[1]).toBe(0);
      const fast = conv64Wasm(x, h, w, cin, cout, k, f, b);
      expect(fast).not.toBeNull();
      expect(sameBits(conv64(x, h, w, cin, cout, k, f, b), fast!)).toBe(0);
    });
  }

  it('declines shapes it does not take, so the JS path runs', () => {
    const x = values(3 * 3 * 6, 1);
    expect(conv64Wasm(x, 3, 3, 6, 4, 3, values(9 * 6 * 4, 2), values(4, 3))).toBeNull(); // cin % 4
    expect(conv64Wasm(values(36, 1), 3, 3, 4, 6, 3, values(9 * 4 * 6, 2), values(6, 3))).toBeNull(); // cout % 4
    expect(conv64Wasm(values(4 * 49 * 4, 1).subarray(0, 4), 1, 1, 4, 4, 7, values(49 * 4 * 4, 2), values(4, 3))).toBeNull(); // 7x7: more taps than mask bits
  });

  it('the default model on a real photo: whole h_s output bit-identical to the JS path', async () => {
    const model = resolveModel({});
    const w = model.weights;
    const { image } = await readImage(join(ROOT, 'resources', 'sample', 'mike-castro-demaria-94BUerwdFP8-unsplash.jpg'));
    const crop = floatToRaster(rasterToFloatRegion(image, 0, 0, 256, 192), 256, 192, 8);
    const g = latentGrid(256, 192, 4096);
    const y = await analyse(w, crop, g);
    const z = hyperAnalyse(w, y, g);
    const zHat = decodeZHat(w, encodeLatents(w, y, z, g).zStream, g);
    setHyperKernel('js');
    let js: ReturnType<typeof hyperSynthesis>;
    try {
      js = hyperSynthesis(w.hS, zHat, g.zh, g.zw, w.N);
    } finally {
      setHyperKernel('wasm');
    }
    const fast = hyperSynthesis(w.hS, zHat, g.zh, g.zw, w.N);
    expect(fast.height).toBe(js.height);
    expect(sameBits(js.data, fast.data)).toBe(0);
    // not a degenerate comparison: real means and scales spread over a range
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of js.data) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    expect(hi - lo).toBeGreaterThan(1);
  });
});
