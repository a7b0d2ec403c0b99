/**
 * SGA+ on ONNX Runtime: the loss graph's gradients (src/core/ort/refine-graphs.ts) and the
 * composed dL/dy, dL/dz through the relaxation (refine/ort-gradients.ts) against PyTorch autograd
 * (training/sgai_train/make_grad_fixtures.py) on random latents (tiny test model, committed
 * fixture) and on real ones (default model, a Kodak crop encoded by g_a/h_a, generated here when
 * python3 with torch and the Kodak set are present); the tfjs autograd path alongside. Then a
 * 50-iteration SSL refinement of a Kodak crop on ORT against the tfjs path.
 *
 * Relative error = ||a - b|| / ||b|| over the whole tensor (elementwise ratios are meaningless for
 * gradients that are zero where a floor clamps).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/backend';
import { analyse, hyperAnalyse } from '../src/core/pipeline/transforms';
import { latentGrid } from '../src/core/latent-grid';
import { rasterToFloatRegion } from '../src/core/image/raster';
import { readImage } from '../src/core/image/read';
import { loadModelFromPath } from '../src/core/model/registry';
import { parseSafeTensors, type SafeTensorsFile } from '../src/core/model/safetensors';
import type { HyperpriorWeights } from '../src/core/model/weights';
import { REFINE_IN, REFINE_OUT, refineLossModel } from '../src/core/ort/refine-graphs';
import type { RefineShape } from '../src/core/refine/gradient-source';
import { gumbelNoise, NOISE_STREAM_Y, NOISE_STREAM_Z } from '../src/core/refine/noise';
import { ortGradientSource } from '../src/core/refine/ort-gradients';
import { defaultParams, METHODS, type RefineMethod } from '../src/core/refine/probabilities';
import { refineLatents } from '../src/core/refine/refine';
import { classCount, relax } from '../src/core/refine/relax';
import { relaxWithSlope } from '../src/core/refine/relax-arrays';
import { tfjsGradientSource } from '../src/core/refine/tfjs-gradients';
import { kodim, ROOT, tempDir, TEST_MODEL_PATH } from './helpers';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'refine-ort', 'grad-random.safetensors');
const DEFAULT_MODEL = join(ROOT, 'resources', 'models', 'sgai-msh-c64-l0067.safetensors');
const TOLERANCE = 1e-4;

function relErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  expect(den).toBeGreaterThan(0);
  return Math.sqrt(num / den);
}

/** The image make_grad_fixtures.test_image hashes from the HWC index (float32 in [0, 1)). */
function testImage(h: number, w: number): Float32Array {
  const x = new Float32Array(h * w * 3);
  for (let i = 0; i < x.length; i++) {
    let v = Math.imul(i, 2654435761) >>> 0;
    v = (v ^ (v >>> 15)) >>> 0;
    v = Math.imul(v, 2246822519) >>> 0;
    v = (v ^ (v >>> 13)) >>> 0;
    x[i] = v / 4294967296;
  }
  return x;
}

function splitClasses(noise: Float32Array, K: number): Float32Array[] {
  const n = noise.length / K;
  return Array.from({ length: K }, (_, k) => Float32Array.from({ length: n }, (_, e) => noise[e * K + k]));
}

interface Case {
  file: SafeTensorsFile;
  meta: { lambda: number; crop: [number, number]; seed: number; t: number; tau: number; methods: RefineMethod[]; size: [number, number]; floored: Record<string, number> };
  x: Float32Array;
  w: HyperpriorWeights;
}

const get = (c: Case, name: string) => {
  const t = c.file.tensors.get(name);
  if (!t) throw new Error(`fixture lacks ${name}`);
  return t.data as Float32Array;
};

function shapeOf(c: Case): RefineShape {
  const [H, W] = c.meta.size;
  return { height: H, width: W, cropHeight: c.meta.crop[0], cropWidth: c.meta.crop[1], yh: H / 16, yw: W / 16, zh: H / 64, zw: W / 64, M: c.w.M, N: c.w.N };
}

