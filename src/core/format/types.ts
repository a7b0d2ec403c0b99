/** Public shapes of a decoded .sgai file. Field semantics are specified in docs/format.md. */

export interface SgaiHeader {
  /** Identifier of the model the file was coded with; 1..64 bytes of UTF-8. */
  modelId: string;
  /** SHA-256 of the model weights file (32 bytes); ties the streams to exact weights. */
  weightsSha256: Uint8Array;
  /** Upright image size (after EXIF orientation was applied), 1..65535 each. */
  width: number;
  height: number;
  /** Tile edge in pixels: a multiple of 64 in 64..8192. */
  tileSize: number;
  /** Latent channels of z (N) and y (M), 1..65535, to check the file against the model. */
  channelsN: number;
  channelsM: number;
  sourceBitDepth: 8 | 16;
  /** The source had an alpha channel, which was flattened before coding. */
  hadAlpha: boolean;
  /** EXIF orientation of the source (1..8); informational, pixels are stored upright. */
  originalOrientation: number;
}

export interface SgaiPreview {
  width: number;
  height: number;
  mime: 'image/webp' | 'image/jpeg';
  data: Uint8Array;
}

/** Describes how the latents were refined; keys beyond the three listed are preserved. */
export interface RefineRecord {
  method: string;
  lambda: number;
  iterations: number;
  [k: string]: unknown;
}

/**
 * The file the image was encoded from, so a moved or renamed library is still recognised.
 * Keys beyond the two listed are preserved.
 */
export interface SourceRecord {
  /** SHA-256 of the source file's bytes, 64 lowercase hex digits. */
  sha256: string;
  /** The source file's size in bytes. */
  bytes: number;
  [k: string]: unknown;
}

export interface SgaiFile {
  header: SgaiHeader;
  zStream: Uint8Array;
  /** One y stream per tile, row-major (index = tileY * tilesX + tileX). */
  yStreams: Uint8Array[];
  /** Original ICC profile. */
  icc?: Uint8Array;
  /** Raw EXIF from the TIFF header onwards (starts "II*\0" or "MM\0*", no "Exif\0\0"). */
  exif?: Uint8Array;
  /** XMP packet bytes. */
  xmp?: Uint8Array;
  /** Absent or null: the latents were not refined. */
  refine?: RefineRecord | null;
  preview?: SgaiPreview;
  /** The source file's hash and size (format 1.1); absent in files from older writers. */
  source?: SourceRecord;
}

export interface TileGrid {
  tilesX: number;
  tilesY: number;
  paddedWidth: number;
  paddedHeight: number;
}
