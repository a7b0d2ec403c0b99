/**
 * The one public entry of the codec: encode(image) -> .sgai bytes, decode(bytes) -> image.
 * Used by the CLI, the engine and the app alike.
 */
import { activeTransformEngine, onReferenceBackendAsync, type TransformEngine } from './backend';
import { createHash } from 'node:crypto';
import { SgaiError } from './errors';
import { decodeLatents, encodeLatents } from './pipeline/latent-coding';
import { analyse, hyperAnalyseOn, synthesise, type Progress } from './pipeline/transforms';
import { decodeSgai, encodeSgai, sizeBreakdown, type DecodedSgai, type RefineRecord, type SgaiFile, type SkippedChunk, type SourceRecord } from './format';
import { assertWithinPixelLimit, checkMaxPixels, estimateDecodeMemoryBytes } from './format/limits';
import { SALVAGE_HINT } from './format/sgai';
import { makePreview } from './image/export';
import type { RefineOptions, RefineResult } from './refine/refine';
import { refineImage } from './refine/tiled';
import type { ImageMetadata, RasterImage } from './image/raster';
import { DEFAULT_MAX_PIXELS, loadFile, readImage, type ReadOptions } from './image/read';
import { psnr } from './metrics/psnr';
import { latentGrid, tilesForRegion, tilesWithHalo, type Rect } from './latent-grid';
import { defaultModel, findModel, findModelForFile, loadModel, loadModelFromPath, type LoadedModel } from './model/registry';

export const DEFAULT_TILE_SIZE = 512;
const PREVIEW_MAX_SIDE = 256;

/**
 * Preview bytes: about 4 % of the coded streams, between 1 and 6 KB, so the preview that lets a
 * viewer show a photo at once never dominates a small file.
 */
function previewBudget(streamBytes: number): number {
  return Math.round(Math.min(6000, Math.max(1000, 0.04 * streamBytes)));
}

export interface ModelChoice {
  /** A loaded model, a model id, or a path to a .safetensors with its card. Default: the shipped default. */
  model?: LoadedModel | string;
  /** Extra folders to search for models. */
  modelDirs?: string[];
}

export interface EncodeOptions extends ModelChoice {
  tileSize?: number;
  /** Embed a small preview (on by default; its bytes count in every reported size). */
  preview?: boolean;
  metadata?: Partial<ImageMetadata>;
  /** Refine the latents with SGA/SGA+ before coding (see core/refine). */
  refine?: RefineOptions;
  onProgress?: Progress;
  signal?: AbortSignal;
  /** Return the quantized latents too (tests and verification). */
  keepLatents?: boolean;
  /**
   * Run g_a and h_a on the wasm reference backend, so an unrefined encode of the same photo
   * gives the same latents on every machine (refinement still runs on the active tfjs backend).
   * Default false: the active backend (ONNX Runtime when chosen), whose rounded latents may
   * differ from wasm's at about one per million; every file decodes the same everywhere either
   * way (docs/determinism.md).
   */
  exact?: boolean;
  /** Record the source file's hash and size in the file (encodeFile does this). */
  source?: SourceRecord;
  /**
   * Also decode the latents on the reference backend and report the PSNR against the input
   * (stats.psnr): what a decode of the written file must reproduce exactly (batch --verify).
   */
  measure?: boolean;
}

export interface EncodeStats {
  width: number;
  height: number;
  bytes: number;
  bpp: number;
  /** Sum of -log2 likelihoods of the coded latents, in bytes. */
  idealStreamBytes: number;
  streamBytes: number;
  /** Everything that is not z/y stream payload: signature, chunk framing, header, metadata, preview. */
  overheadBytes: number;
  breakdown: Record<string, number>;
  modelId: string;
  /** PSNR of the reference decode against the input, in dB (only with `measure`). */
  psnr?: number;
}

export interface EncodeResult {
  bytes: Uint8Array;
  stats: EncodeStats;
  model: LoadedModel;
  yHat?: Float32Array;
  refinement?: RefineResult;
}

