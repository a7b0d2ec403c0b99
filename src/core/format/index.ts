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
export { encodeSgai, decodeSgai, type DecodedSgai } from './sgai';
export type { SgaiHeader, SgaiPreview, RefineRecord, SgaiFile, TileGrid } from './types';
