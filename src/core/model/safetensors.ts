/**
 * A strict .safetensors reader. Weights decide what the codec writes, so a damaged or
 * mismatched file must be refused with a clear message rather than silently misread.
 *
 * Layout: u64 LE header length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__},
 * then the data buffer that the offsets index into.
 */
import { SgaiError } from '../errors';

export type SafeDtype = 'F32' | 'F16' | 'F64' | 'BF16';
const DTYPE_BYTES: Record<SafeDtype, number> = { F32: 4, F16: 2, F64: 8, BF16: 2 };
const MAX_HEADER = 16 * 1024 * 1024;

export interface SafeTensor {
  dtype: SafeDtype;
  shape: number[];
  /** Values widened to float32 (float16/bfloat16 are exactly representable). */
  data: Float32Array;
}

export interface SafeTensorsFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

function bad(source: string, why: string): SgaiError {
  return new SgaiError('BAD_WEIGHTS', `model weights ${source} are unusable: ${why}`);
}

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

export function parseSafeTensors(bytes: Uint8Array, source = '(buffer)'): SafeTensorsFile {
  if (bytes.length < 8) throw bad(source, 'file is shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > MAX_HEADER || 8 + headerLen > bytes.length) {
    throw bad(source, `header length ${headerLen} does not fit in a ${bytes.length}-byte file (truncated?)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw bad(source, `header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw bad(source, 'header is not a JSON object');
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const tensors = new Map<string, SafeTensor>();
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null) throw bad(source, '__metadata__ is not an object');
      metadata = Object.fromEntries(Object.entries(entry).map(([k, v]) => [k, String(v)]));
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) {
      throw bad(source, `tensor ${name} has unsupported dtype ${String(e.dtype)} (need F32, F16, BF16 or F64)`);
    }
    const dtype = e.dtype as SafeDtype;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw bad(source, `tensor ${name} has an invalid shape`);
    }
    const shape = e.shape as number[];
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0)) {
      throw bad(source, `tensor ${name} has invalid data_offsets`);
    }
    const [begin, end] = offs as [number, number];
    const count = shape.reduce((a, b) => a * b, 1);
    if (end < begin || end > dataLen) throw bad(source, `tensor ${name} points outside the file (truncated?)`);
    if (end - begin !== count * DTYPE_BYTES[dtype]) {
      throw bad(source, `tensor ${name}: ${end - begin} bytes do not match shape [${shape}] of ${dtype}`);
    }
    spans.push([begin, end, name]);
    const raw = bytes.subarray(dataStart + begin, dataStart + end);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      if (dtype === 'F32') data[i] = dv.getFloat32(i * 4, true);
      else if (dtype === 'F64') data[i] = dv.getFloat64(i * 8, true);
      else if (dtype === 'F16') data[i] = f16ToF32(dv.getUint16(i * 2, true));
      else data[i] = new Float32Array(new Uint32Array([dv.getUint16(i * 2, true) << 16]).buffer)[0];
      if (!Number.isFinite(data[i])) throw bad(source, `tensor ${name} contains NaN or infinity`);
    }
    tensors.set(name, { dtype, shape, data });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][0] < spans[i - 1][1]) throw bad(source, `tensors ${spans[i - 1][2]} and ${spans[i][2]} overlap`);
  }
  return { tensors, metadata };
}

/** Fetch a tensor and check its shape; the message names what the model expected. */
export function expectTensor(file: SafeTensorsFile, name: string, shape: number[], source = '(buffer)'): Float32Array {
  const t = file.tensors.get(name);
  if (!t) throw bad(source, `tensor ${name} is missing (is this a mean-scale hyperprior checkpoint?)`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw bad(source, `tensor ${name} has shape [${t.shape}], the model needs [${shape}]`);
  }
  return t.data;
}