export function resolveModel(choice: ModelChoice): LoadedModel {
  const m = choice.model;
  if (m && typeof m === 'object') return m;
  if (typeof m === 'string') {
    return m.endsWith('.safetensors') ? loadModelFromPath(m) : loadModel(findModel(m, choice.modelDirs));
  }
  return loadModel(defaultModel(choice.modelDirs).model);
}

export async function encode(image: RasterImage, options: EncodeOptions = {}): Promise<EncodeResult> {
  const model = resolveModel(options);
  const w = model.weights;
  const tileSize = options.tileSize ?? DEFAULT_TILE_SIZE;
  if (!Number.isInteger(tileSize) || tileSize % 64 !== 0 || tileSize < 64 || tileSize > 8192) {
    throw new SgaiError('INVALID_ARGUMENT', `tile size must be a multiple of 64 between 64 and 8192 (got ${tileSize})`);
  }
  if (image.width < 1 || image.height < 1 || image.width > 65535 || image.height > 65535) {
    throw new SgaiError('IMAGE_TOO_LARGE', `image of ${image.width}x${image.height} px: each side must be 1 to 65535 px`);
  }
  const g = latentGrid(image.width, image.height, tileSize);
  const engine: TransformEngine = options.exact ? 'tfjs' : activeTransformEngine();
  const analyseBoth = async () => {
    const ya = await analyse(w, image, g, options.onProgress, options.signal, engine);
    return { ya, za: await hyperAnalyseOn(w, ya, g, engine) };
  };
  const { ya, za } = options.exact ? (await onReferenceBackendAsync(analyseBoth)).value : await analyseBoth();
  let y = ya;
  let z = za;
  let refinement: RefineResult | undefined;
  if (options.refine) {
    refinement = await refineImage(w, image, g, y, z, model.card.lambda, {
      ...options.refine,
      signal: options.refine.signal ?? options.signal,
      onProgress: (p) => {
        options.refine?.onProgress?.(p);
        options.onProgress?.('refine', p.iteration, p.iterations);
      },
    });
    y = refinement.y;
    z = refinement.z;
  }
  const lat = encodeLatents(w, y, z, g, options.onProgress, options.signal);
  const streamBytes = lat.zStream.length + lat.yStreams.reduce((a, s) => a + s.length, 0);
  const meta = options.metadata ?? {};
  const file: SgaiFile = {
    header: {
      modelId: model.card.id,
      weightsSha256: Buffer.from(w.sha256, 'hex'),
      width: image.width,
      height: image.height,
      tileSize,
      channelsN: w.N,
      channelsM: w.M,
      sourceBitDepth: meta.bitDepth ?? image.bitDepth,
      hadAlpha: meta.hadAlpha ?? false,
      originalOrientation: meta.orientation ?? 1,
    },
    zStream: lat.zStream,
    yStreams: lat.yStreams,
    icc: meta.icc,
    exif: meta.exif,
    xmp: meta.xmp,
    refine: refinement ? refineRecord(refinement, options.refine!) : undefined, // no refn chunk: not refined
    preview: options.preview === false ? undefined : await makePreview(image, PREVIEW_MAX_SIDE, previewBudget(streamBytes)),
    source: options.source,
  };
  const bytes = encodeSgai(file);
  const breakdown = sizeBreakdown(bytes);
  const stats: EncodeStats = {
    width: image.width,
    height: image.height,
    bytes: bytes.length,
    bpp: (bytes.length * 8) / (image.width * image.height),
    idealStreamBytes: (lat.idealBits.y + lat.idealBits.z) / 8,
    streamBytes,
    overheadBytes: bytes.length - streamBytes,
    breakdown,
    modelId: model.card.id,
  };
  if (options.measure) {
    const recon = await synthesiseLatents(model, lat.yHat, image.width, image.height, tileSize, image.bitDepth);
    stats.psnr = psnr(image, recon);
  }
  return { bytes, stats, model, yHat: options.keepLatents ? lat.yHat : undefined, refinement };
}

