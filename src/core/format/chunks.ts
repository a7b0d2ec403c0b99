/**
 * Container framing shared by the reader, the writer and `sgai info`: the file signature,
 * the version bytes and the chunk envelope (type, length, payload, CRC). Nothing here knows
 * what a chunk means; see sgai.ts for that.
 */
import { SgaiError } from '../errors';
import { crc32 } from './crc32';

export const SGAI_MAJOR = 1,
  SGAI_MINOR = 1; // 1.1 adds the optional source record (srci)

/**
 * 0x89 (high bit: catches 7-bit transfers and keeps text tools from calling it text), "SGAI",
 * CR LF (catches newline conversion), 0x1A (Ctrl-Z stops `type` on Windows).
 */
export const SIGNATURE: Readonly<Uint8Array> = Uint8Array.of(0x89, 0x53, 0x47, 0x41, 0x49, 0x0d, 0x0a, 0x1a);
/** Signature + major + minor. */
export const PREAMBLE_SIZE = SIGNATURE.length + 2;
/** Bytes each chunk adds around its payload: type (4) + length (4) + CRC (4). */
export const CHUNK_OVERHEAD = 12;
export const MAX_PAYLOAD = 0xffff_ffff;

export const CHUNK = {
  HEAD: 'HEAD',
  ZSTR: 'ZSTR',
  YTIL: 'YTIL',
  END: 'END ', // four-character codes pad short names with a space, as ICC and QuickTime do
  ICCP: 'iccp',
  EXIF: 'exif',
  XMP: 'xmpm',
  REFINE: 'refn',
  PREVIEW: 'prev',
  SOURCE: 'srci',
} as const;

export const KNOWN_CHUNK_TYPES: ReadonlySet<string> = new Set(Object.values(CHUNK));

/** What each chunk holds, in words, for messages and `sgai info`. */
export const CHUNK_NAMES: Readonly<Record<string, string>> = {
  [CHUNK.HEAD]: 'header',
  [CHUNK.ZSTR]: 'z stream',
  [CHUNK.YTIL]: 'y stream',
  [CHUNK.END]: 'end marker',
  [CHUNK.ICCP]: 'ICC profile',
  [CHUNK.EXIF]: 'EXIF',
  [CHUNK.XMP]: 'XMP',
  [CHUNK.REFINE]: 'refinement record',
  [CHUNK.PREVIEW]: 'preview',
  [CHUNK.SOURCE]: 'source record',
};

/** Chunk types a file holds at most once (END's count is checked separately). */
export const SINGLETON_CHUNKS: ReadonlySet<string> = new Set([
  CHUNK.HEAD, CHUNK.ZSTR, CHUNK.ICCP, CHUNK.EXIF, CHUNK.XMP, CHUNK.REFINE, CHUNK.PREVIEW, CHUNK.SOURCE,
]);

/** Uppercase first letter = a reader must understand the chunk to decode the file. */
export function isRequiredType(type: string): boolean {
  const c = type.charCodeAt(0);
  return c >= 0x41 && c <= 0x5a;
}

/** Human label: "YTIL #3", "ZSTR", "END". Numbering only where the type can repeat. */
export function chunkLabel(type: string, ordinal: number): string {
  const name = type.trimEnd();
  return type === CHUNK.YTIL || ordinal > 1 ? `${name} #${ordinal}` : name;
}

const isLetter = (b: number): boolean => (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;

/**
 * A valid type is a letter followed by three letters/digits, optionally space-padded at the
 * end. Anything else means the framing went off the rails, so we stop rather than guess.
 */
function typeAt(bytes: Uint8Array, off: number): string | null {
  if (!isLetter(bytes[off])) return null;
  let padded = false;
  for (let i = 1; i < 4; i++) {
    const b = bytes[off + i];
    if (b === 0x20) padded = true;
    else if (padded || !(isLetter(b) || isDigit(b))) return null;
  }
  return String.fromCharCode(bytes[off], bytes[off + 1], bytes[off + 2], bytes[off + 3]);
}

export function readU16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}
export function readU32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
export function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}
export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

