/**
 * Refinement of large photos tile by tile, so memory is bounded by one tile's activations and
 * gradients instead of the whole photo's (a 24 MP photo at N=64 would need several GB per
 * layer). Each tile is refined as a small image made of its pixels plus a 64-px halo, starting
 * from the latents already refined by earlier tiles; only the tile's own y and z are written
 * back. Tiles are aligned to the 64-px grid, so a tile's z and y are exact sub-grids.
 */
import { throwIfCancelled } from '../cancel';
import { rasterToFloatRegion, type RasterImage } from '../image/raster';
import type { LatentGrid } from '../latent-grid';
import type { HyperpriorWeights } from '../model/weights';
import type { RefineEngine } from './gradient-source';
import { refineLatents, type RefineOptions, type RefineResult, type TrueLoss } from './refine';
import { PUBLISHED_LEARNING_RATE } from './schedule';

/** Photos whose padded size fits in this square are refined in one piece. */
export const WHOLE_IMAGE_LIMIT = 768;
export const REFINE_TILE = 512;
const HALO = 64;

function copyRows(src: Float32Array, srcW: number, dst: Float32Array, dstW: number, c: number, sy: number, sx: number, dy: number, dx: number, h: number, w: number): void {
  for (let r = 0; r < h; r++) dst.set(src.subarray(((sy + r) * srcW + sx) * c, ((sy + r) * srcW + sx + w) * c), ((dy + r) * dstW + dx) * c);
}

export async function refineImage(
  w: HyperpriorWeights, image: RasterImage, g: LatentGrid, y0: Float32Array, z0: Float32Array, modelLambda: number, options: RefineOptions,
): Promise<RefineResult> {
  if (g.paddedWidth <= WHOLE_IMAGE_LIMIT && g.paddedHeight <= WHOLE_IMAGE_LIMIT) {
    const x = rasterToFloatRegion(image, 0, 0, g.paddedWidth, g.paddedHeight);
    return refineLatents(w, { x, height: g.paddedHeight, width: g.paddedWidth, cropHeight: image.height, cropWidth: image.width }, y0, z0, modelLambda, options);
  }
  const { M, N } = w;
  const y = y0.slice();
  const z = z0.slice();
  const tilesX = Math.ceil(g.paddedWidth / REFINE_TILE);
  const tilesY = Math.ceil(g.paddedHeight / REFINE_TILE);
  const count = tilesX * tilesY;
  const start = performance.now();
  const sum = { initial: { bpp: 0, mse: 0 }, best: { bpp: 0, mse: 0 } };
  let done = Infinity;
  let engine: RefineEngine = 'tfjs';
  let first: Pick<RefineResult, 'learningRate' | 'budgetIterations'> | undefined;
  for (let t = 0; t < count; t++) {
    throwIfCancelled(options.signal, 'refinement cancelled');
    const x0 = (t % tilesX) * REFINE_TILE;
    const yy0 = Math.floor(t / tilesX) * REFINE_TILE;
    const x1 = Math.min(g.paddedWidth, x0 + REFINE_TILE);
    const yy1 = Math.min(g.paddedHeight, yy0 + REFINE_TILE);
    const cx0 = Math.max(0, x0 - HALO);
    const cy0 = Math.max(0, yy0 - HALO);
    const cx1 = Math.min(g.paddedWidth, x1 + HALO);
    const cy1 = Math.min(g.paddedHeight, yy1 + HALO);
    const [cw, ch] = [cx1 - cx0, cy1 - cy0];
    const x = rasterToFloatRegion(image, cx0, cy0, cw, ch);
    const ty = new Float32Array((ch / 16) * (cw / 16) * M);
    copyRows(y, g.yw, ty, cw / 16, M, cy0 / 16, cx0 / 16, 0, 0, ch / 16, cw / 16);
    const tz = new Float32Array((ch / 64) * (cw / 64) * N);
    copyRows(z, g.zw, tz, cw / 64, N, cy0 / 64, cx0 / 64, 0, 0, ch / 64, cw / 64);
    const remaining = options.timeBudgetS === undefined ? undefined : Math.max(0, options.timeBudgetS - (performance.now() - start) / 1000) / (count - t);
    const r = await refineLatents(w, {
      x, height: ch, width: cw,
      // The loss counts only real pixels: the padding is at the bottom/right of the photo.
      cropHeight: Math.min(ch, image.height - cy0), cropWidth: Math.min(cw, image.width - cx0),
    }, ty, tz, modelLambda, {
      ...options,
      seed: (options.seed ?? 0) + t * 7919, // different noise per tile
      timeBudgetS: remaining,
      onProgress: options.onProgress && ((p) => {
        // p.iterations: what this tile's budget allows (tiles are alike, so every tile counts as many).
        const overall = t * p.iterations + p.iteration;
        const elapsed = (performance.now() - start) / 1000;
        options.onProgress!({ ...p, iteration: overall, iterations: count * p.iterations, etaS: (elapsed / overall) * Math.max(0, count * p.iterations - overall) });
      }),
    });
    copyRows(r.y, cw / 16, y, g.yw, M, (yy0 - cy0) / 16, (x0 - cx0) / 16, yy0 / 16, x0 / 16, (yy1 - yy0) / 16, (x1 - x0) / 16);
    copyRows(r.z, cw / 64, z, g.zw, N, (yy0 - cy0) / 64, (x0 - cx0) / 64, yy0 / 64, x0 / 64, (yy1 - yy0) / 64, (x1 - x0) / 64);
    // Weight each tile's (halo-inclusive) estimate by the pixels it owns.
    const own = Math.max(0, Math.min(x1, image.width) - x0) * Math.max(0, Math.min(yy1, image.height) - yy0);
    sum.initial.bpp += r.initial.bpp * own;
    sum.initial.mse += r.initial.mse * own;
    sum.best.bpp += r.best.bpp * own;
    sum.best.mse += r.best.mse * own;
    done = Math.min(done, r.iterations);
    engine = r.engine;
    first ??= { learningRate: r.learningRate, budgetIterations: r.budgetIterations };
  }
  const px = image.width * image.height;
  const lambda = options.lambda ?? modelLambda;
  const agg = (s: { bpp: number; mse: number }, iteration: number): TrueLoss => {
    const mse = s.mse / px;
    const bpp = s.bpp / px;
    return { iteration, bpp, mse, loss: lambda * 255 * 255 * mse + bpp, psnr: -10 * Math.log10(mse) };
  };
  return {
    y, z, method: options.method ?? 'ssl', lambda, iterations: done === Infinity ? 0 : done,
    initial: agg(sum.initial, 0), best: agg(sum.best, done), history: [], trueHistory: [],
    seconds: (performance.now() - start) / 1000, engine,
    // Each tile chooses from its own share of the budget; tiles are alike, the first one stands for all.
    learningRate: first?.learningRate ?? options.learningRate ?? PUBLISHED_LEARNING_RATE,
    ...(first?.budgetIterations !== undefined && { budgetIterations: first.budgetIterations }),
  };
}