function refineRecord(r: RefineResult, o: RefineOptions): RefineRecord {
  return {
    method: r.method,
    lambda: r.lambda,
    iterations: r.iterations,
    requestedIterations: o.iterations ?? r.iterations,
    learningRate: o.learningRate ?? 0.005,
    seed: o.seed ?? 0,
    bestIteration: r.best.iteration,
    estimatedLoss: { before: r.initial.loss, after: r.best.loss },
    // No timing here: the same photo, model and options must give the same bytes.
  };
}

export async function encodeFile(
  path: string, options: EncodeOptions & { read?: ReadOptions } = {},
): Promise<EncodeResult & { metadata: ImageMetadata; source: SourceRecord }> {
  const { image, meta, source } = await readSourceImage(path, options.read);
  const r = await encode(image, { ...options, source, metadata: { ...meta, ...options.metadata } });
  return { ...r, metadata: meta, source };
}

/** A photo file's pixels, metadata and source record, from one read: the bytes hashed are the bytes decoded. */
export async function readSourceImage(path: string, read?: ReadOptions): Promise<{ image: RasterImage; meta: ImageMetadata; source: SourceRecord }> {
  const src = await loadFile(path);
  const source: SourceRecord = { sha256: createHash('sha256').update(src).digest('hex'), bytes: src.length };
  const { image, meta } = await readImage(src, { ...read, name: path });
  return { image, meta, source };
}

export interface DecodeOptions extends ModelChoice {
  /**
   * Run g_s on the reference backend (tfjs wasm) so the pixels are identical on every machine and
   * whatever backend encoded the file (default). false: use the active backend - ONNX Runtime
   * or a native/GPU tfjs backend, several times faster, but an 8-bit value may differ by one
   * level at a few pixels per 100,000 (docs/determinism.md).
   */
  exact?: boolean;
  /** Decode only this part of the image: only the tiles it needs are entropy-decoded and synthesised. */
  region?: Rect;
  bitDepth?: 8 | 16;
  onProgress?: Progress;
  signal?: AbortSignal;
  /**
   * Decode what is intact of a damaged file: damaged optional chunks are skipped, a damaged or
   * missing y tile is filled from the hyperprior's prediction; a damaged header or z stream is
   * still an error. Everything left out is listed in DecodeResult.skipped.
   */
  salvage?: boolean;
  /**
   * Refuse (IMAGE_TOO_LARGE) a file whose header's width x height is above this, before
   * allocating anything sized by it; the whole image counts, even for a region decode (the
   * latent buffers span the whole image). Default DEFAULT_MAX_PIXELS (100 MP).
   */
  maxPixels?: number;
}

export interface DecodeResult {
  image: RasterImage;
  /** Whether g_s ran on the reference backend (see DecodeOptions.exact). */
  exact: boolean;
  /** Where g_s ran: tfjs (the reference wasm when exact) or ONNX Runtime. */
  synthesis: TransformEngine;
  file: SgaiFile;
  region: Rect;
  model: LoadedModel;
  /** What was left out: a damaged preview, and with `salvage` damaged chunks and predicted tiles. */
  skipped: SkippedChunk[];
}

/** Find the model a file was made with and check its weights are the same. */
export function modelForFile(file: SgaiFile, choice: ModelChoice = {}): LoadedModel {
  const h = file.header;
  const want = Buffer.from(h.weightsSha256).toString('hex');
  // By id and weights hash: a same-id model earlier in the search path must not hide the right one.
  const model = choice.model && typeof choice.model === 'object' ? choice.model : loadModel(findModelForFile(h.modelId, want, choice.modelDirs));
  if (model.weights.sha256 !== want) {
    throw new SgaiError('MODEL_NOT_INSTALLED', `this file was made with model "${h.modelId}" (weights ${want.slice(0, 12)}…), but the installed "${model.card.id}" has different weights (${model.weights.sha256.slice(0, 12)}…); the matching weights are needed to decode it`);
  }
  if (model.weights.N !== h.channelsN || model.weights.M !== h.channelsM) {
    throw new SgaiError('CORRUPT', `file header says N=${h.channelsN}, M=${h.channelsM}, but model "${h.modelId}" has N=${model.weights.N}, M=${model.weights.M}`);
  }
  return model;
}

