/**
 * .sgai v1 reader and writer: what each chunk means, which chunks must appear, and in what
 * order. Layout and rules are specified in docs/format.md.
 */
import { SgaiError } from '../errors';
import {
  assertBytes,
  CHUNK,
  ChunkWriter,
  chunkLabel,
  checkVersion,
  isRequiredType,
  iterateChunks,
  readPreamble,
  readU32,
  SGAI_MINOR,
  writeU32,
} from './chunks';
import { tileGrid } from './grid';
import {
  decodeHead,
  decodePreview,
  decodeRefine,
  encodeHead,
  encodePreview,
  encodeRefine,
  isTiffHeader,
  validateHeaderArg,
} from './payloads';
import type { SgaiFile } from './types';

export type DecodedSgai = SgaiFile & {
  /** Types of unknown optional chunks that were skipped, each listed once, in file order. */
  unknownChunks: string[];
};

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

const SINGLETON_NAMES: Record<string, string> = {
  [CHUNK.HEAD]: 'header',
  [CHUNK.ZSTR]: 'z stream',
  [CHUNK.ICCP]: 'ICC profile',
  [CHUNK.EXIF]: 'EXIF block',
  [CHUNK.XMP]: 'XMP packet',
  [CHUNK.REFINE]: 'refinement record',
  [CHUNK.PREVIEW]: 'preview',
};

/**
 * Parses and fully validates a file. Every failure is an SgaiError. Returned byte arrays
 * (streams, metadata, preview, weights hash) are views into `bytes`, not copies: copy them if
 * `bytes` will be reused.
 */
export function decodeSgai(bytes: Uint8Array): DecodedSgai {
  assertBytes(bytes);
  const version = readPreamble(bytes);
  checkVersion(version);
  const strict = version.minor <= SGAI_MINOR;

  let result: DecodedSgai | undefined;
  let tiles = 0;
  let zStream: Uint8Array | undefined;
  const yStreams: Uint8Array[] = [];
  const seen = new Set<string>();
  const unknown: string[] = [];
  const opt: Partial<SgaiFile> = {};

  for (const c of iterateChunks(bytes)) {
    const label = chunkLabel(c.type, c.ordinal);
    if (!c.crcOk) throw new SgaiError('CHECKSUM', `checksum mismatch in chunk ${label}: the file is damaged`);
    if (!result && c.type !== CHUNK.HEAD) throw corrupt(`it does not start with a header (first chunk is ${label})`);
    if (Object.hasOwn(SINGLETON_NAMES, c.type)) {
      if (seen.has(c.type)) throw corrupt(`it contains a second ${SINGLETON_NAMES[c.type]} (chunk ${label})`);
      seen.add(c.type);
    }
    switch (c.type) {
      case CHUNK.HEAD: {
        const header = decodeHead(c.payload, strict);
        const g = tileGrid(header);
        tiles = g.tilesX * g.tilesY;
        result = { header, zStream: new Uint8Array(0), yStreams, unknownChunks: unknown };
        break;
      }
      case CHUNK.ZSTR:
        zStream = c.payload;
        break;
      case CHUNK.YTIL: {
        if (c.length < 4) throw corrupt(`chunk ${label} is too short to hold a tile number`);
        const idx = readU32(c.payload, 0);
        // Bounded by the header's grid, so a damaged file cannot make us collect without end.
        if (yStreams.length >= tiles) throw corrupt(`it has more tiles than the ${tiles} its image size implies`);
        if (idx !== yStreams.length) throw corrupt(`tile ${idx} appears where tile ${yStreams.length} was expected`);
        yStreams.push(c.payload.subarray(4));
        break;
      }
      case CHUNK.END:
        if (c.length !== 0) throw corrupt(`the END chunk is not empty (it holds ${c.length} bytes)`);
        break;
      case CHUNK.ICCP:
        opt.icc = c.payload;
        break;
      case CHUNK.EXIF:
        if (!isTiffHeader(c.payload)) throw corrupt('the EXIF block does not start with a TIFF header');
        opt.exif = c.payload;
        break;
      case CHUNK.XMP:
        opt.xmp = c.payload;
        break;
      case CHUNK.REFINE:
        opt.refine = decodeRefine(c.payload);
        break;
      case CHUNK.PREVIEW:
        opt.preview = decodePreview(c.payload);
        break;
      default:
        if (isRequiredType(c.type)) {
          throw new SgaiError(
            'UNKNOWN_REQUIRED_CHUNK',
            `this file needs a feature this sgai does not have (chunk ${c.type.trimEnd()}); update sgai to open it`,
          );
        }
        if (!unknown.includes(c.type)) unknown.push(c.type);
    }
  }

  // iterateChunks only returns normally after END, and END cannot come first.
  if (!result) throw corrupt('it has no header');
  if (!zStream) throw corrupt('the z stream (chunk ZSTR) is missing');
  if (yStreams.length !== tiles) throw corrupt(`only ${yStreams.length} of its ${tiles} tiles are present`);
  result.zStream = zStream;
  return Object.assign(result, opt);
}
