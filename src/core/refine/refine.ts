/**
 * SGA / SGA+ refinement of a photo's latents: y and z start from the encoder and are optimised
 * with Adam on lambda * 255^2 * MSE + bpp while the decoder and entropy models stay frozen;
 * rounding is relaxed with annealed Gumbel-softmax. The best iterate by the true (hard-rounded)
 * loss is kept, and the unrefined latents are a candidate, so refinement never makes a photo's
 * rate-distortion loss worse.
 *
 * One loop for every backend: the gradients come from a GradientSource (tfjs autograd, or the
 * ONNX Runtime adjoint graph when ORT runs the transforms), and the latents are plain arrays
 * updated by the same Adam (adam.ts), so noise, schedule and best-iterate logic are shared.
 */
import { activeTransformEngine } from '../backend';
import { checkpoint } from '../cancel';
import { SgaiError } from '../errors';
import type { HyperpriorWeights } from '../model/weights';
import { Adam } from './adam';
import type { GradientSource, RefineEngine, RefineShape } from './gradient-source';
import { NOISE_STREAM_Y, NOISE_STREAM_Z, gumbelNoise } from './noise';
import { ortGradientSource } from './ort-gradients';
import { METHODS, defaultParams, type ProbabilityParams, type RefineMethod } from './probabilities';
import { classCount } from './relax';
import { tfjsGradientSource } from './tfjs-gradients';
import { PUBLISHED_LEARNING_RATE, SGA_PLUS_SCHEDULE, SGA_SCHEDULE, budgetLearningRate, budgetSchedule, temperature, type TemperatureSchedule } from './schedule';

