/**
 * The public face of sgai's core: what the CLI, the benchmarks, the batch engine and the app
 * use. Everything else under src/core is internal and may move; import from here.
 */

// Compute backend.
export {
  initBackend, describeBackend, currentBackend, activeTransformEngine, BACKEND_REQUESTS, REFERENCE_BACKEND,
  type BackendName, type BackendRequest, type BackendReport, type BackendOptions, type TfjsBackendName, type TransformEngine,
} from './backend';

// Encode, decode, quality targets.
export {
  encode, encodeFile, decode, decodeParsed, resolveModel, modelForFile, synthesiseLatents, DEFAULT_TILE_SIZE,
  type EncodeOptions, type EncodeResult, type EncodeStats, type DecodeOptions, type DecodeResult, type ModelChoice,
} from './codec';
// Many regions of one file (the viewer, exports): z and each y tile decoded once.
export { openDecodeSession, type DecodeSession, type DecodeSessionOptions, type SessionRegionOptions } from './codec';
export type { Rect } from './latent-grid';
export { encodeToTarget, encodeFileToTarget, describeTarget, type QualityTarget, type TargetKind, type TargetResult, type Reached } from './targets';

// Errors and cancellation.
export { SgaiError, isSgaiError, type SgaiErrorCode } from './errors';
export { checkpoint, throwIfCancelled } from './cancel';

// The .sgai container: parse, inspect (damaged files too), sizes.
export {
  decodeSgai, encodeSgai, listChunks, sizeBreakdown, crc32, CHUNK,
  type DecodedSgai, type SgaiFile, type SgaiHeader, type ChunkInfo, type SourceRecord,
} from './format';
export { inspectSgai, type SgaiInspection, type InspectedChunk } from './format/inspect';

// Images in and out; the one output writer.
export { readImage, DEFAULT_MAX_PIXELS, estimateEncodeMemoryBytes, METADATA_POLICIES, type MetadataPolicy, type ReadOptions } from './image/read';
export { encodeImage, writeImageFile, makePreview, type ExportOptions } from './image/export';
export { floatToRaster, rasterToFloatRegion, type RasterImage, type ImageMetadata } from './image/raster';
export {
  preflightOutput, writeFileSafely, installWriteGuards, removeLiveTempFiles, liveTempFiles,
  type OutputTarget, type SafeWriteOptions,
} from './io/safe-write';
export { verifySgai, verifyImage } from './io/verify';
export { writeError } from './io/write-errors';

// Models.
export {
  defaultModel, listModels, listAllModels, findModel, findModelForFile, loadModel, loadModelFromPath, modelDirs,
  packageRoot, SHIPPED_MODELS_DIR, TEST_MODELS_DIR, USER_MODELS_DIR,
  type InstalledModel, type LoadedModel, type ModelCard,
} from './model/registry';

// SGA+ refinement.
export { refineLatents, type RefineOptions, type RefineResult } from './refine/refine';
export { METHODS, type RefineMethod } from './refine/probabilities';
export { estimateRefineSeconds } from './refine/estimate';

// Metrics.
export { psnr, mse, bitsPerPixel } from './metrics/psnr';
export { msssimRgb, msssimY, msssimDb, psnrY, MSSSIM_MIN_SIDE } from './metrics/msssim';
export { bdRate, bdQuality, type BdMethod, type RdPoint } from './metrics/bd';

// Building blocks the benchmarks time one by one (g_a, h_a, g_s on the tile grid).
export { analyse, hyperAnalyse, hyperAnalyseOn, synthesise } from './pipeline/transforms';
export { decodeLatents, encodeLatents } from './pipeline/latent-coding';
export { setHyperKernel, type HyperKernel } from './model/hyper-synthesis';
export { conv64WasmAvailable } from './model/conv64-wasm';
export { latentGrid } from './latent-grid';
