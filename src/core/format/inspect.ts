/**
 * `sgai info` for damaged files: every chunk the framing reaches, each with its checksum
 * status and any problem in plain words, where the walk stops and why, and a verdict on what
 * `sgai decode` (with or without --salvage) can do with the file. Never throws for damaged
 * content; the verdict comes from the real parser, so it cannot disagree with the decoder.
 *
 * It checks the container only: damage behind a valid checksum inside a z/y stream shows up
 * when the streams are entropy-decoded (which needs the model), not here.
 */
import { SgaiError, type SgaiErrorCode } from '../errors';
import {
  assertBytes,
  CHUNK,
  CHUNK_NAMES,
  CHUNK_OVERHEAD,
  chunkLabel,
  isRequiredType,
  iterateChunks,
  KNOWN_CHUNK_TYPES,
  PREAMBLE_SIZE,
  readPreamble,
  readU32,
  SGAI_MAJOR,
  SGAI_MINOR,
  type RawChunk,
  SINGLETON_CHUNKS,
} from './chunks';
import { tileGrid } from './grid';
import { decodeHead, decodePreview, decodeRefine, decodeSource, isTiffHeader } from './payloads';
import { decodeSgai, type DecodedSgai, type SkippedChunk } from './sgai';
import type { SgaiHeader, TileGrid } from './types';

export interface InspectedChunk {
  /** Four-character type as stored ("END " keeps its space). */
  type: string;
  /** "HEAD", "YTIL #3", "prev": what messages call it. */
  label: string;
  /** Offset of the chunk's type field in the file. */
  offset: number;
  /** Payload length (the 12 framing bytes excluded). */
  length: number;
  required: boolean;
  known: boolean;
  crcOk: boolean;
  /** YTIL: the 0-based tile it holds (as stored; the expected one when its checksum fails). */
  tile?: number;
  /** What is wrong with it, in plain words; absent when nothing is. */
  problem?: string;
}

export interface SgaiInspection {
  /** File size in bytes. */
  size: number;
  /** 'ok'; 'mismatch': not an .sgai file; 'truncated': shorter than the 10-byte preamble. */
  signature: 'ok' | 'mismatch' | 'truncated';
  version?: { major: number; minor: number; supported: boolean };
  /** Every chunk the framing reaches, in file order. */
  chunks: InspectedChunk[];
  /** Where and why the walk ended before a clean END (truncation, unreadable chunk, trailing bytes). */
  stop?: { offset: number; code: SgaiErrorCode; reason: string };
  /** Present when the HEAD chunk is intact. */
  header?: SgaiHeader;
  grid?: TileGrid & { tiles: number };
  /** yes: `sgai decode` works; salvage: only `sgai decode --salvage`; no: nothing can be decoded. */
  decodable: 'yes' | 'salvage' | 'no';
  /** One or two plain sentences saying what is wrong and what can be done. */
  summary: string;
  /** What a decode leaves out: with decodable 'yes' (a damaged preview), or 'salvage'. */
  skipped: SkippedChunk[];
  /** Why a plain decode fails (decodable 'salvage' or 'no'). */
  error?: { code: SgaiErrorCode; message: string };
}

const plain = (m: string): string => m.replace(/^the file is damaged: /, '');