export async function decodeParsed(file: SgaiFile | DecodedSgai, options: DecodeOptions = {}): Promise<DecodeResult> {
  const h = file.header;
  assertWithinPixelLimit(h, checkMaxPixels(options.maxPixels ?? DEFAULT_MAX_PIXELS));
  const lostTiles = 'damagedTiles' in file ? file.damagedTiles : [];
  if (lostTiles.length && !options.salvage) {
    throw new SgaiError('CORRUPT', `the file is damaged: ${lostTiles.length} of its tiles are damaged or missing; ${SALVAGE_HINT}`);
  }
  const skipped: SkippedChunk[] = 'skipped' in file ? [...file.skipped] : [];
  const model = modelForFile(file, options);
  const g = latentGrid(h.width, h.height, h.tileSize);
  const full: Rect = { x: 0, y: 0, width: h.width, height: h.height };
  const region = options.region ?? full;
  if (!Number.isInteger(region.x) || !Number.isInteger(region.y) || region.width < 1 || region.height < 1 ||
      region.x < 0 || region.y < 0 || region.x + region.width > h.width || region.y + region.height > h.height) {
    throw new SgaiError('INVALID_ARGUMENT', `region ${region.width}x${region.height}+${region.x}+${region.y} is outside the ${h.width}x${h.height} image`);
  }
  const tiles = tilesForRegion(g, region);
  const needed = tilesWithHalo(g, tiles);
  const yHat = outOfMemoryAsTooLarge(h, () => decodeLatents(model.weights, file.zStream, file.yStreams, g, needed, options.onProgress, options.signal, {
    salvage: options.salvage === true,
    damagedTiles: new Set(lostTiles),
    onLostTile: (tile, reason) => skipped.push({ chunk: 'YTIL', tile, reason }),
  }));
  const bitDepth = options.bitDepth ?? 8;
  const size = region.width * region.height * 3;
  const image: RasterImage = outOfMemoryAsTooLarge(h, () => ({
    width: region.width, height: region.height, bitDepth,
    data: bitDepth === 16 ? new Uint16Array(size) : new Uint8Array(size),
  }));
  // Exact: tfjs on the wasm reference. Fast: the active engine (ort when it was chosen).
  const synthesis: TransformEngine = options.exact === false ? activeTransformEngine() : 'tfjs';
  const run = () => synthesise(model.weights, yHat, g, tiles, region, image, options.onProgress, options.signal, synthesis);
  let exact = false;
  if (options.exact === false) await run();
  else exact = (await onReferenceBackendAsync(run)).exact;
  return { image, file, region, model, exact, synthesis, skipped };
}

/** A refused allocation (a limit raised past what this machine has) becomes a typed error. */
function outOfMemoryAsTooLarge<T>(h: SgaiFile['header'], f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const gb = estimateDecodeMemoryBytes(h) / 1e9;
    throw new SgaiError('IMAGE_TOO_LARGE', `not enough memory to decode this ${h.width}x${h.height} image (needs about ${gb.toFixed(gb < 10 ? 1 : 0)} GB)`, { cause: e });
  }
}

export async function decode(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodeResult> {
  const maxPixels = checkMaxPixels(options.maxPixels ?? DEFAULT_MAX_PIXELS);
  return decodeParsed(decodeSgai(bytes, { salvage: options.salvage, maxPixels }), options);
}

/** g_s applied to given quantized latents, through the same tiled path (and backend) the decoder uses. */
export async function synthesiseLatents(model: LoadedModel, yHat: Float32Array, width: number, height: number, tileSize: number, bitDepth: 8 | 16 = 8): Promise<RasterImage> {
  const g = latentGrid(width, height, tileSize);
  const size = width * height * 3;
  const image: RasterImage = { width, height, bitDepth, data: bitDepth === 16 ? new Uint16Array(size) : new Uint8Array(size) };
  const all = Array.from({ length: g.tilesX * g.tilesY }, (_, i) => i);
  await onReferenceBackendAsync(() => synthesise(model.weights, yHat, g, all, { x: 0, y: 0, width, height }, image, undefined, undefined, 'tfjs'));
  return image;
}
