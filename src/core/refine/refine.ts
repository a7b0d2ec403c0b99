/**
 * SGA / SGA+ refinement of a photo's latents: y and z start from the encoder and are optimised
 * with Adam on lambda * 255^2 * MSE + bpp while the decoder and entropy models stay frozen;
 * rounding is relaxed with annealed Gumbel-softmax. The best iterate by the true (hard-rounded)
 * loss is kept, and the unrefined latents are a candidate, so refinement never makes a photo's
 * rate-distortion loss worse.
 */
import * as tf from '@tensorflow/tfjs';
import { checkpoint } from '../cancel';
import { SgaiError } from '../errors';
import type { HyperpriorWeights } from '../model/weights';
import { differentiableModel, type DifferentiableModel } from './differentiable';
import { NOISE_STREAM_Y, NOISE_STREAM_Z, gumbelNoise } from './noise';
import { METHODS, defaultParams, type ProbabilityParams, type RefineMethod } from './probabilities';
import { classCount, relax } from './relax';
import { SGA_PLUS_SCHEDULE, SGA_SCHEDULE, temperature, type TemperatureSchedule } from './schedule';

export interface RefineOptions {
  method?: RefineMethod;
  iterations?: number;
  learningRate?: number;
  /** Lambda of the loss; defaults to the model's training lambda. Another value moves the photo along the R-D curve. */
  lambda?: number;
  params?: Partial<ProbabilityParams>;
  schedule?: TemperatureSchedule;
  seed?: number;
  /** Stop after this many seconds (the best iterate so far is returned). */
  timeBudgetS?: number;
  /** Evaluate the true loss every this many iterations (default: iterations / 10, at least 10). */
  evalEvery?: number;
  signal?: AbortSignal;
  onProgress?: (p: RefineProgress) => void;
}

export interface RefineProgress {
  iteration: number;
  iterations: number;
  loss: number;
  bpp: number;
  psnr: number;
  temperature: number;
  etaS: number;
}

export interface TrueLoss {
  iteration: number;
  loss: number;
  bpp: number;
  mse: number;
  psnr: number;
}

export interface RefineResult {
  y: Float32Array;
  z: Float32Array;
  method: RefineMethod;
  lambda: number;
  /** Iterations actually run (fewer than asked if the time budget ran out). */
  iterations: number;
  best: TrueLoss;
  initial: TrueLoss;
  history: { iteration: number; loss: number; bpp: number; mse: number }[];
  trueHistory: TrueLoss[];
  seconds: number;
}

/** The image being refined: HWC float32 in [0,1], its size a multiple of 64 (padded). */
export interface RefineTarget {
  x: Float32Array;
  height: number;
  width: number;
  /** Original size inside the padded image: the loss only counts these pixels. */
  cropHeight?: number;
  cropWidth?: number;
}

/** De-interleave [element][class] noise into one array per class (cheap in JS, slow as a tensor op). */
function splitClasses(noise: Float32Array, K: number): Float32Array[] {
  const n = noise.length / K;
  const out = Array.from({ length: K }, () => new Float32Array(n));
  for (let e = 0; e < n; e++) for (let k = 0; k < K; k++) out[k][e] = noise[e * K + k];
  return out;
}

const modelCache = new WeakMap<HyperpriorWeights, { backend: string; model: DifferentiableModel }>();
function diffModel(w: HyperpriorWeights): DifferentiableModel {
  const hit = modelCache.get(w);
  if (hit && hit.backend === tf.getBackend()) return hit.model;
  hit?.model.dispose();
  const model = differentiableModel(w);
  modelCache.set(w, { backend: tf.getBackend(), model });
  return model;
}

interface LossParts {
  loss: tf.Scalar;
  bpp: tf.Scalar;
  mse: tf.Scalar;
}

function rdLoss(m: DifferentiableModel, x: tf.Tensor4D, yHat: tf.Tensor4D, zHat: tf.Tensor4D, means: tf.Tensor4D, scales: tf.Tensor4D, lambda: number, ch: number, cw: number): LossParts {
  let xHat = m.gs(yHat);
  if (xHat.shape[1] !== ch || xHat.shape[2] !== cw) xHat = tf.slice(xHat, [0, 0, 0, 0], [1, ch, cw, 3]);
  const xc = x.shape[1] !== ch || x.shape[2] !== cw ? tf.slice(x, [0, 0, 0, 0], [1, ch, cw, 3]) : x;
  const mse = tf.mean(tf.squaredDifference(xc, xHat)) as tf.Scalar;
  const bitsY = tf.neg(tf.sum(tf.log(m.yLikelihood(yHat, means, scales))));
  const bitsZ = tf.neg(tf.sum(tf.log(m.zLikelihood(zHat))));
  const bpp = tf.div(tf.add(bitsY, bitsZ), Math.LN2 * ch * cw) as tf.Scalar;
  const loss = tf.add(tf.mul(mse, lambda * 255 * 255), bpp) as tf.Scalar;
  return { loss, bpp, mse };
}

/** The loss with hard rounding, as the coder will write it. */
function trueLoss(m: DifferentiableModel, x: tf.Tensor4D, y: tf.Tensor4D, z: tf.Tensor4D, lambda: number, ch: number, cw: number, iteration: number): TrueLoss {
  const [loss, bpp, mse] = tf.tidy(() => {
    const zHat = tf.add(tf.round(tf.sub(z, m.medians)), m.medians) as tf.Tensor4D;
    const { scales, means } = m.hs(zHat);
    const yHat = tf.add(tf.round(tf.sub(y, means)), means) as tf.Tensor4D;
    const p = rdLoss(m, x, yHat, zHat, means, scales, lambda, ch, cw);
    return [p.loss, p.bpp, p.mse];
  }).map((t) => {
    const v = t.dataSync()[0];
    t.dispose();
    return v;
  });
  return { iteration, loss, bpp, mse, psnr: -10 * Math.log10(mse) };
}

