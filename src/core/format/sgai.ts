/**
 * .sgai v1 reader and writer: what each chunk means, which chunks must appear, and in what
 * order. Layout and rules are specified in docs/format.md.
 */
import { SgaiError } from '../errors';
import {
  assertBytes,
  CHUNK,
  CHUNK_NAMES,
  ChunkWriter,
  chunkLabel,
  checkVersion,
  isRequiredType,
  iterateChunks,
  KNOWN_CHUNK_TYPES,
  readPreamble,
  type RawChunk,
  readU32,
  SGAI_MINOR,
  SINGLETON_CHUNKS,
  writeU32,
} from './chunks';
import { tileGrid } from './grid';
import { assertWithinPixelLimit, checkMaxPixels } from './limits';
import {
  decodeHead,
  decodePreview,
  decodeRefine,
  decodeSource,
  encodeHead,
  encodePreview,
  encodeRefine,
  encodeSource,
  isTiffHeader,
  validateHeaderArg,
} from './payloads';
import type { SgaiFile } from './types';

/** Something the reader left out of a file, and why (for `sgai decode` to report). */
export interface SkippedChunk {
  /** Chunk type without padding ("prev", "YTIL", "END"), or "tail" for the unreadable end of a file. */
  chunk: string;
  /** YTIL: 0-based index of the tile (the first of a run when `lastTile` is set). */
  tile?: number;
  /** YTIL: last tile of a run of missing tiles, so a file cut early is one entry, not thousands. */
  lastTile?: number;
  reason: string;
}

export interface ParseOptions {
  /**
   * Read what is intact of a damaged file: skip damaged optional chunks (ICC, EXIF, XMP, refn,
   * preview, unknown), mark damaged or missing y tiles (the decoder predicts them from the
   * hyperprior), ignore a damaged end. A damaged header or z stream is still an error.
   */
  salvage?: boolean;
  /**
   * IMAGE_TOO_LARGE if the header's width x height is above this, checked before anything
   * else is read. Default: no limit (parsing allocates nothing sized by the image; the
   * decoder applies its own default).
   */
  maxPixels?: number;
}

export type DecodedSgai = SgaiFile & {
  /** Types of unknown optional chunks that were skipped, each listed once, in file order. */
  unknownChunks: string[];
  /** What was left out: a damaged preview always, and with `salvage` every damaged chunk. */
  skipped: SkippedChunk[];
  /**
   * Tiles whose y stream is damaged or missing (only with `salvage`), ascending. Their
   * `yStreams` entry is empty; the decoder fills them from the hyperprior's prediction.
   */
  damagedTiles: number[];
};

/** Placeholder stream of a salvaged tile; never a valid stream (a coded tile is never empty). */
const NO_STREAM = new Uint8Array(0);

/** Appended to errors a salvage decode would get past. */
export const SALVAGE_HINT = 'pass --salvage to decode what is intact';
const SALVAGEABLE = new Set(['CHECKSUM', 'CORRUPT', 'TRUNCATED']);

function invalid(what: string): never {
  throw new SgaiError('INVALID_ARGUMENT', `cannot write .sgai: ${what}`);
}

function corrupt(what: string): SgaiError {
  return new SgaiError('CORRUPT', `the file is damaged: ${what}`);
}

/**
 * Serializes a file. Chunk order: HEAD, prev, refn, iccp, exif, xmpm, ZSTR, YTIL..., END
 * (preview first so a thumbnailer can stop reading early). Throws INVALID_ARGUMENT for any
 * value the reader would reject, so a written file always reads back.
 */
export function encodeSgai(file: SgaiFile): Uint8Array {
  if (typeof file !== 'object' || file === null) invalid('no file given');
  validateHeaderArg(file.header);
  const { tilesX, tilesY } = tileGrid(file.header);
  if (!(file.zStream instanceof Uint8Array)) invalid('zStream must be a Uint8Array');
  if (!Array.isArray(file.yStreams)) invalid('yStreams must be an array');
  const tiles = tilesX * tilesY;
  if (file.yStreams.length !== tiles) {
    invalid(`a ${file.header.width}x${file.header.height} image with ${file.header.tileSize}px tiles has ${tiles} tiles (${tilesX}x${tilesY}), but ${file.yStreams.length} y streams were given`);
  }
  file.yStreams.forEach((s, i) => {
    if (!(s instanceof Uint8Array)) invalid(`y stream of tile ${i} must be a Uint8Array`);
  });
  for (const k of ['icc', 'exif', 'xmp'] as const) {
    const v = file[k];
    if (v !== undefined && !(v instanceof Uint8Array)) invalid(`${k} must be a Uint8Array`);
  }
  if (file.exif !== undefined && !isTiffHeader(file.exif)) {
    invalid('exif must start with a TIFF header ("II*\\0" or "MM\\0*"); strip any "Exif\\0\\0" prefix');
  }

  const w = new ChunkWriter();
  w.add(CHUNK.HEAD, encodeHead(file.header));
  if (file.preview !== undefined) w.add(CHUNK.PREVIEW, ...encodePreview(file.preview));
  if (file.refine !== undefined) w.add(CHUNK.REFINE, encodeRefine(file.refine));
  if (file.source !== undefined) w.add(CHUNK.SOURCE, encodeSource(file.source));
  if (file.icc !== undefined) w.add(CHUNK.ICCP, file.icc);
  if (file.exif !== undefined) w.add(CHUNK.EXIF, file.exif);
  if (file.xmp !== undefined) w.add(CHUNK.XMP, file.xmp);
  w.add(CHUNK.ZSTR, file.zStream);
  file.yStreams.forEach((s, i) => {
    const idx = new Uint8Array(4);
    writeU32(idx, 0, i);
    w.add(CHUNK.YTIL, idx, s);
  });
  w.add(CHUNK.END);
  return w.finish();
}