/** Loss graph on the fixture's z^, y^, dMeans: every output against autograd's. */
async function checkGraph(c: Case, label: string): Promise<void> {
  const s = shapeOf(c);
  const session = await ort.InferenceSession.create(refineLossModel(c.w, true), { intraOpNumThreads: 1, logSeverityLevel: 3 });
  const t = (d: Float32Array, dims: number[]) => new ort.Tensor('float32', d, dims);
  const out = await session.run({
    [REFINE_IN.z]: t(get(c, 'z_hat'), [1, s.zh, s.zw, s.N]), [REFINE_IN.y]: t(get(c, 'y_hat'), [1, s.yh, s.yw, s.M]),
    [REFINE_IN.dMeans]: t(get(c, 'd_means'), [1, s.yh, s.yw, s.M]), [REFINE_IN.x]: t(c.x, [1, s.height, s.width, 3]),
    [REFINE_IN.lambda]: t(Float32Array.of(c.meta.lambda), [1]),
    [REFINE_IN.cropHeight]: t(Float32Array.of(s.cropHeight), [1]), [REFINE_IN.cropWidth]: t(Float32Array.of(s.cropWidth), [1]),
  });
  await session.release();
  const rows: string[] = [];
  for (const k of ['loss', 'bpp', 'mse', 'bits_y', 'bits_z']) {
    const a = (out[k].data as Float32Array)[0];
    const b = get(c, `graph.${k}`)[0];
    rows.push(`${k} ${a.toPrecision(8)} vs ${b.toPrecision(8)}`);
    expect(Math.abs(a - b) / Math.abs(b)).toBeLessThan(1e-5);
  }
  const ey = relErr(out[REFINE_OUT.dy].data as Float32Array, get(c, 'graph.grad_y_hat'));
  const ez = relErr(out[REFINE_OUT.dz].data as Float32Array, get(c, 'graph.grad_z_hat'));
  console.log(`${label} loss graph vs autograd: ${rows.join(', ')}; dL/dy^ rel err ${ey.toExponential(2)}, dL/dz^ ${ez.toExponential(2)} (floors clamp ${JSON.stringify(c.meta.floored)})`);
  expect(ey).toBeLessThan(TOLERANCE);
  expect(ez).toBeLessThan(TOLERANCE);
}

