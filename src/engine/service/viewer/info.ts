/**
 * viewer:open's answer from a file's bytes: header, model, refinement record, preview size,
 * capture metadata, colour profile. Nothing is decoded but the container. A file the viewer
 * cannot show is refused here with its SgaiError (damaged, truncated, not an .sgai, made with a
 * model that is not installed), so the window says why at once instead of waiting on tiles.
 */
import { basename } from 'node:path';
import { decodeSgai, DEFAULT_MAX_PIXELS, type DecodedSgai, findModelForFile, type InstalledModel, isSgaiError, SgaiError } from '../../../core';
import { SALVAGE_HINT } from '../../../core/format';
import { parseIcc } from '../../../core/image/icc';
import type { ViewerFileInfo } from '../../../ipc/schemas';
import { captureInfo } from './capture';

export const NO_PROFILE = 'sRGB (none embedded)';

/** The command-line hint in core's damage messages, said the way a viewer user can act on it. */
const VIEWER_SALVAGE_HINT = 'the command line can recover what is intact (sgai decode --salvage)';

function forViewer(e: unknown): unknown {
  if (isSgaiError(e) && e.message.includes(SALVAGE_HINT)) return new SgaiError(e.code, e.message.replace(SALVAGE_HINT, VIEWER_SALVAGE_HINT), { cause: e });
  return e;
}

/**
 * The container, checked as a decode would check it before decoding: structure and checksums,
 * the pixel limit, and the model (by id and weights hash, without loading it).
 */
export function parseForViewer(bytes: Uint8Array): { file: DecodedSgai; model: InstalledModel } {
  try {
    const file = decodeSgai(bytes, { maxPixels: DEFAULT_MAX_PIXELS });
    const h = file.header;
    const model = findModelForFile(h.modelId, Buffer.from(h.weightsSha256).toString('hex'));
    if (model.card.N !== h.channelsN || model.card.M !== h.channelsM) {
      throw new SgaiError('CORRUPT', `the file is damaged: its header says N=${h.channelsN}, M=${h.channelsM}, but model "${h.modelId}" has N=${model.card.N}, M=${model.card.M}`);
    }
    return { file, model };
  } catch (e) {
    throw forViewer(e);
  }
}

/** The ICC profile's description, in words. */
export function profileName(icc: Uint8Array | undefined): string {
  if (!icc) return NO_PROFILE;
  const p = parseIcc(icc);
  if (!p) return 'an embedded ICC profile that could not be read';
  return p.description?.trim() || `an embedded ${p.colorSpace} profile without a name`;
}

function refineOf(r: DecodedSgai['refine']): ViewerFileInfo['refine'] {
  if (!r) return null;
  const seconds = typeof r.seconds === 'number' && Number.isFinite(r.seconds) ? r.seconds : undefined;
  return { method: r.method, lambda: r.lambda, iterations: r.iterations, ...(seconds !== undefined ? { seconds } : {}) };
}

/** Everything but the siblings, which need the folder (files.ts adds them). */
export async function describeFile(path: string, bytes: number, file: DecodedSgai, model: InstalledModel): Promise<Omit<ViewerFileInfo, 'siblings'>> {
  const h = file.header;
  const warnings: string[] = [];
  for (const s of file.skipped) {
    if (s.chunk === 'prev') warnings.push('The embedded preview is damaged; the photo appears as its tiles are decoded.');
    else warnings.push(`Part of the file was left out (${s.chunk}: ${s.reason}).`);
  }
  if (file.unknownChunks.length) warnings.push(`This file has parts a newer sgai wrote (${file.unknownChunks.join(', ')}); they were skipped.`);
  let capture: ViewerFileInfo['capture'] = {};
  if (file.exif) {
    try {
      capture = await captureInfo(file.exif);
    } catch (e) {
      warnings.push(`The photo's EXIF metadata could not be read (${(e as Error).message}).`);
    }
  }
  if (file.icc && !parseIcc(file.icc)) warnings.push('The embedded colour profile could not be read.');
  const lambda = typeof model.card.lambda === 'number' ? model.card.lambda : null;
  return {
    path,
    name: basename(path),
    bytes,
    width: h.width,
    height: h.height,
    bitDepth: h.sourceBitDepth,
    bpp: (8 * bytes) / (h.width * h.height),
    tileSize: h.tileSize,
    model: { id: h.modelId, lambda, installed: true },
    refine: refineOf(file.refine),
    preview: file.preview ? { width: file.preview.width, height: file.preview.height } : null,
    capture,
    colourProfile: profileName(file.icc),
    hadAlpha: h.hadAlpha,
    originalOrientation: h.originalOrientation,
    warnings,
  };
}