export function inspectSgai(bytes: Uint8Array): SgaiInspection {
  assertBytes(bytes);
  const base = { size: bytes.length, chunks: [] as InspectedChunk[], skipped: [] as SkippedChunk[] };
  let version: { major: number; minor: number };
  try {
    version = readPreamble(bytes);
  } catch (e) {
    if (!(e instanceof SgaiError)) throw e;
    const truncated = e.code === 'TRUNCATED';
    return {
      ...base,
      signature: truncated ? 'truncated' : 'mismatch',
      decodable: 'no',
      summary: truncated ? `${e.message}: nothing can be decoded` : 'this is not an .sgai file (its signature does not match)',
      error: { code: e.code, message: e.message },
    };
  }
  const supported = version.major === SGAI_MAJOR;
  if (!supported) {
    const fmt = `${version.major}.${version.minor}`;
    return {
      ...base,
      signature: 'ok',
      version: { ...version, supported },
      decodable: 'no',
      summary: version.major > SGAI_MAJOR ? `made by a newer sgai (format ${fmt}); update sgai to open it` : `format ${fmt} is not one this sgai reads`,
      error: { code: 'UNSUPPORTED_VERSION', message: `format ${fmt}` },
    };
  }

  const out: SgaiInspection = { ...base, signature: 'ok', version: { ...version, supported }, decodable: 'no', summary: '' };
  const walk = walkChunks(bytes, version.minor <= SGAI_MINOR);
  out.chunks = walk.chunks;
  if (walk.stop) out.stop = walk.stop;
  if (walk.header) {
    out.header = walk.header;
    const g = tileGrid(walk.header);
    out.grid = { ...g, tiles: g.tilesX * g.tilesY };
  }
  judge(bytes, out);
  return out;
}

interface Walk {
  chunks: InspectedChunk[];
  stop?: SgaiInspection['stop'];
  header?: SgaiHeader;
}

function walkChunks(bytes: Uint8Array, strict: boolean): Walk {
  const w: Walk = { chunks: [] };
  const seen = new Set<string>();
  let nextTile = 0;
  let end = PREAMBLE_SIZE;
  try {
    for (const c of iterateChunks(bytes)) {
      const info: InspectedChunk = {
        type: c.type,
        label: chunkLabel(c.type, c.ordinal),
        offset: c.offset,
        length: c.length,
        required: isRequiredType(c.type),
        known: KNOWN_CHUNK_TYPES.has(c.type),
        crcOk: c.crcOk,
      };
      if (c.type === CHUNK.YTIL) {
        info.tile = c.crcOk && c.length >= 4 ? readU32(c.payload, 0) : nextTile;
        nextTile = info.tile + 1;
      }
      const problem = c.crcOk ? payloadProblem(c, w, seen, strict) : 'checksum mismatch: the chunk is damaged';
      if (problem) info.problem = problem;
      if (c.crcOk && SINGLETON_CHUNKS.has(c.type)) seen.add(c.type);
      w.chunks.push(info);
      end = c.offset + c.length + CHUNK_OVERHEAD;
    }
  } catch (e) {
    if (!(e instanceof SgaiError)) throw e;
    w.stop = { offset: end, code: e.code, reason: plain(e.message) };
  }
  return w;
}

/** First problem with an intact (checksum-valid) chunk's content or place, or null. */
function payloadProblem(c: RawChunk, w: Walk, seen: Set<string>, strict: boolean): string | null {
  const first = w.chunks.length === 0;
  if (first && c.type !== CHUNK.HEAD) return 'the file must start with the header (chunk HEAD)';
  if (seen.has(c.type)) return `a second ${CHUNK_NAMES[c.type] ?? c.type.trimEnd()}: only one is allowed`;
  try {
    switch (c.type) {
      case CHUNK.HEAD:
        if (!first) return 'the header must be the first chunk';
        w.header = decodeHead(c.payload, strict);
        return null;
      case CHUNK.YTIL: {
        if (c.length < 4) return 'too short to hold a tile number';
        const idx = readU32(c.payload, 0);
        const expected = w.chunks.filter((x) => x.type === CHUNK.YTIL).length;
        return idx === expected ? null : `holds tile ${idx} where tile ${expected} was expected`;
      }
      case CHUNK.END:
        return c.length === 0 ? null : `the end marker should be empty but holds ${c.length} bytes`;
      case CHUNK.EXIF:
        return isTiffHeader(c.payload) ? null : 'the EXIF block does not start with a TIFF header';
      case CHUNK.REFINE:
        decodeRefine(c.payload);
        return null;
      case CHUNK.PREVIEW:
        decodePreview(c.payload);
        return null;
      case CHUNK.SOURCE:
        decodeSource(c.payload);
        return null;
      default:
        if (!KNOWN_CHUNK_TYPES.has(c.type) && isRequiredType(c.type)) {
          return 'a required chunk this sgai does not know: the file needs a newer sgai';
        }
        return null;
    }
  } catch (e) {
    if (!(e instanceof SgaiError)) throw e;
    return plain(e.message);
  }
}

