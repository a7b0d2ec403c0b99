/**
 * Honest effort levels: before a long refinement, measure what one step costs on this machine
 * and backend (a few steps on a 128x128 probe) and scale by the pixels that will be refined.
 * Step cost is dominated by convolutions, so it grows linearly with pixels; tiles add their
 * halos.
 */
import * as tf from '@tensorflow/tfjs';
import { activeTransformEngine } from '../backend';
import { latentGrid } from '../latent-grid';
import type { HyperpriorWeights } from '../model/weights';
import { refineLatents } from './refine';
import { REFINE_TILE, WHOLE_IMAGE_LIMIT } from './tiled';

const cache = new WeakMap<HyperpriorWeights, Map<string, Promise<StepCost>>>();

/** Cost of one step: a fixed part (kernel launches, small ops) plus a part linear in pixels. */
export interface StepCost {
  fixedS: number;
  perMegapixelS: number;
}

async function probeStepSeconds(w: HyperpriorWeights, side: number): Promise<number> {
  // A smooth gradient probe: content does not change the cost.
  const x = new Float32Array(side * side * 3);
  for (let i = 0; i < x.length; i++) x[i] = ((i % (side * 3)) / (side * 3)) * 0.8 + 0.1;
  const target = { x, height: side, width: side };
  const y = new Float32Array((side / 16) ** 2 * w.M);
  const z = new Float32Array((side / 64) ** 2 * w.N);
  const run = async (iterations: number) => {
    const t0 = performance.now();
    await refineLatents(w, target, y, z, 0.01, { iterations, evalEvery: 1e9 });
    return (performance.now() - t0) / 1000;
  };
  await run(1); // warm-up: kernels, weight upload, ONNX sessions
  const four = await run(4);
  return Math.max(1e-6, (four - (await run(1))) / 3);
}

/**
 * Measured once per model and engine (the tfjs backend, or ONNX Runtime when it is active and
 * refinement runs there), from step times at two probe sizes.
 */
export function stepCost(w: HyperpriorWeights): Promise<StepCost> {
  const key = `${tf.getBackend()}/${activeTransformEngine()}`;
  let perEngine = cache.get(w);
  if (!perEngine) cache.set(w, (perEngine = new Map()));
  let hit = perEngine.get(key);
  if (!hit) {
    hit = (async () => {
      const small = await probeStepSeconds(w, 128);
      const large = await probeStepSeconds(w, 256);
      const perMegapixelS = Math.max(1e-6, (large - small) / ((256 * 256 - 128 * 128) / 1e6));
      return { fixedS: Math.max(0, small - perMegapixelS * (128 * 128) / 1e6), perMegapixelS };
    })();
    hit.catch(() => perEngine.delete(key));
    perEngine.set(key, hit);
  }
  return hit;
}

/** Pixels a refinement actually processes per step, counting tile halos. */
export function refinedPixels(width: number, height: number): number {
  const g = latentGrid(width, height, 1024);
  if (g.paddedWidth <= WHOLE_IMAGE_LIMIT && g.paddedHeight <= WHOLE_IMAGE_LIMIT) return g.paddedWidth * g.paddedHeight;
  let px = 0;
  for (let y0 = 0; y0 < g.paddedHeight; y0 += REFINE_TILE)
    for (let x0 = 0; x0 < g.paddedWidth; x0 += REFINE_TILE) {
      const w = Math.min(g.paddedWidth, x0 + REFINE_TILE + 64) - Math.max(0, x0 - 64);
      const h = Math.min(g.paddedHeight, y0 + REFINE_TILE + 64) - Math.max(0, y0 - 64);
      px += w * h;
    }
  return px;
}

export async function estimateRefineSeconds(w: HyperpriorWeights, width: number, height: number, iterations: number): Promise<number> {
  const c = await stepCost(w);
  return (c.fixedS * refineTiles(width, height) + c.perMegapixelS * (refinedPixels(width, height) / 1e6)) * iterations;
}

function refineTiles(width: number, height: number): number {
  const g = latentGrid(width, height, 1024);
  if (g.paddedWidth <= WHOLE_IMAGE_LIMIT && g.paddedHeight <= WHOLE_IMAGE_LIMIT) return 1;
  return Math.ceil(g.paddedWidth / REFINE_TILE) * Math.ceil(g.paddedHeight / REFINE_TILE);
}
