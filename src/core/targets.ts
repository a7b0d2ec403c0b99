/**
 * Quality targets: reach a file size / bpp, a PSNR or an MS-SSIM by choosing among the installed
 * models and, when refinement is on, searching the refinement lambda (which moves a photo along
 * the rate-distortion curve around its model's operating point). Every probe is a real encode
 * and decode, so what is reported is what the file really is.
 */
import { decode, encode, readSourceImage, type EncodeOptions, type EncodeResult } from './codec';
import type { SourceRecord } from './format';
import type { ReadOptions } from './image/read';
import { SgaiError } from './errors';
import type { RasterImage } from './image/raster';
import { msssimRgb } from './metrics/msssim';
import { psnr } from './metrics/psnr';
import type { LoadedModel } from './model/registry';

export type TargetKind = 'bpp' | 'bytes' | 'psnr' | 'msssim';
export interface QualityTarget {
  kind: TargetKind;
  value: number;
}

export interface Reached {
  bytes: number;
  bpp: number;
  psnr: number;
  msssim: number | null;
}

export interface TargetProbe extends Reached {
  modelId: string;
  lambda: number | null;
  meets: boolean;
}

export interface TargetResult {
  result: EncodeResult;
  reached: Reached;
  met: boolean;
  probes: TargetProbe[];
}

/** How far refinement may move lambda away from a model's own (the reachable range is limited). */
const LAMBDA_SPAN = 4;
const MAX_LAMBDA_PROBES = 5;

async function measure(image: RasterImage, r: EncodeResult): Promise<Reached> {
  const dec = (await decode(r.bytes, { model: r.model })).image;
  const big = Math.min(image.width, image.height) >= 161; // MS-SSIM needs 5 scales
  return {
    bytes: r.bytes.length,
    bpp: (r.bytes.length * 8) / (image.width * image.height),
    psnr: psnr(image, dec),
    msssim: big ? msssimRgb(image, dec) : null,
  };
}

/** The target in words: "at least 38 dB PSNR", "at most 0.5 bpp". */
export function describeTarget(t: QualityTarget): string {
  return t.kind === 'bpp' ? `at most ${t.value} bpp` : t.kind === 'bytes' ? `at most ${t.value} bytes` : t.kind === 'psnr' ? `at least ${t.value} dB PSNR` : `MS-SSIM at least ${t.value}`;
}

/** True when a result satisfies the target: size targets are maxima, quality targets minima. */
export function meets(t: QualityTarget, r: Reached): boolean {
  switch (t.kind) {
    case 'bpp':
      return r.bpp <= t.value;
    case 'bytes':
      return r.bytes <= t.value;
    case 'psnr':
      return r.psnr >= t.value;
    case 'msssim':
      return r.msssim !== null && r.msssim >= t.value;
  }
}

/** Among results that meet the target, the best: highest quality for size targets, smallest file for quality targets. */
function better(t: QualityTarget, a: Reached, b: Reached): boolean {
  return t.kind === 'bpp' || t.kind === 'bytes' ? a.psnr > b.psnr : a.bytes < b.bytes;
}

export async function encodeToTarget(
  image: RasterImage, target: QualityTarget, models: LoadedModel[], options: Omit<EncodeOptions, 'model'> = {},
): Promise<TargetResult> {
  if (!(target.value > 0) || (target.kind === 'msssim' && target.value >= 1)) {
    throw new SgaiError('INVALID_ARGUMENT', `target ${target.kind} ${target.value} is not reachable`);
  }
  if (target.kind === 'msssim' && Math.min(image.width, image.height) < 161) {
    throw new SgaiError('INVALID_ARGUMENT', 'an MS-SSIM target needs a photo at least 161 px on each side');
  }
  if (!models.length) throw new SgaiError('MODEL_NOT_INSTALLED', 'no models installed to search over');
  const probes: TargetProbe[] = [];
  let best: { r: EncodeResult; reached: Reached } | null = null;
  let fallback: { r: EncodeResult; reached: Reached } | null = null;
  const consider = (r: EncodeResult, reached: Reached, lambda: number | null) => {
    const ok = meets(target, reached);
    probes.push({ ...reached, modelId: r.model.card.id, lambda, meets: ok });
    if (ok && (!best || better(target, reached, best.reached))) best = { r, reached };
    // If nothing meets the target, return the closest: smallest file for size targets, best quality otherwise.
    const closer = !fallback || (target.kind === 'bpp' || target.kind === 'bytes' ? reached.bytes < fallback.reached.bytes : reached.psnr > fallback.reached.psnr);
    if (closer) fallback = { r, reached };
    return ok;
  };

  // 1. Unrefined point of every model, ordered by rate.
  const base: { model: LoadedModel; reached: Reached; ok: boolean }[] = [];
  for (const model of [...models].sort((a, b) => a.card.lambda - b.card.lambda)) {
    const r = await encode(image, { ...options, model, refine: undefined });
    const reached = await measure(image, r);
    base.push({ model, reached, ok: consider(r, reached, null) });
  }
  if (!options.refine) return finish();

  // 2. Refine with the model nearest the target, searching lambda on a log scale by bisection:
  //    rate and quality both grow with lambda.
  const sizeTarget = target.kind === 'bpp' || target.kind === 'bytes';
  const pick = sizeTarget
    ? [...base].reverse().find((b) => b.ok) ?? base[0] // the best model still within the size
    : base.find((b) => b.ok) ?? base[base.length - 1]; // the smallest model reaching the quality
  const lam0 = pick.model.card.lambda;
  let lo = Math.log(lam0 / LAMBDA_SPAN);
  let hi = Math.log(lam0 * LAMBDA_SPAN);
  let logLam = Math.log(lam0);
  for (let i = 0; i < MAX_LAMBDA_PROBES; i++) {
    const lambda = Math.exp(logLam);
    const r = await encode(image, { ...options, model: pick.model, refine: { ...options.refine, lambda } });
    const ok = consider(r, await measure(image, r), lambda);
    // For a size target, meeting it means we can afford a higher lambda; for a quality target,
    // meeting it means we can try a lower one.
    if (ok === sizeTarget) lo = logLam;
    else hi = logLam;
    logLam = (lo + hi) / 2;
  }
  return finish();

  function finish(): TargetResult {
    const chosen = (best ?? fallback)!;
    return { result: chosen.r, reached: chosen.reached, met: best !== null, probes };
  }
}

/** encodeToTarget on a photo file, recording its source hash and metadata as encodeFile does. */
export async function encodeFileToTarget(
  path: string, target: QualityTarget, models: LoadedModel[], options: Omit<EncodeOptions, 'model'> & { read?: ReadOptions } = {},
): Promise<TargetResult & { source: SourceRecord }> {
  const { image, meta, source } = await readSourceImage(path, options.read);
  const r = await encodeToTarget(image, target, models, { ...options, source, metadata: { ...meta, ...options.metadata } });
  return { ...r, source };
}