/** The verdict, from the parser itself: plain decode, then salvage. */
function judge(bytes: Uint8Array, out: SgaiInspection): void {
  let plainRun: DecodedSgai | SgaiError;
  try {
    plainRun = decodeSgai(bytes);
  } catch (e) {
    if (!(e instanceof SgaiError)) throw e;
    plainRun = e;
  }
  if (!(plainRun instanceof SgaiError)) {
    out.decodable = 'yes';
    out.skipped = plainRun.skipped;
    // A plain decode skips only a damaged preview.
    out.summary = plainRun.skipped.length ? 'the preview chunk is damaged; the photo itself is intact' : 'the file is intact: every chunk checks out';
    return;
  }
  out.error = { code: plainRun.code, message: plainRun.message };
  let salvaged: DecodedSgai | undefined;
  try {
    salvaged = decodeSgai(bytes, { salvage: true });
  } catch (e) {
    if (!(e instanceof SgaiError)) throw e;
  }
  if (salvaged) {
    out.decodable = 'salvage';
    out.skipped = salvaged.skipped;
    out.summary = salvageSummary(salvaged, out.grid?.tiles ?? salvaged.yStreams.length);
    return;
  }
  out.decodable = 'no';
  out.summary = hopelessSummary(out, plainRun);
}

function describeSkip(s: SkippedChunk, tiles: number): string {
  if (s.chunk === 'YTIL' && s.tile !== undefined) {
    const what = s.reason.startsWith('missing') ? 'missing' : 'damaged';
    return s.lastTile !== undefined
      ? `tiles ${s.tile + 1}-${s.lastTile + 1} of ${tiles} are ${what}`
      : `tile ${s.tile + 1} of ${tiles} is ${what}`;
  }
  if (s.chunk === 'tail') return `the file breaks off (${s.reason})`;
  if (s.chunk === 'YTIL') return `a stray tile chunk is damaged`;
  const name = CHUNK_NAMES[s.chunk] ?? CHUNK_NAMES[`${s.chunk} `];
  return name ? `the ${name} chunk is damaged` : `an unknown ${s.chunk} chunk is damaged`;
}

function salvageSummary(f: DecodedSgai, tiles: number): string {
  const parts = f.skipped.map((s) => describeSkip(s, tiles));
  const lost = f.damagedTiles.length;
  const fill = lost === 0 ? '' : lost === 1 ? ", that tile is filled from the hyperprior's prediction" : `, those ${lost} tiles are filled from the hyperprior's prediction`;
  return `${parts.join('; ')}: \`sgai decode --salvage\` decodes the rest${fill}`;
}

function hopelessSummary(out: SgaiInspection, err: SgaiError): string {
  const bad = (type: string) => out.chunks.find((c) => c.type === type && c.problem);
  const head = out.chunks[0];
  if (!head || head.type !== CHUNK.HEAD || head.problem) {
    return out.chunks.length === 0 && out.stop
      ? `no chunk can be read (${out.stop.reason}): nothing can be decoded`
      : 'the header is damaged: nothing can be decoded';
  }
  if (err.code === 'UNKNOWN_REQUIRED_CHUNK') return err.message;
  if (err.code === 'IMAGE_TOO_LARGE') return err.message;
  if (bad(CHUNK.ZSTR)) return 'the z stream (chunk ZSTR), which every tile needs, is damaged: nothing can be decoded';
  if (!out.chunks.some((c) => c.type === CHUNK.ZSTR && !c.problem)) {
    return out.stop
      ? `the file breaks off before its z stream (${out.stop.reason}): nothing can be decoded`
      : 'the z stream (chunk ZSTR) is missing: nothing can be decoded';
  }
  return `${plain(err.message)}: the file cannot be decoded`;
}
