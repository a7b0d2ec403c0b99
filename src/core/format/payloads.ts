/**
 * Byte layouts of the structured chunk payloads (HEAD, prev, refn) and the checks shared by
 * writer and reader. Each check yields a plain-language problem; the writer reports it as
 * INVALID_ARGUMENT (caller bug), the reader as CORRUPT (damaged or foreign file).
 */
import { SgaiError } from '../errors';
import { CHUNK, readU16, readU32, writeU16, writeU32 } from './chunks';
import type { RefineRecord, SgaiHeader, SgaiPreview, SourceRecord } from './types';

export const MAX_MODEL_ID_BYTES = 64;
export const SHA256_BYTES = 32;
export const MAX_DIMENSION = 65535;
export const MIN_TILE = 64;
export const MAX_TILE = 8192;
/** HEAD payload size without the model id bytes. */
export const HEAD_FIXED_BYTES = 1 + SHA256_BYTES + 4 * 3 + 2 * 2 + 3;
export const FLAG_HAD_ALPHA = 0x01;
export const PREVIEW_MIMES: readonly SgaiPreview['mime'][] = ['image/webp', 'image/jpeg'];

const utf8 = new TextEncoder();
// fatal: bad UTF-8 is damage, not something to paper over with U+FFFD.
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const isInt = (v: unknown, lo: number, hi: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

function corrupt(what: string, cause?: unknown): SgaiError {
  return new SgaiError('CORRUPT', `the file is damaged: ${what}`, cause === undefined ? undefined : { cause });
}

/** Bounds-checked little-endian reader over one payload. */
class Cursor {
  pos = 0;
  constructor(
    private readonly b: Uint8Array,
    private readonly chunk: string,
  ) {}
  private need(n: number): void {
    if (this.b.length - this.pos < n) throw corrupt(`chunk ${this.chunk} is shorter than its contents require`);
  }
  u8(): number {
    this.need(1);
    return this.b[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = readU16(this.b, this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = readU32(this.b, this.pos);
    this.pos += 4;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    return this.b.subarray(this.pos, (this.pos += n));
  }
  rest(): Uint8Array {
    return this.bytes(this.b.length - this.pos);
  }
  get left(): number {
    return this.b.length - this.pos;
  }
}

function decodeUtf8(b: Uint8Array, what: string): string {
  try {
    return utf8Strict.decode(b);
  } catch (e) {
    throw corrupt(`${what} is not valid UTF-8 text`, e);
  }
}

// ---------------------------------------------------------------- HEAD

/** First problem with a header's values, or null. Types are trusted; ranges are not. */
function headerProblem(h: SgaiHeader): string | null {
  const idBytes = utf8.encode(h.modelId).length;
  if (idBytes < 1 || idBytes > MAX_MODEL_ID_BYTES) return `model id must be 1..${MAX_MODEL_ID_BYTES} bytes of UTF-8 (is ${idBytes})`;
  if (h.weightsSha256.length !== SHA256_BYTES) return `weights SHA-256 must be ${SHA256_BYTES} bytes (is ${h.weightsSha256.length})`;
  if (!isInt(h.width, 1, MAX_DIMENSION)) return `image width ${h.width} is outside 1..${MAX_DIMENSION} pixels`;
  if (!isInt(h.height, 1, MAX_DIMENSION)) return `image height ${h.height} is outside 1..${MAX_DIMENSION} pixels`;
  if (!isInt(h.tileSize, MIN_TILE, MAX_TILE) || h.tileSize % 64 !== 0) {
    return `tile size ${h.tileSize} is not a multiple of 64 in ${MIN_TILE}..${MAX_TILE}`;
  }
  if (!isInt(h.channelsN, 1, 0xffff)) return `z channel count ${h.channelsN} is outside 1..65535`;
  if (!isInt(h.channelsM, 1, 0xffff)) return `y channel count ${h.channelsM} is outside 1..65535`;
  if (h.sourceBitDepth !== 8 && h.sourceBitDepth !== 16) return `source bit depth ${h.sourceBitDepth} is not 8 or 16`;
  if (!isInt(h.originalOrientation, 1, 8)) return `EXIF orientation ${h.originalOrientation} is outside 1..8`;
  return null;
}

export function validateHeaderArg(h: unknown): asserts h is SgaiHeader {
  const bad = (what: string): never => {
    throw new SgaiError('INVALID_ARGUMENT', `invalid .sgai header: ${what}`);
  };
  if (typeof h !== 'object' || h === null) bad('missing');
  const x = h as Record<string, unknown>;
  if (typeof x.modelId !== 'string') bad('model id must be a string');
  const id = x.modelId as string;
  // A lone surrogate would silently become U+FFFD and no longer match the installed model.
  if (utf8Strict.decode(utf8.encode(id)) !== id) bad('model id is not well-formed Unicode');
  if (!(x.weightsSha256 instanceof Uint8Array)) bad('weights SHA-256 must be a Uint8Array');
  for (const k of ['width', 'height', 'tileSize', 'channelsN', 'channelsM', 'sourceBitDepth', 'originalOrientation']) {
    if (typeof x[k] !== 'number') bad(`${k} must be a number`);
  }
  if (typeof x.hadAlpha !== 'boolean') bad('hadAlpha must be a boolean');
  const p = headerProblem(x as unknown as SgaiHeader);
  if (p) bad(p);
}

export function encodeHead(h: SgaiHeader): Uint8Array {
  const id = utf8.encode(h.modelId);
  const out = new Uint8Array(HEAD_FIXED_BYTES + id.length);
  let o = 0;
  out[o++] = id.length;
  out.set(id, o);
  o += id.length;
  out.set(h.weightsSha256, o);
  o += SHA256_BYTES;
  writeU32(out, o, h.width);
  writeU32(out, o + 4, h.height);
  writeU32(out, o + 8, h.tileSize);
  writeU16(out, o + 12, h.channelsN);
  writeU16(out, o + 14, h.channelsM);
  o += 16;
  out[o++] = h.sourceBitDepth;
  out[o++] = h.hadAlpha ? FLAG_HAD_ALPHA : 0;
  out[o++] = h.originalOrientation;
  return out;
}

/**
 * `strict` (file's minor version <= ours): reserved flag bits and extra trailing bytes are
 * damage. For newer minors they are how later versions extend HEAD, so we ignore them.
 */
export function decodeHead(payload: Uint8Array, strict: boolean): SgaiHeader {
  const c = new Cursor(payload, CHUNK.HEAD);
  const idLen = c.u8();
  const modelId = decodeUtf8(c.bytes(idLen), 'the model id');
  const weightsSha256 = c.bytes(SHA256_BYTES);
  const width = c.u32();
  const height = c.u32();
  const tileSize = c.u32();
  const channelsN = c.u16();
  const channelsM = c.u16();
  const sourceBitDepth = c.u8() as 8 | 16;
  const flags = c.u8();
  const originalOrientation = c.u8();
  if (strict && c.left !== 0) throw corrupt(`chunk HEAD has ${c.left} unexpected extra bytes`);
  if (strict && (flags & ~FLAG_HAD_ALPHA) !== 0) throw corrupt(`reserved header flags are set (0x${flags.toString(16)})`);
  const h: SgaiHeader = {
    modelId,
    weightsSha256,
    width,
    height,
    tileSize,
    channelsN,
    channelsM,
    sourceBitDepth,
    hadAlpha: (flags & FLAG_HAD_ALPHA) !== 0,
    originalOrientation,
  };
  const p = headerProblem(h);
  if (p) throw corrupt(p);
  return h;
}

// ---------------------------------------------------------------- prev

function previewProblem(p: SgaiPreview): string | null {
  if (!isInt(p.width, 1, 0xffff) || !isInt(p.height, 1, 0xffff)) {
    return `preview size ${p.width}x${p.height} is outside 1..65535`;
  }
  if (!PREVIEW_MIMES.includes(p.mime)) return `preview type "${p.mime}" is not one of ${PREVIEW_MIMES.join(', ')}`;
  if (p.data.length === 0) return 'preview image is empty';
  return null;
}

export function encodePreview(p: SgaiPreview): Uint8Array[] {
  if (typeof p !== 'object' || p === null || !(p.data instanceof Uint8Array)) {
    throw new SgaiError('INVALID_ARGUMENT', 'invalid preview: expected { width, height, mime, data: Uint8Array }');
  }
  const problem = previewProblem(p);
  if (problem) throw new SgaiError('INVALID_ARGUMENT', `invalid preview: ${problem}`);
  const mime = utf8.encode(p.mime);
  const head = new Uint8Array(5 + mime.length);
  writeU16(head, 0, p.width);
  writeU16(head, 2, p.height);
  head[4] = mime.length;
  head.set(mime, 5);
  return [head, p.data];
}

export function decodePreview(payload: Uint8Array): SgaiPreview {
  const c = new Cursor(payload, CHUNK.PREVIEW);
  const width = c.u16();
  const height = c.u16();
  const mime = decodeUtf8(c.bytes(c.u8()), 'the preview type') as SgaiPreview['mime'];
  const p: SgaiPreview = { width, height, mime, data: c.rest() };
  const problem = previewProblem(p);
  if (problem) throw corrupt(problem);
  return p;
}

// ---------------------------------------------------------------- refn

function refineProblem(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'refinement record is not a JSON object';
  const r = v as Record<string, unknown>;
  if (typeof r.method !== 'string') return 'refinement record has no "method" text';
  if (typeof r.lambda !== 'number' || !Number.isFinite(r.lambda)) return 'refinement record has no numeric "lambda"';
  if (!isInt(r.iterations, 0, Number.MAX_SAFE_INTEGER)) return 'refinement record has no whole-number "iterations"';
  return null;
}

export function encodeRefine(r: RefineRecord | null): Uint8Array {
  if (r !== null) {
    const problem = refineProblem(r);
    if (problem) throw new SgaiError('INVALID_ARGUMENT', `invalid refine: ${problem}`);
  }
  let json: string;
  try {
    json = JSON.stringify(r);
  } catch (e) {
    throw new SgaiError('INVALID_ARGUMENT', 'invalid refine: the record cannot be written as JSON', { cause: e });
  }
  return utf8.encode(json);
}

/** A JSON chunk's value; invalid UTF-8 or JSON is CORRUPT, naming `what`. */
function parseJsonChunk(payload: Uint8Array, what: string): unknown {
  const text = decodeUtf8(payload, what);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw corrupt(`${what} is not valid JSON`, e);
  }
}

export function decodeRefine(payload: Uint8Array): RefineRecord | null {
  const v = parseJsonChunk(payload, 'the refinement record');
  if (v === null) return null;
  const problem = refineProblem(v);
  if (problem) throw corrupt(problem);
  return v as RefineRecord;
}

// ---------------------------------------------------------------- srci

function sourceProblem(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'source record is not a JSON object';
  const r = v as Record<string, unknown>;
  if (typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256)) return 'source record has no "sha256" of 64 lowercase hex digits';
  if (!isInt(r.bytes, 0, Number.MAX_SAFE_INTEGER)) return 'source record has no whole-number "bytes"';
  return null;
}

export function encodeSource(r: SourceRecord): Uint8Array {
  const problem = sourceProblem(r);
  if (problem) throw new SgaiError('INVALID_ARGUMENT', `invalid source: ${problem}`);
  try {
    return utf8.encode(JSON.stringify(r));
  } catch (e) {
    throw new SgaiError('INVALID_ARGUMENT', 'invalid source: the record cannot be written as JSON', { cause: e });
  }
}

export function decodeSource(payload: Uint8Array): SourceRecord {
  const v = parseJsonChunk(payload, 'the source record');
  const problem = sourceProblem(v);
  if (problem) throw corrupt(problem);
  return v as SourceRecord;
}

// ---------------------------------------------------------------- exif

/** EXIF must start at the TIFF header; callers often pass the JPEG "Exif\0\0" prefix by mistake. */
export function isTiffHeader(b: Uint8Array): boolean {
  if (b.length < 8) return false;
  return (b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0x00) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0x00 && b[3] === 0x2a);
}