export function assertBytes(bytes: unknown): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new SgaiError('INVALID_ARGUMENT', 'expected the file contents as a Uint8Array or Buffer');
  }
}

export interface Version {
  major: number;
  minor: number;
}

/** Checks the signature and returns the version bytes; does not judge the version. */
export function readPreamble(bytes: Uint8Array): Version {
  const n = Math.min(bytes.length, SIGNATURE.length);
  for (let i = 0; i < n; i++) {
    if (bytes[i] !== SIGNATURE[i]) throw new SgaiError('BAD_MAGIC', 'this is not an .sgai file (its signature does not match)');
  }
  if (bytes.length < PREAMBLE_SIZE) {
    // A prefix of a real signature is far more likely a cut-off download than another format.
    throw new SgaiError(
      'TRUNCATED',
      bytes.length === 0
        ? 'file is empty'
        : `file is truncated (the file header needs ${PREAMBLE_SIZE} bytes, ${bytes.length} present)`,
    );
  }
  return { major: bytes[SIGNATURE.length], minor: bytes[SIGNATURE.length + 1] };
}

/** Only the major version gates reading; newer minors add nothing an old reader must know. */
export function checkVersion(v: Version): void {
  if (v.major === SGAI_MAJOR) return;
  const fmt = `${v.major}.${v.minor}`;
  throw new SgaiError(
    'UNSUPPORTED_VERSION',
    v.major > SGAI_MAJOR
      ? `this file was made by a newer sgai (format ${fmt}); update sgai to open it`
      : `this file uses format ${fmt}, which this sgai cannot read (it reads format ${SGAI_MAJOR}.x)`,
  );
}

export interface RawChunk {
  type: string;
  /** Offset of the chunk's type field in the file. */
  offset: number;
  /** Payload length in bytes (framing excluded). */
  length: number;
  /** View into the input, not a copy. */
  payload: Uint8Array;
  crcOk: boolean;
  /** 1-based count of chunks of this type so far, for messages. */
  ordinal: number;
}

/**
 * Walks the chunks after the preamble, checking framing only (CRC is reported, not enforced,
 * so `sgai info` can show damaged chunks). Stops after END; throws TRUNCATED if the bytes run
 * out first, CORRUPT for an unreadable chunk type or for bytes after END.
 */
