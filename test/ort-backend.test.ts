/**
 * The ONNX Runtime backend computes the same transforms as tfjs-wasm: graphs are built at load
 * time from the shipped .safetensors (real trained weights, GDN/IGDN with the same resolved
 * parameters), and g_a, h_a and g_s agree with the wasm reference to float rounding on real
 * photos, whole and through the tiled pipeline. Also: the protobuf writer, both forms of the
 * transposed convolution, and backend selection.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { activeTransformEngine, BACKEND_REQUESTS, currentBackend, describeBackend, initBackend } from '../src/core/backend';
import { SgaiError } from '../src/core/errors';
import { rasterToFloatRegion } from '../src/core/image/raster';
import { latentGrid } from '../src/core/latent-grid';
import { runLayers } from '../src/core/model/network';
import { resolveModel } from '../src/core/codec';
import { upFromTorch, type Layer } from '../src/core/model/weights';
import { layersModel, transposedKernel } from '../src/core/ort/graphs';
import { Message } from '../src/core/ort/protobuf';
import { loadOrt, runLayersOrt, setOrtUpForm } from '../src/core/ort/runtime';
import { analyse, hyperAnalyseOn, synthesise } from '../src/core/pipeline/transforms';
import { maxAbs, maxAbsDiff, photo } from './ort-helpers';

describe('ONNX model writer', () => {
  it('encodes varints, floats and nested messages as protobuf does', () => {
    // Known encodings: field 1 varint 150 = 08 96 01; field 2 string "ab" = 12 02 61 62.
    expect([...new Message().int(1, 150).finish()]).toEqual([0x08, 0x96, 0x01]);
    expect([...new Message().string(2, 'ab').finish()]).toEqual([0x12, 0x02, 0x61, 0x62]);
    expect([...new Message().float(2, 1).finish()]).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f]);
    expect([...new Message().message(3, new Message().int(1, 1)).finish()]).toEqual([0x1a, 0x02, 0x08, 0x01]);
    expect([...new Message().int(1, 2 ** 35).finish()]).toEqual([0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
    expect(() => new Message().int(1, -1)).toThrow(RangeError);
  });

  it('rebuilds the torch ConvTranspose kernel from the phase filter, and both graph forms agree', async () => {
    const [cin, cout] = [3, 2];
    const wt = Float32Array.from({ length: cin * cout * 25 }, (_, i) => Math.sin(i * 0.7));
    const b = Float32Array.from({ length: cout }, (_, i) => 0.1 * (i + 1));
    const up = upFromTorch(wt, b, cin, cout);
    expect(transposedKernel(up)).toEqual(wt);
    const layers: Layer[] = [up];
    const x = { data: Float32Array.from({ length: 5 * 7 * cin }, (_, i) => Math.cos(i * 0.3)), height: 5, width: 7, channels: cin };
    const ref = runLayers(x, layers);
    for (const form of ['phase', 'transpose'] as const) {
      const ort = await loadOrt();
      const s = await ort.InferenceSession.create(layersModel('t', layers, cin, form));
      const out = (await s.run({ x: new ort.Tensor('float32', x.data, [1, 5, 7, cin]) })).y;
      expect(out.dims).toEqual([1, 10, 14, cout]);
      expect(maxAbsDiff(out.data as Float32Array, ref.data)).toBeLessThan(1e-5);
    }
  });
});

describe('ort transforms vs tfjs-wasm, default model, real weights', () => {
  const model = resolveModel({});
  const w = model.weights;
  beforeAll(async () => {
    await initBackend('wasm');
  });

  for (const i of [1, 4]) {
    it(`image ${i}: g_a, h_a and g_s whole-image outputs within float rounding`, async () => {
      const { image, name } = await photo(i);
      const x = { data: rasterToFloatRegion(image, 0, 0, image.width, image.height), height: image.height, width: image.width, channels: 3 };
      const yRef = runLayers(x, w.gA);
      const yOrt = await runLayersOrt(x, w.gA);
      expect([yOrt.height, yOrt.width, yOrt.channels]).toEqual([yRef.height, yRef.width, yRef.channels]);
      // Relative to the latents' range (about ±20): float32 sums in another order, no more.
      const dy = maxAbsDiff(yOrt.data, yRef.data) / Math.max(1, maxAbs(yRef.data));
      expect(dy).toBeLessThan(5e-6);

      const zRef = runLayers(yRef, w.hA);
      const zOrt = await runLayersOrt(yRef, w.hA);
      const dz = maxAbsDiff(zOrt.data, zRef.data) / Math.max(1, maxAbs(zRef.data));
      expect(dz).toBeLessThan(5e-6);

      const yHat = { ...yRef, data: yRef.data.map(Math.round) };
      const sRef = runLayers(yHat, w.gS);
      const sOrt = await runLayersOrt(yHat, w.gS);
      const ds = maxAbsDiff(sOrt.data, sRef.data);
      expect(ds).toBeLessThan(1e-5); // pixels in [0, 1]: far below one 8-bit level (0.0039)
      console.log(`${name}: ort vs wasm max |diff| g_a ${dy.toExponential(1)} (relative), h_a ${dz.toExponential(1)} (relative), g_s ${ds.toExponential(1)}`);
    });
  }

  it('the tiled pipeline gives the same latents and pixels on either engine (to float rounding)', async () => {
    const { image } = await photo(1);
    const g = latentGrid(image.width, image.height, 256); // several tiles with halos
    const yT = await analyse(w, image, g, undefined, undefined, 'tfjs');
    const yO = await analyse(w, image, g, undefined, undefined, 'ort');
    expect(maxAbsDiff(yO, yT) / maxAbs(yT)).toBeLessThan(5e-6);
    const zT = await hyperAnalyseOn(w, yT, g, 'tfjs');
    const zO = await hyperAnalyseOn(w, yT, g, 'ort');
    expect(maxAbsDiff(zO, zT) / maxAbs(zT)).toBeLessThan(5e-6);
    const yHat = yT.map(Math.round);
    const all = Array.from({ length: g.tilesX * g.tilesY }, (_, t) => t);
    const region = { x: 0, y: 0, width: image.width, height: image.height };
    const outs = [];
    for (const engine of ['tfjs', 'ort'] as const) {
      const out = { width: image.width, height: image.height, bitDepth: 8 as const, data: new Uint8Array(image.width * image.height * 3) };
      await synthesise(w, yHat, g, all, region, out, undefined, undefined, engine);
      outs.push(out.data);
    }
    let max = 0;
    for (let k = 0; k < outs[0].length; k++) max = Math.max(max, Math.abs(outs[0][k] - outs[1][k]));
    expect(max).toBeLessThanOrEqual(1);
  });

  it('ConvTranspose and phase forms of g_s agree on real weights', async () => {
    const { image } = await photo(4);
    const x = { data: rasterToFloatRegion(image, 0, 0, 256, 256), height: 256, width: 256, channels: 3 };
    const yHat = runLayers(x, w.gA);
    yHat.data = yHat.data.map(Math.round);
    try {
      setOrtUpForm('transpose');
      const a = await runLayersOrt(yHat, w.gS);
      setOrtUpForm('phase');
      const b = await runLayersOrt(yHat, w.gS);
      expect(maxAbsDiff(a.data, b.data)).toBeLessThan(1e-5);
    } finally {
      setOrtUpForm('phase');
    }
  });
});

describe('backend selection', () => {
  it('ort runs the transforms with tfjs wasm beside it; explicit choices switch engines', async () => {
    expect(BACKEND_REQUESTS).toContain('ort');
    const r = await initBackend('ort');
    expect(r).toMatchObject({ name: 'ort', transforms: 'ort', tfjs: 'wasm', ortThreads: 1 });
    expect(activeTransformEngine()).toBe('ort');
    expect(describeBackend(r)).toMatch(/^ort \[1 thread; tfjs wasm/);
    await initBackend('wasm');
    expect(activeTransformEngine()).toBe('tfjs');
    expect(currentBackend()?.transforms).toBe('tfjs');
    const auto = await initBackend('ort', { ortThreads: 2 });
    expect(auto.ortThreads).toBe(2);
    await initBackend('ort', { ortThreads: 1 });
  });

  it('refuses a bad thread count with an actionable message', async () => {
    await expect(initBackend('ort', { ortThreads: 0 })).rejects.toThrow(SgaiError);
    await expect(initBackend('ort', { ortThreads: 1.5 })).rejects.toThrow(/whole number of threads from 1 to 256/);
  });
});
