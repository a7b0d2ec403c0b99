/**
 * One photo file to .sgai bytes, as a batch asks for it: with the batch's model, or searching a
 * quality target over a family of models. The same function runs in an encoder process and in
 * the batch process itself (workers: 0), so both give the same bytes.
 */
import { encodeFile, encodeFileToTarget, type LoadedModel, type RefineOptions, SgaiError } from '../core';
import type { EncodeOptionsRequest, EncodeStatsMessage } from './worker/protocol';

export interface PhotoModels {
  model: LoadedModel;
  /** What a quality target searches over. */
  targetModels: LoadedModel[];
}

export interface PhotoHooks {
  signal?: AbortSignal;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export async function encodePhotoFile(
  path: string, models: PhotoModels, o: EncodeOptionsRequest, hooks: PhotoHooks,
): Promise<{ bytes: Uint8Array; stats: EncodeStatsMessage }> {
  const { target, measure, ...rest } = o;
  const options = { ...rest, refine: o.refine as RefineOptions | undefined, signal: hooks.signal, onProgress: hooks.onProgress };
  if (!target) {
    const r = await encodeFile(path, { model: models.model, ...options, measure });
    const { width, height, bytes, bpp, modelId, psnr } = r.stats;
    return { bytes: r.bytes, stats: { width, height, bytes, bpp, modelId, psnr, sourceSha256: r.source.sha256 } };
  }
  if (!models.targetModels.length) throw new SgaiError('INVALID_ARGUMENT', 'a quality target needs the models to search (none were given to the encoder)');
  // Every probe is decoded to measure it: the PSNR reached is the reference decode's (what --verify checks).
  const t = await encodeFileToTarget(path, target, models.targetModels, options);
  const { width, height, bytes, bpp, modelId } = t.result.stats;
  return { bytes: t.result.bytes, stats: { width, height, bytes, bpp, modelId, psnr: t.reached.psnr, targetMet: t.met, sourceSha256: t.source.sha256 } };
}