export function* iterateChunks(bytes: Uint8Array): Generator<RawChunk, void, void> {
  const counts = new Map<string, number>();
  let off = PREAMBLE_SIZE;
  let last = '';
  for (;;) {
    const left = bytes.length - off;
    if (left === 0) {
      throw new SgaiError(
        'TRUNCATED',
        last ? `file is truncated (it ends after chunk ${last}, before the END chunk)` : 'file is truncated (it holds no chunks)',
      );
    }
    if (left < 8) {
      throw new SgaiError('TRUNCATED', `file is truncated (the chunk at byte ${off} needs at least ${CHUNK_OVERHEAD} bytes, ${left} left)`);
    }
    const type = typeAt(bytes, off);
    if (type === null) {
      const hex = Array.from(bytes.subarray(off, off + 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
      throw new SgaiError('CORRUPT', `the file is damaged: no valid chunk at byte ${off} (type bytes ${hex})`);
    }
    const ordinal = (counts.get(type) ?? 0) + 1;
    counts.set(type, ordinal);
    const label = chunkLabel(type, ordinal);
    const length = readU32(bytes, off + 4);
    // Compare before slicing anything: a damaged length must not drive an allocation.
    if (length > left - CHUNK_OVERHEAD) {
      throw new SgaiError('TRUNCATED', `file is truncated (chunk ${label} needs ${length + CHUNK_OVERHEAD} bytes, ${left} left)`);
    }
    const end = off + 8 + length;
    const crcOk = crc32(bytes.subarray(off, end)) === readU32(bytes, end);
    yield { type, offset: off, length, payload: bytes.subarray(off + 8, end), crcOk, ordinal };
    off = end + 4;
    last = label;
    if (type === CHUNK.END) break;
  }
  if (off !== bytes.length) {
    throw new SgaiError('CORRUPT', `the file is damaged: ${bytes.length - off} bytes of trailing data after the END chunk`);
  }
}

/** Collects chunks and lays them out in one allocation. */
export class ChunkWriter {
  private readonly chunks: { type: string; parts: Uint8Array[]; length: number }[] = [];
  private total = PREAMBLE_SIZE;

  /** `parts` are concatenated to form the payload (saves copying a stream just to prefix it). */
  add(type: string, ...parts: Uint8Array[]): void {
    const length = parts.reduce((s, p) => s + p.length, 0);
    if (length > MAX_PAYLOAD) {
      throw new SgaiError('INVALID_ARGUMENT', `chunk ${type.trimEnd()} would hold ${length} bytes; the format allows at most ${MAX_PAYLOAD}`);
    }
    this.chunks.push({ type, parts, length });
    this.total += length + CHUNK_OVERHEAD;
  }

  finish(major = SGAI_MAJOR, minor = SGAI_MINOR): Uint8Array {
    const out = new Uint8Array(this.total);
    out.set(SIGNATURE, 0);
    out[SIGNATURE.length] = major;
    out[SIGNATURE.length + 1] = minor;
    let off = PREAMBLE_SIZE;
    for (const c of this.chunks) {
      const start = off;
      for (let i = 0; i < 4; i++) out[off + i] = c.type.charCodeAt(i);
      writeU32(out, off + 4, c.length);
      off += 8;
      for (const p of c.parts) {
        out.set(p, off);
        off += p.length;
      }
      writeU32(out, off, crc32(out.subarray(start, off)));
      off += 4;
    }
    return out;
  }
}

export interface ChunkInfo {
  type: string;
  /** Offset of the chunk's type field from the start of the file. */
  offset: number;
  /** Payload length (excluding the 12 framing bytes). */
  length: number;
  required: boolean;
  crcOk: boolean;
  known: boolean;
}

export interface ChunkListing {
  version: Version;
  chunks: ChunkInfo[];
  /** Why listing stopped before a clean END (truncation, unreadable chunk, trailing data). */
  error?: SgaiError;
}

/**
 * Chunk table for `sgai info`. Tolerant: CRC failures are flagged per chunk, and a framing
 * problem ends the list with `error` set instead of throwing. Throws only when the file is not
 * an .sgai file or its major version is unknown (its framing could differ).
 */
export function listChunks(bytes: Uint8Array): ChunkListing {
  assertBytes(bytes);
  const version = readPreamble(bytes);
  checkVersion(version);
  const chunks: ChunkInfo[] = [];
  try {
    for (const c of iterateChunks(bytes)) {
      chunks.push({
        type: c.type,
        offset: c.offset,
        length: c.length,
        required: isRequiredType(c.type),
        crcOk: c.crcOk,
        known: KNOWN_CHUNK_TYPES.has(c.type),
      });
    }
  } catch (e) {
    if (!(e instanceof SgaiError)) throw e;
    return { version, chunks, error: e };
  }
  return { version, chunks };
}

/**
 * Bytes per chunk type including the 12 framing bytes, plus `signature` (the 10-byte preamble)
 * and, for damaged files, `unparsed` (whatever could not be framed). Values sum to the file size.
 */
export function sizeBreakdown(bytes: Uint8Array): Record<string, number> {
  const { chunks } = listChunks(bytes);
  const out: Record<string, number> = { signature: PREAMBLE_SIZE };
  let used = PREAMBLE_SIZE;
  for (const c of chunks) {
    const n = c.length + CHUNK_OVERHEAD;
    out[c.type] = (out[c.type] ?? 0) + n;
    used += n;
  }
  if (used < bytes.length) out.unparsed = bytes.length - used;
  return out;
}
