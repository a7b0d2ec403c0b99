/**
 * The one public entry of the codec: encode(image) -> .sgai bytes, decode(bytes) -> image.
 * Used by the CLI, the engine and the app alike.
 */
import { activeTransformEngine, onReferenceBackendAsync, type TransformEngine } from './backend';
import { createHash } from 'node:crypto';
import { SgaiError } from './errors';
import { decodeLatents, decodeZHat, encodeLatents, YTileDecoder } from './pipeline/latent-coding';
import { checkpoint } from './cancel';
import { analyse, hyperAnalyseOn, synthesise, type Progress } from './pipeline/transforms';
import { decodeSgai, encodeSgai, sizeBreakdown, type DecodedSgai, type RefineRecord, type SgaiFile, type SgaiHeader, type SkippedChunk, type SourceRecord } from './format';
import { assertWithinPixelLimit, checkMaxPixels, estimateDecodeMemoryBytes } from './format/limits';
import { SALVAGE_HINT } from './format/sgai';
import { makePreview } from './image/export';
import type { RefineOptions, RefineResult } from './refine/refine';
import { refineImage } from './refine/tiled';
import type { ImageMetadata, RasterImage } from './image/raster';
import { DEFAULT_MAX_PIXELS, loadFile, readImage, type ReadOptions } from './image/read';
import { psnr } from './metrics/psnr';
import { latentGrid, tilesForRegion, tilesWithHalo, type LatentGrid, type Rect } from './latent-grid';
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
  /**
   * Also sum the model's ideal code length of the coded latents (stats.idealStreamBytes): a
   * diagnostic of the entropy coder's overhead, off by default (a likelihood per latent costs
   * about a tenth of the entropy coding).
   */
  idealBits?: boolean;
}

export interface EncodeStats {
  width: number;
  height: number;
  bytes: number;
  bpp: number;
  /** Sum of -log2 likelihoods of the coded latents, in bytes (only with EncodeOptions.idealBits). */
  idealStreamBytes?: number;
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
  const lat = encodeLatents(w, y, z, g, options.onProgress, options.signal, options.idealBits);
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
    idealStreamBytes: lat.idealBits && (lat.idealBits.y + lat.idealBits.z) / 8,
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
    learningRate: r.learningRate,
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
  const region = checkRegion(h, options.region);
  const tiles = tilesForRegion(g, region);
  const needed = tilesWithHalo(g, tiles);
  const yHat = outOfMemoryAsTooLarge(h, () => decodeLatents(model.weights, file.zStream, file.yStreams, g, needed, options.onProgress, options.signal, {
    salvage: options.salvage === true,
    damagedTiles: new Set(lostTiles),
    onLostTile: (tile, reason) => skipped.push({ chunk: 'YTIL', tile, reason }),
  }));
  const { image, exact, synthesis } = await synthesiseRegion(h, model, yHat, g, tiles, region, options);
  return { image, file, region, model, exact, synthesis, skipped };
}

/** The region asked for (the whole image when none), refused when it is not inside the image. */
function checkRegion(h: SgaiHeader, region: Rect | undefined): Rect {
  const r = region ?? { x: 0, y: 0, width: h.width, height: h.height };
  if (!Number.isInteger(r.x) || !Number.isInteger(r.y) || !Number.isInteger(r.width) || !Number.isInteger(r.height) || r.width < 1 || r.height < 1 ||
      r.x < 0 || r.y < 0 || r.x + r.width > h.width || r.y + r.height > h.height) {
    throw new SgaiError('INVALID_ARGUMENT', `region ${r.width}x${r.height}+${r.x}+${r.y} is outside the ${h.width}x${h.height} image`);
  }
  return r;
}

/** g_s of `tiles` into a new raster covering `region`: exact on the wasm reference, else on the active engine (ort when chosen). */
async function synthesiseRegion(
  h: SgaiHeader, model: LoadedModel, yHat: Float32Array, g: LatentGrid, tiles: number[], region: Rect,
  o: { exact?: boolean; bitDepth?: 8 | 16; onProgress?: Progress; signal?: AbortSignal },
): Promise<{ image: RasterImage; exact: boolean; synthesis: TransformEngine }> {
  const bitDepth = o.bitDepth ?? 8;
  const size = region.width * region.height * 3;
  const image: RasterImage = outOfMemoryAsTooLarge(h, () => ({
    width: region.width, height: region.height, bitDepth,
    data: bitDepth === 16 ? new Uint16Array(size) : new Uint8Array(size),
  }));
  const synthesis: TransformEngine = o.exact === false ? activeTransformEngine() : 'tfjs';
  const run = () => synthesise(model.weights, yHat, g, tiles, region, image, o.onProgress, o.signal, synthesis);
  let exact = false;
  if (o.exact === false) await run();
  else exact = (await onReferenceBackendAsync(run)).exact;
  return { image, exact, synthesis };
}

