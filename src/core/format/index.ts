/** .sgai container format: see docs/format.md. */
export { crc32 } from './crc32';
export {
  SGAI_MAJOR,
  SGAI_MINOR,
  SIGNATURE,
  CHUNK,
  listChunks,
  sizeBreakdown,
  type ChunkInfo,
  type ChunkListing,
  type Version,
} from './chunks';
export { tileGrid } from './grid';
export { encodeSgai, decodeSgai, SALVAGE_HINT, type DecodedSgai, type ParseOptions, type SkippedChunk } from './sgai';
export { assertWithinPixelLimit, estimateDecodeMemoryBytes } from './limits';
export { inspectSgai, type SgaiInspection, type InspectedChunk } from './inspect';
export type { SgaiHeader, SgaiPreview, RefineRecord, SgaiFile, SourceRecord, TileGrid } from './types';