/**
 * Parses and fully validates a file. Every failure is an SgaiError; when `salvage` would get
 * past it, the message says so. Returned byte arrays (streams, metadata, preview, weights
 * hash) are views into `bytes`, not copies: copy them if `bytes` will be reused.
 * A preview whose checksum fails is always skipped (decoding never needs it) and reported.
 */
export function decodeSgai(bytes: Uint8Array, options: ParseOptions = {}): DecodedSgai {
  try {
    return parse(bytes, options);
  } catch (e) {
    if (options.salvage || !(e instanceof SgaiError) || !SALVAGEABLE.has(e.code)) throw e;
    try {
      parse(bytes, { ...options, salvage: true });
    } catch {
      throw e; // salvage would not help either: the plain message is the right one
    }
    throw new SgaiError(e.code, `${e.message}; ${SALVAGE_HINT}`, { cause: e.cause });
  }
}

function parse(bytes: Uint8Array, options: ParseOptions): DecodedSgai {
  assertBytes(bytes);
  const salvage = options.salvage === true;
  const maxPixels = options.maxPixels === undefined ? Infinity : checkMaxPixels(options.maxPixels);
  const version = readPreamble(bytes);
  checkVersion(version);
  const strict = version.minor <= SGAI_MINOR;

  let result: DecodedSgai | undefined;
  let tiles = 0;
  let zStream: Uint8Array | undefined;
  const yStreams: Uint8Array[] = [];
  const seen = new Set<string>();
  const unknown: string[] = [];
  const skipped: SkippedChunk[] = [];
  const damagedTiles: number[] = [];
  const opt: Partial<SgaiFile> = {};

  const skip = (type: string, reason: string): void => void skipped.push({ chunk: type.trimEnd(), reason });
  /** Salvage: tile `yStreams.length` is unusable; the decoder will predict it. */
  const loseTile = (reason: string): void => {
    const t = yStreams.length;
    damagedTiles.push(t);
    yStreams.push(NO_STREAM);
    skipped.push({ chunk: 'YTIL', tile: t, reason });
  };
  /** Salvage: tiles from `yStreams.length` up to (not including) `to` are absent. */
  const loseTilesUpTo = (to: number, reason: string): void => {
    const from = yStreams.length;
    if (to <= from) return;
    // Bulk fills: a damaged header may claim a million tiles in a file that holds twelve.
    yStreams.length = to;
    yStreams.fill(NO_STREAM, from, to);
    const d = damagedTiles.length;
    damagedTiles.length = d + to - from;
    for (let t = from; t < to; t++) damagedTiles[d + t - from] = t;
    skipped.push(to - from === 1 ? { chunk: 'YTIL', tile: from, reason } : { chunk: 'YTIL', tile: from, lastTile: to - 1, reason });
  };
  /** Problems a salvage decode steps over; otherwise they end the parse. */
  const damaged = (type: string, err: SgaiError): void => {
    if (!salvage) throw err;
    skip(type, err.message.replace(/^the file is damaged: /, ''));
  };

  const chunks = iterateChunks(bytes);
  let stop: SgaiError | undefined;
  for (;;) {
    let next: IteratorResult<RawChunk, void>;
    try {
      next = chunks.next();
    } catch (e) {
      // Framing broke (truncation, unreadable type, trailing data): nothing after it is readable.
      if (!(e instanceof SgaiError)) throw e;
      stop = e;
      break;
    }
    if (next.done) break;
    const c = next.value;
    const label = chunkLabel(c.type, c.ordinal);
    if (!result) {
      // Nothing can be decoded without the header, in any mode.
      if (c.type !== CHUNK.HEAD) throw corrupt(`it does not start with a header (first chunk is ${label})`);
      if (!c.crcOk) throw new SgaiError('CHECKSUM', 'checksum mismatch in chunk HEAD: the file is damaged');
      const header = decodeHead(c.payload, strict);
      assertWithinPixelLimit(header, maxPixels);
      const g = tileGrid(header);
      tiles = g.tilesX * g.tilesY;
      seen.add(CHUNK.HEAD);
      result = { header, zStream: new Uint8Array(0), yStreams, unknownChunks: unknown, skipped, damagedTiles };
      continue;
    }
    if (!c.crcOk) {
      const err = new SgaiError('CHECKSUM', `checksum mismatch in chunk ${label}: the file is damaged`);
      // Every tile needs z (and a second header could be the real one): no salvage for these.
      if (c.type === CHUNK.ZSTR || c.type === CHUNK.HEAD) throw err;
      if (c.type === CHUNK.PREVIEW) {
        skip(c.type, 'checksum mismatch (the preview is damaged; the photo does not need it)');
      } else if (!salvage) {
        throw err;
      } else if (c.type === CHUNK.YTIL) {
        // Its tile number may be damaged too: it stands for the next tile in order.
        if (yStreams.length < tiles) loseTile('checksum mismatch');
        else skip(c.type, 'checksum mismatch in a tile beyond the image\'s tile count');
      } else {
        skip(c.type, KNOWN_CHUNK_TYPES.has(c.type) ? 'checksum mismatch' : 'checksum mismatch (unknown chunk type, perhaps itself damaged)');
      }
      continue;
    }
    if (SINGLETON_CHUNKS.has(c.type)) {
      if (seen.has(c.type)) {
        const err = corrupt(`it contains a second ${CHUNK_NAMES[c.type]} (chunk ${label})`);
        if (c.type === CHUNK.HEAD || c.type === CHUNK.ZSTR) throw err; // which one is real?
        damaged(c.type, err);
        continue;
      }
      seen.add(c.type);
    }
    switch (c.type) {
      case CHUNK.ZSTR:
        zStream = c.payload;
        break;
      case CHUNK.YTIL: {
        // Tile problems are reported once, as the tile the decoder will predict.
        const fail = (err: SgaiError): void => {
          if (!salvage) throw err;
        };
        if (c.length < 4) {
          fail(corrupt(`chunk ${label} is too short to hold a tile number`));
          if (yStreams.length < tiles) loseTile('too short to hold a tile number');
          break;
        }
        const idx = readU32(c.payload, 0);
        // Bounded by the header's grid, so a damaged file cannot make us collect without end.
        if (yStreams.length >= tiles) {
          fail(corrupt(`it has more tiles than the ${tiles} its image size implies`));
          skip(c.type, `an extra tile (number ${idx}) beyond the ${tiles} of the image`);
          break;
        }
        if (idx !== yStreams.length) {
          fail(corrupt(`tile ${idx} appears where tile ${yStreams.length} was expected`));
          // Salvage: a later tile means the ones in between are missing; an earlier or
          // impossible number is dropped.
          if (idx < yStreams.length || idx >= tiles) {
            skip(c.type, `tile number ${idx} is out of place (tile ${yStreams.length} was expected)`);
            break;
          }
          loseTilesUpTo(idx, 'missing');
        }
        yStreams.push(c.payload.subarray(4));
        break;
      }
      case CHUNK.END:
        if (c.length !== 0) damaged(c.type, corrupt(`the END chunk is not empty (it holds ${c.length} bytes)`));
        break;
      case CHUNK.ICCP:
        opt.icc = c.payload;
        break;
      case CHUNK.EXIF:
        if (!isTiffHeader(c.payload)) damaged(c.type, corrupt('the EXIF block does not start with a TIFF header'));
        else opt.exif = c.payload;
        break;
      case CHUNK.XMP:
        opt.xmp = c.payload;
        break;
      case CHUNK.REFINE:
        try {
          opt.refine = decodeRefine(c.payload);
        } catch (e) {
          if (!(e instanceof SgaiError)) throw e;
          damaged(c.type, e);
        }
        break;
      case CHUNK.SOURCE:
        try {
          opt.source = decodeSource(c.payload);
        } catch (e) {
          if (!(e instanceof SgaiError)) throw e;
          damaged(c.type, e);
        }
        break;
      case CHUNK.PREVIEW:
        try {
          opt.preview = decodePreview(c.payload);
        } catch (e) {
          if (!(e instanceof SgaiError)) throw e;
          damaged(c.type, e);
        }
        break;
      default:
        if (isRequiredType(c.type)) {
          // Intact and unknown: a newer feature, not damage; salvage cannot guess at it.
          throw new SgaiError(
            'UNKNOWN_REQUIRED_CHUNK',
            `this file needs a feature this sgai does not have (chunk ${c.type.trimEnd()}); update sgai to open it`,
          );
        }
        if (!unknown.includes(c.type)) unknown.push(c.type);
    }
  }

  if (stop) {
    // Salvage keeps what came before the break, provided the header and z stream did.
    if (!salvage || !result || !zStream) throw stop;
    skipped.push({ chunk: 'tail', reason: stop.message });
  }
  if (!result) throw corrupt('it has no header'); // only reachable through `stop`, kept for the type checker
  if (!zStream) throw corrupt('the z stream (chunk ZSTR) is missing');
  if (yStreams.length !== tiles) {
    if (!salvage) throw corrupt(`only ${yStreams.length} of its ${tiles} tiles are present`);
    loseTilesUpTo(tiles, stop ? 'missing (the file breaks off before it)' : 'missing');
  }
  result.zStream = zStream;
  return Object.assign(result, opt);
}