/** A refused allocation (a limit raised past what this machine has) becomes a typed error. */
function outOfMemoryAsTooLarge<T>(h: SgaiHeader, f: () => T): T {
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

/**
 * Widest h_s band a session computes in one go, in pixels. A band is computed without yielding,
 * so this bounds how long a cancel or a newer request waits; wider bands save only their halo.
 */
const SESSION_BAND_PX = 2048;

/**
 * Tiles (ascending indexes on a grid `cols` wide) split into rectangles: runs of adjacent tiles
 * in a row (at most maxRun long), merged with the runs of the same columns in the rows below.
 * Each list is ascending.
 */
function tileRectangles(cols: number, tiles: number[], maxRun: number): number[][] {
  const open = new Map<string, { rows: number[][]; lastRow: number }>();
  const done: number[][][] = [];
  let run: number[] = [];
  const closeRun = () => {
    if (!run.length) return;
    const row = Math.floor(run[0] / cols);
    const key = `${run[0] % cols}:${run.length}`;
    const r = open.get(key);
    if (r && r.lastRow === row - 1) {
      r.rows.push(run);
      r.lastRow = row;
    } else {
      if (r) done.push(r.rows);
      open.set(key, { rows: [run], lastRow: row });
    }
    run = [];
  };
  for (const t of tiles) {
    if (run.length && !(t === run[run.length - 1] + 1 && t % cols !== 0 && run.length < maxRun)) closeRun();
    run.push(t);
  }
  closeRun();
  for (const r of open.values()) done.push(r.rows);
  return done.map((rows) => rows.flat()).sort((a, b) => a[0] - b[0]);
}

export interface DecodeSessionOptions extends ModelChoice {
  /** Each region's default for DecodeOptions.exact (true: g_s on the wasm reference). */
  exact?: boolean;
  /** As DecodeOptions.maxPixels: the whole image counts (the session's latents span it). */
  maxPixels?: number;
}

export interface SessionRegionOptions {
  bitDepth?: 8 | 16;
  signal?: AbortSignal;
  /**
   * Stage 'entropy' for each y tile decoded now, then 'synthesis' for each tile synthesised,
   * counted against one total for the whole region (tiles to decode + tiles to synthesise).
   */
  onProgress?: Progress;
  /** This region only: exact or fast g_s (default: the session's). */
  exact?: boolean;
}

/**
 * One file open for many region decodes (a viewer panning and zooming, an export after it): z is
 * decoded once, each y tile is entropy-decoded (with its h_s band) the first time a region
 * needs it and kept, and only the asked-for rectangle is synthesised. Every region is the same,
 * byte for byte, as decode({ region }) of the same rectangle, whatever was decoded before.
 */
export interface DecodeSession {
  readonly header: SgaiHeader;
  readonly file: SgaiFile;
  readonly model: LoadedModel;
  /** How many of the file's y tiles are decoded and kept so far. */
  readonly decodedTiles: number;
  /** Full-resolution pixels of rect (the whole image when omitted). Calls run one after another. */
  region(rect?: Rect, options?: SessionRegionOptions): Promise<RasterImage>;
  /** Lets the latents go; later regions are refused. */
  dispose(): void;
}

/**
 * Opens a parsed file for region decodes. Refuses at once what decode() would refuse before
 * decoding anything: too many pixels, damaged tiles (a session never salvages), a model that is
 * not installed. Memory: the y latents of the whole image (width x height x M / 64 bytes).
 */
export function openDecodeSession(file: SgaiFile | DecodedSgai, options: DecodeSessionOptions = {}): DecodeSession {
  const h = file.header;
  assertWithinPixelLimit(h, checkMaxPixels(options.maxPixels ?? DEFAULT_MAX_PIXELS));
  if ('damagedTiles' in file && file.damagedTiles.length) {
    throw new SgaiError('CORRUPT', `the file is damaged: ${file.damagedTiles.length} of its tiles are damaged or missing; ${SALVAGE_HINT}`);
  }
  const model = modelForFile(file, options);
  const g = latentGrid(h.width, h.height, h.tileSize);
  const decoded = new Uint8Array(g.tilesX * g.tilesY);
  let count = 0;
  let latents: { zHat: Float64Array; yHat: Float32Array } | null = null;
  let disposed = false;
  // One region at a time: tiles are decoded into shared buffers, and an exact g_s switches tfjs's backend for its whole await.
  let queue: Promise<unknown> = Promise.resolve();

  async function decodeRegion(rect: Rect | undefined, o: SessionRegionOptions): Promise<RasterImage> {
    if (disposed) throw new SgaiError('INVALID_ARGUMENT', 'this decode session was closed');
    const region = checkRegion(h, rect);
    const tiles = tilesForRegion(g, region);
    const missing = tilesWithHalo(g, tiles).filter((t) => !decoded[t]);
    if (missing.length) {
      latents ??= outOfMemoryAsTooLarge(h, () => ({ zHat: decodeZHat(model.weights, file.zStream, g), yHat: new Float32Array(g.yh * g.yw * model.weights.M) }));
      const { yHat, zHat } = latents;
      let done = 0;
      // h_s bands per rectangle of missing tiles (at most SESSION_BAND_PX wide), so no band spans
      // tiles decoded before; each ascending, so a band is computed once. A cancelled call keeps
      // the tiles it finished.
      for (const block of tileRectangles(g.tilesX, missing, Math.max(1, Math.floor(SESSION_BAND_PX / h.tileSize)))) {
        const tileDecoder = new YTileDecoder(model.weights, zHat, g, block);
        for (const t of block) {
          await checkpoint(o.signal);
          if (disposed) throw new SgaiError('INVALID_ARGUMENT', 'this decode session was closed');
          tileDecoder.decodeTile(t, file.yStreams, yHat);
          decoded[t] = 1;
          count++;
          o.onProgress?.('entropy', ++done, missing.length + tiles.length);
        }
      }
    }
    if (!latents) throw new Error('decode session: no latents although no tile was missing'); // cannot happen: a region needs at least one tile
    const exact = o.exact ?? options.exact;
    const onProgress = o.onProgress && ((stage: string, done: number) => o.onProgress!(stage, missing.length + done, missing.length + tiles.length));
    return (await synthesiseRegion(h, model, latents.yHat, g, tiles, region, { ...o, exact, onProgress })).image;
  }

  return {
    header: h,
    file,
    model,
    get decodedTiles() {
      return count;
    },
    region(rect, o = {}) {
      const run = queue.then(() => decodeRegion(rect, o));
      queue = run.catch(() => undefined);
      return run;
    },
    dispose() {
      disposed = true;
      latents = null;
    },
  };
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