export interface RefineOptions {
  method?: RefineMethod;
  iterations?: number;
  learningRate?: number;
  /** Lambda of the loss; defaults to the model's training lambda. Another value moves the photo along the R-D curve. */
  lambda?: number;
  params?: Partial<ProbabilityParams>;
  schedule?: TemperatureSchedule;
  seed?: number;
  /**
   * Stop after this many seconds (the best iterate so far is returned). When the budget allows
   * fewer than `iterations` steps and neither learningRate nor schedule is given, both are set
   * for the steps the budget allows (schedule.ts, budgetLearningRate), measured after the first
   * steps: the published ones are tuned for hundreds of steps.
   */
  timeBudgetS?: number;
  /** Evaluate the true loss every this many iterations (default: iterations / 10, at least 10). */
  evalEvery?: number;
  signal?: AbortSignal;
  onProgress?: (p: RefineProgress) => void;
  /** Where the gradients are computed: 'auto' (default) uses ONNX Runtime when it runs the transforms. */
  engine?: RefineEngine | 'auto';
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
  /** Where the gradients were computed. */
  engine: RefineEngine;
  /** The Adam step size used (after the first steps, when a time budget chose it). */
  learningRate: number;
  /** The iterations a time budget was expected to allow when it chose the step size and schedule (undefined: it did not). */
  budgetIterations?: number;
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

export async function refineLatents(
  w: HyperpriorWeights, target: RefineTarget, y0: Float32Array, z0: Float32Array, modelLambda: number, options: RefineOptions = {},
): Promise<RefineResult> {
  const method = options.method ?? 'ssl';
  if (!METHODS.includes(method)) throw new SgaiError('INVALID_ARGUMENT', `unknown refinement method "${method}" (use one of ${METHODS.join(', ')})`);
  const iterations = options.iterations ?? 500;
  if (!Number.isInteger(iterations) || iterations < 0) throw new SgaiError('INVALID_ARGUMENT', `iterations must be a whole number >= 0 (got ${iterations})`);
  const lambda = options.lambda ?? modelLambda;
  if (!(lambda > 0)) throw new SgaiError('INVALID_ARGUMENT', `lambda must be positive (got ${lambda})`);
  let lr = options.learningRate ?? PUBLISHED_LEARNING_RATE;
  const params = { ...defaultParams(method), ...options.params };
  let schedule = options.schedule ?? (method === 'sga' ? SGA_SCHEDULE : SGA_PLUS_SCHEDULE);
  // SGA keeps its published delay-then-decay schedule; SGA+ methods adapt to a binding budget.
  const adapt = options.timeBudgetS !== undefined && options.learningRate === undefined && options.schedule === undefined && method !== 'sga';
  let budgetIterations: number | undefined;
  const seed = options.seed ?? 0;
  const evalEvery = options.evalEvery ?? Math.max(10, Math.floor(iterations / 10));
  const K = classCount(method);
  const { height: H, width: W } = target;
  const ch = target.cropHeight ?? H;
  const cw = target.cropWidth ?? W;
  const shape: RefineShape = { height: H, width: W, cropHeight: ch, cropWidth: cw, yh: H / 16, yw: W / 16, zh: H / 64, zw: W / 64, M: w.M, N: w.N };
  const start = performance.now();
  const source = await gradientSource(w, target.x, shape, lambda, options.engine ?? 'auto');
  const y = y0.slice();
  const z = z0.slice();
  const adam = new Adam([y.length, z.length], lr, 0.9, 0.999, 1e-8);
  const yNoise = new Float32Array(y0.length * K);
  const zNoise = new Float32Array(z0.length * K);

  const history: RefineResult['history'] = [];
  const trueHistory: TrueLoss[] = [];
  let best: TrueLoss | null = null;
  let bestY = y0.slice();
  let bestZ = z0.slice();
  let done = 0;
  const consider = async (t: number) => {
    const v = await source.hard(y, z);
    const tl: TrueLoss = { iteration: t, ...v, psnr: -10 * Math.log10(v.mse) };
    trueHistory.push(tl);
    if (best === null || tl.loss < best.loss) {
      best = tl;
      bestY = y.slice();
      bestZ = z.slice();
    }
  };

  try {
    await consider(0);
    let stepsStart = performance.now();
    let estimatedAt = 0;
    for (let t = 0; t < iterations; t++) {
      await checkpoint(options.signal, 'refinement cancelled');
      if (options.timeBudgetS !== undefined && (performance.now() - start) / 1000 > options.timeBudgetS) break;
      // How many steps the budget allows, from the time of the steps since the last estimate (at
      // steps 1, 2, 4 and 8: the first may include one-off set-up, later ones correct it); step
      // size and annealing are set for that many.
      if (adapt && (t === 1 || t === 2 || t === 4 || t === 8)) {
        const perStep = (performance.now() - stepsStart) / 1000 / (t - estimatedAt);
        const left = options.timeBudgetS! - (performance.now() - start) / 1000;
        const expected = Math.min(iterations, t + Math.max(0, Math.floor(left / perStep)));
        if (expected < iterations) {
          budgetIterations = expected;
          lr = budgetLearningRate(expected);
          adam.setLearningRate(lr);
          schedule = budgetSchedule(expected);
        }
        stepsStart = performance.now();
        estimatedAt = t;
      }
      const tau = temperature(schedule, t);
      gumbelNoise(seed, NOISE_STREAM_Y, t, yNoise.length, yNoise);
      gumbelNoise(seed, NOISE_STREAM_Z, t, zNoise.length, zNoise);
      const step = await source.relaxed(y, z, { tau, method, params, yNoise: splitClasses(yNoise, K), zNoise: splitClasses(zNoise, K) });
      adam.step([y, z], [step.dy, step.dz]);
      done = t + 1;
      history.push({ iteration: t, loss: step.loss, bpp: step.bpp, mse: step.mse });
      if (done % evalEvery === 0 && done < iterations) await consider(done);
      const elapsed = (performance.now() - start) / 1000;
      options.onProgress?.({
        // Out of what the budget is expected to allow, once that is known.
        iteration: done, iterations: budgetIterations ?? iterations, loss: step.loss, bpp: step.bpp, psnr: -10 * Math.log10(step.mse), temperature: tau,
        etaS: (elapsed / done) * Math.max(0, (budgetIterations ?? iterations) - done),
      });
    }
    if (done > 0 && trueHistory[trueHistory.length - 1].iteration !== done) await consider(done);
  } finally {
    source.dispose();
  }
  return {
    y: bestY, z: bestZ, method, lambda, iterations: done, best: best!, initial: trueHistory[0], history, trueHistory,
    seconds: (performance.now() - start) / 1000, engine: source.engine, learningRate: lr,
    ...(budgetIterations !== undefined && { budgetIterations }),
  };
}

/**
 * ONNX Runtime when asked for, or (auto) when it runs the transforms and its graphs load; tfjs
 * otherwise. An explicit 'ort' request fails loudly instead of falling back.
 */
async function gradientSource(w: HyperpriorWeights, x: Float32Array, s: RefineShape, lambda: number, engine: RefineEngine | 'auto'): Promise<GradientSource> {
  if (engine === 'ort' || (engine === 'auto' && activeTransformEngine() === 'ort')) {
    try {
      return await ortGradientSource(w, x, s, lambda);
    } catch (e) {
      if (engine === 'ort') throw new SgaiError('INVALID_ARGUMENT', `SGA+ on ONNX Runtime is unavailable: ${(e as Error).message.split('\n')[0]}`, { cause: e });
    }
  }
  return tfjsGradientSource(w, x, s, lambda);
}