/** dL/dy, dL/dz through the relaxation on both engines against autograd's. */
async function checkComposed(c: Case, label: string): Promise<void> {
  const s = shapeOf(c);
  const y = get(c, 'y');
  const z = get(c, 'z');
  const sources = { ort: await ortGradientSource(c.w, c.x, s, c.meta.lambda), tfjs: tfjsGradientSource(c.w, c.x, s, c.meta.lambda) };
  for (const method of c.meta.methods) {
    const K = classCount(method);
    const r = {
      tau: c.meta.tau, method, params: defaultParams(method),
      yNoise: splitClasses(gumbelNoise(c.meta.seed, NOISE_STREAM_Y, c.meta.t, y.length * K), K),
      zNoise: splitClasses(gumbelNoise(c.meta.seed, NOISE_STREAM_Z, c.meta.t, z.length * K), K),
    };
    const refLoss = get(c, `${method}.loss`)[0];
    const errs: Record<string, number> = {};
    for (const [name, src] of Object.entries(sources)) {
      const g = await src.relaxed(y, z, r);
      errs[`${name} loss`] = Math.abs(g.loss - refLoss) / refLoss;
      errs[`${name} dy`] = relErr(g.dy, get(c, `${method}.grad_y`));
      errs[`${name} dz`] = relErr(g.dz, get(c, `${method}.grad_z`));
    }
    console.log(`${label} ${method} composed gradients vs autograd: ${Object.entries(errs).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
    // The relaxation runs in float32 on both sides; the loss agrees to float32 sum precision.
    expect(errs['ort loss']).toBeLessThan(1e-4);
    expect(errs['tfjs loss']).toBeLessThan(1e-4);
    expect(errs['ort dy']).toBeLessThan(TOLERANCE);
    expect(errs['ort dz']).toBeLessThan(TOLERANCE);
    // tfjs differentiates the erfc fit rather than the Gaussian density; it stays close, not exact.
    expect(errs['tfjs dy']).toBeLessThan(1e-3);
    expect(errs['tfjs dz']).toBeLessThan(1e-3);
  }
  sources.tfjs.dispose();
}

function pythonReason(python: string): string | null {
  const r = spawnSync(python, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  if (r.error) return `${python} not runnable (${r.error.message})`;
  if (r.status !== 0) return `${python} lacks torch (${(r.stderr.trim().split('\n').pop() ?? '').slice(0, 200)})`;
  return null;
}

describe('the relaxation on arrays (ORT path) against tfjs relax and its autograd', () => {
  it('value and slope for every method, at integers, half-integers, clip edges and random points', async () => {
    await initBackend('wasm');
    const special = [0, 1e-6, 5e-6, 1e-5, 0.3, 0.5, 0.7, 0.99999, 0.999995, 1, 1.49, 1.5, 1.51, 2.5, -0.5, -1.5, -0.2, -1, -2.7, 3.25];
    const C = 4;
    const n = 4000;
    let seed = 9;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const offset = Float32Array.from({ length: C }, () => (rnd() - 0.5) * 3);
    // v = offset + u: u from the special list where the float32 round trip keeps it, else random.
    const v = Float32Array.from({ length: n }, (_, i) => offset[i % C] + (i < special.length * C ? special[Math.floor(i / C)] : (rnd() - 0.5) * 8));
    const rows: string[] = [];
    const worst = { value: 0, slope: 0 };
    for (const method of METHODS) {
      const K = classCount(method);
      const noise = splitClasses(gumbelNoise(2, 0, 7, n * K), K);
      const params = defaultParams(method);
      for (const tau of [1, 0.4, 0.1]) {
        const mine = relaxWithSlope(v, offset, tau, method, params, noise);
        const [value, slope] = tf.tidy(() => {
          const off = tf.tensor2d(offset, [1, C]);
          const g = noise.map((a) => tf.tensor2d(a, [n / C, C]));
          const f = (u: tf.Tensor) => tf.add(relax(tf.sub(u, off), tau, method, params, g), off);
          const base = tf.tensor2d(v, [n / C, C]);
          return [f(base).dataSync() as Float32Array, tf.grad(f)(base).dataSync() as Float32Array];
        });
        let worstValue = 0;
        for (let i = 0; i < n; i++) {
          worstValue = Math.max(worstValue, Math.abs(mine.value[i] - value[i]) / (1 + Math.abs(value[i])));
          // At an integer, |v - r|'s derivative is a choice: tfjs takes -1, PyTorch (and relaxWithSlope) 0.
          if (K === 3 && Number.isInteger(Math.fround(v[i] - offset[i % C]))) mine.slope[i] = slope[i] = 0;
        }
        const e = relErr(mine.slope, slope);
        rows.push(`${method} tau ${tau}: value ${worstValue.toExponential(1)}, slope ${e.toExponential(1)}`);
        worst.value = Math.max(worst.value, worstValue);
        worst.slope = Math.max(worst.slope, e);
      }
    }
    console.log(rows.join('\n'));
    // float32 tfjs scales the logits by 1/tau^2 before its softmax: values agree to ~1e-6 relative.
    expect(worst.value).toBeLessThan(1e-5);
    expect(worst.slope).toBeLessThan(1e-4);
  });
});

describe('SGA+ gradients on ONNX Runtime against PyTorch autograd', () => {
  beforeAll(async () => {
    await initBackend('ort');
  });

  describe('random latents, test model (committed fixture)', () => {
    let c: Case;
    beforeAll(() => {
      const file = parseSafeTensors(readFileSync(FIXTURE), FIXTURE);
      const meta = JSON.parse(file.metadata.meta);
      c = { file, meta, x: testImage(meta.size[0], meta.size[1]), w: loadModelFromPath(TEST_MODEL_PATH).weights };
    });
    it('loss graph: loss terms and dL/dy^, dL/dz^', async () => {
      await checkGraph(c, 'random');
    });
    it('composed dL/dy, dL/dz through the relaxation (ssl, linear3), ort and tfjs', async () => {
      await checkComposed(c, 'random');
    });
  });

  const python = process.env.SGAI_PYTHON_TEST ?? '/usr/bin/python3';
  const skip = !existsSync(kodim(23)) ? `no Kodak set at ${kodim(23)}` : pythonReason(python);
  describe('real latents: default model, Kodak kodim23 centre 256x256 (generated by python3)', () => {
    let c: Case;
    beforeAll(() => {
      if (skip) return;
      const dir = tempDir('sgai-grad-');
      const out = join(dir, 'real.safetensors');
      const r = spawnSync(python, ['-m', 'sgai_train.make_grad_fixtures', '--real', out, '--weights', DEFAULT_MODEL, '--image', kodim(23), '--size', '256'], {
        cwd: join(ROOT, 'training'), encoding: 'utf8',
        env: { ...process.env, PYTHONPATH: join(ROOT, 'training'), OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
      });
      if (r.status !== 0) throw new Error(`make_grad_fixtures --real failed: ${r.stderr}`);
      const file = parseSafeTensors(readFileSync(out), out);
      rmSync(dir, { recursive: true, force: true });
      c = { file, meta: JSON.parse(file.metadata.meta), x: file.tensors.get('x')!.data as Float32Array, w: loadModelFromPath(DEFAULT_MODEL).weights };
    }, 300_000);
    it('loss graph and composed gradients', async (ctx) => {
      if (skip) {
        console.log(`skipped: ${skip}`);
        ctx.skip();
      }
      await checkGraph(c, 'real');
      await checkComposed(c, 'real');
    }, 300_000);
  });
});

describe.skipIf(!existsSync(kodim(23)))('50-iteration SSL refinement of a Kodak crop: ort against tfjs', () => {
  it('reaches a true loss within 1 % of the tfjs path (same seed, same noise)', async () => {
    await initBackend('ort');
    const model = loadModelFromPath(DEFAULT_MODEL);
    const { image } = await readImage(kodim(23));
    const side = 256;
    const x0 = (image.width - side) >> 1;
    const y0 = (image.height - side) >> 1;
    const x = rasterToFloatRegion(image, x0, y0, side, side);
    const crop = { width: side, height: side, bitDepth: 8 as const, data: Uint8Array.from(x, (v) => Math.round(v * 255)) };
    const g = latentGrid(side, side, 4096);
    const y = await analyse(model.weights, crop, g);
    const z = hyperAnalyse(model.weights, y, g);
    const opts = { method: 'ssl' as const, iterations: 50, seed: 3, evalEvery: 10 };
    const target = { x, height: side, width: side };
    const a = await refineLatents(model.weights, target, y, z, model.card.lambda, { ...opts, engine: 'ort' });
    const b = await refineLatents(model.weights, target, y, z, model.card.lambda, { ...opts, engine: 'tfjs' });
    expect(a.engine).toBe('ort');
    expect(b.engine).toBe('tfjs');
    const last = (r: typeof a) => r.trueHistory.at(-1)!.loss;
    console.log(`true loss: initial ort ${a.initial.loss.toFixed(5)} tfjs ${b.initial.loss.toFixed(5)}; after 50 ort ${last(a).toFixed(5)} tfjs ${last(b).toFixed(5)}; best ort ${a.best.loss.toFixed(5)} (t=${a.best.iteration}) tfjs ${b.best.loss.toFixed(5)} (t=${b.best.iteration}); ${a.seconds.toFixed(1)} s vs ${b.seconds.toFixed(1)} s`);
    expect(Math.abs(a.initial.loss - b.initial.loss) / b.initial.loss).toBeLessThan(1e-4);
    expect(last(a)).toBeLessThan(a.initial.loss); // it refined
    expect(Math.abs(last(a) - last(b)) / last(b)).toBeLessThan(0.01);
    expect(Math.abs(a.best.loss - b.best.loss) / b.best.loss).toBeLessThan(0.01);
  }, 600_000);

  it('auto picks ort when ORT runs the transforms, tfjs on a tfjs backend', async () => {
    const model = loadModelFromPath(TEST_MODEL_PATH);
    const target = { x: testImage(64, 64), height: 64, width: 64 };
    const y = new Float32Array(16 * model.weights.M);
    const z = new Float32Array(model.weights.N);
    await initBackend('ort');
    expect((await refineLatents(model.weights, target, y, z, 0.0067, { iterations: 2 })).engine).toBe('ort');
    await initBackend('wasm');
    expect((await refineLatents(model.weights, target, y, z, 0.0067, { iterations: 2 })).engine).toBe('tfjs');
  });
});