export async function refineLatents(
  w: HyperpriorWeights, target: RefineTarget, y0: Float32Array, z0: Float32Array, modelLambda: number, options: RefineOptions = {},
): Promise<RefineResult> {
  const method = options.method ?? 'ssl';
  if (!METHODS.includes(method)) throw new SgaiError('INVALID_ARGUMENT', `unknown refinement method "${method}" (use one of ${METHODS.join(', ')})`);
  const iterations = options.iterations ?? 500;
  if (!Number.isInteger(iterations) || iterations < 0) throw new SgaiError('INVALID_ARGUMENT', `iterations must be a whole number >= 0 (got ${iterations})`);
  const lambda = options.lambda ?? modelLambda;
  if (!(lambda > 0)) throw new SgaiError('INVALID_ARGUMENT', `lambda must be positive (got ${lambda})`);
  const lr = options.learningRate ?? 0.005;
  const params = { ...defaultParams(method), ...options.params };
  const schedule = options.schedule ?? (method === 'sga' ? SGA_SCHEDULE : SGA_PLUS_SCHEDULE);
  const seed = options.seed ?? 0;
  const evalEvery = options.evalEvery ?? Math.max(10, Math.floor(iterations / 10));
  const K = classCount(method);
  const { height: H, width: W } = target;
  const ch = target.cropHeight ?? H;
  const cw = target.cropWidth ?? W;
  const yh = H / 16;
  const yw = W / 16;
  const zh = H / 64;
  const zw = W / 64;
  const m = diffModel(w);
  const start = performance.now();

  const x = tf.tensor4d(target.x, [1, H, W, 3]);
  // Inside tidy: tf.variable keeps its initial tensor alive otherwise (two leaked tensors a call).
  const yVar = tf.tidy(() => tf.variable(tf.tensor4d(y0, [1, yh, yw, w.M]), true));
  const zVar = tf.tidy(() => tf.variable(tf.tensor4d(z0, [1, zh, zw, w.N]), true));
  const optimizer = tf.train.adam(lr, 0.9, 0.999, 1e-8);
  const yNoise = new Float32Array(y0.length * K);
  const zNoise = new Float32Array(z0.length * K);

  const initial = trueLoss(m, x, yVar, zVar, lambda, ch, cw, 0);
  let best = initial;
  let bestY = y0.slice();
  let bestZ = z0.slice();
  const history: RefineResult['history'] = [];
  const trueHistory: TrueLoss[] = [initial];
  let done = 0;
  const consider = (t: number) => {
    const tl = trueLoss(m, x, yVar, zVar, lambda, ch, cw, t);
    trueHistory.push(tl);
    if (tl.loss < best.loss) {
      best = tl;
      bestY = Float32Array.from(yVar.dataSync());
      bestZ = Float32Array.from(zVar.dataSync());
    }
  };

  try {
    for (let t = 0; t < iterations; t++) {
      await checkpoint(options.signal, 'refinement cancelled');
      if (options.timeBudgetS !== undefined && (performance.now() - start) / 1000 > options.timeBudgetS) break;
      const tau = temperature(schedule, t);
      gumbelNoise(seed, NOISE_STREAM_Y, t, yNoise.length, yNoise);
      gumbelNoise(seed, NOISE_STREAM_Z, t, zNoise.length, zNoise);
      const yClasses = splitClasses(yNoise, K);
      const zClasses = splitClasses(zNoise, K);
      let parts: [number, number, number] = [0, 0, 0];
      tf.tidy(() => {
        const gy = yClasses.map((c) => tf.tensor4d(c, [1, yh, yw, w.M]));
        const gz = zClasses.map((c) => tf.tensor4d(c, [1, zh, zw, w.N]));
        let bppT: tf.Scalar | null = null;
        let mseT: tf.Scalar | null = null;
        const lossT = optimizer.minimize(() => {
          const zHat = tf.add(relax(tf.sub(zVar, m.medians), tau, method, params, gz), m.medians) as tf.Tensor4D;
          const { scales, means } = m.hs(zHat);
          const yHat = tf.add(relax(tf.sub(yVar, means), tau, method, params, gy), means) as tf.Tensor4D;
          const p = rdLoss(m, x, yHat, zHat, means, scales, lambda, ch, cw);
          bppT = tf.keep(p.bpp);
          mseT = tf.keep(p.mse);
          return p.loss;
        }, true, [yVar, zVar]);
        parts = [lossT!.dataSync()[0], bppT!.dataSync()[0], mseT!.dataSync()[0]];
        tf.dispose([bppT!, mseT!]); // kept out of minimize's tape scope, so tidy would not free them
      });
      done = t + 1;
      history.push({ iteration: t, loss: parts[0], bpp: parts[1], mse: parts[2] });
      if (done % evalEvery === 0 && done < iterations) consider(done);
      const elapsed = (performance.now() - start) / 1000;
      options.onProgress?.({
        iteration: done, iterations, loss: parts[0], bpp: parts[1], psnr: -10 * Math.log10(parts[2]), temperature: tau,
        etaS: (elapsed / done) * (iterations - done),
      });
    }
    if (done > 0 && trueHistory[trueHistory.length - 1].iteration !== done) consider(done);
  } finally {
    tf.dispose([x, yVar, zVar]);
    optimizer.dispose();
  }
  return {
    y: bestY, z: bestZ, method, lambda, iterations: done, best, initial, history, trueHistory,
    seconds: (performance.now() - start) / 1000,
  };
}
