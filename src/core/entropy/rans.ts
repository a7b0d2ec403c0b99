/**
 * rANS entropy coder over quantized 16-bit CDF tables, with an escape path so that any int32 value
 * can be coded with any table.
 *
 * Stream layout (no header; the caller knows how many symbols and which tables):
 *   bytes 0..3   final encoder state, big-endian, in [2^23, 2^31)
 *   bytes 4..    renormalisation bytes in the order the decoder consumes them
 * The encoder starts from state 2^23 and runs backwards over the symbols; the decoder runs forwards and
 * must end in state 2^23 having consumed every byte, which is the stream's integrity check. Zero symbols
 * give the 4-byte stream 00 80 00 00.
 *
 * Coder: 32-bit state x in [L, 2^31) with L = 2^23, byte-wise renormalisation. With 16-bit frequencies
 * every intermediate stays below 2^31, so all arithmetic is exact int32/double arithmetic in JS.
 *
 * Escape: a value v coded with table t whose bin s = v - offsets[t] is outside [0, nbins-1) codes the
 * overflow bin, then through "bypass" symbols (uniform rANS symbols of w <= 16 bits):
 *   d = distance outside the range (0 = just outside), e = 2d + (below ? 1 : 0), u = e + 1 >= 1,
 *   k = floor(log2 u) <= 32;
 *   k in 4-bit chunks (15 = "15 more follow", the first chunk < 15 ends it), then
 *   the k low bits of u (its top bit is implicit) in 16-bit chunks, least significant chunk first.
 * An escape costs 4 + k bits (+4 per 15 beyond k=14); the decoder rejects k > 32 and values outside int32.
 */
import { SgaiError } from '../errors';

export const CDF_PRECISION = 16;

/**
 * A set of quantized CDF tables; a symbol is coded with table indexes[i]. The coder validates a table
 * object and caches lookup structures for it on first use, so treat it as immutable from then on.
 */
export interface CdfTable {
  /** per table: cumulative counts, cdfs[t][0]=0, last = 1<<16, strictly increasing; the last bin is the overflow/escape bin */
  cdfs: Uint32Array[];
  /** per table: value of the symbol stored in bin 0 */
  offsets: Int32Array;
}

const PROB_ONE = 1 << CDF_PRECISION;
const RANS_L = 1 << 23;
/** Encoder renormalises while x >= freq * ENC_FACTOR so that the coded state stays < 2^31. */
const ENC_FACTOR = (RANS_L >>> CDF_PRECISION) << 8;
/** Decoder lookup: 2^LUT_BITS buckets per table (2 KiB each), then a short forward scan. */
const LUT_BITS = 10;
const LUT_SHIFT = CDF_PRECISION - LUT_BITS;
const LUT_SIZE = 1 << LUT_BITS;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** Largest escape exponent: |value - range edge| < 2^32, so u = 2d + 1 + 1 < 2^33. */
const MAX_ESCAPE_BITS = 32;

/** Flattened, validated view of a CdfTable, cached per table object (tables are treated as immutable). */
interface Prepared {
  ntables: number;
  cdf: Int32Array; // all tables concatenated
  base: Int32Array; // index of table t's cdf[0] in `cdf`
  esc: Int32Array; // overflow bin index of table t (= number of in-range bins)
  offset: Int32Array;
  lut: Uint16Array | null; // built on first decode only
}

const prepared = new WeakMap<CdfTable, Prepared>();

function invalid(msg: string): never {
  throw new SgaiError('INVALID_ARGUMENT', msg);
}

function prepare(table: CdfTable): Prepared {
  const hit = prepared.get(table);
  if (hit !== undefined) return hit;
  if (table === null || typeof table !== 'object' || !Array.isArray(table.cdfs)) invalid('CDF table: cdfs must be an array');
  const { cdfs, offsets } = table;
  const ntables = cdfs.length;
  if (!(offsets instanceof Int32Array) || offsets.length !== ntables) {
    invalid(`CDF table: offsets must be an Int32Array with one entry per table (${ntables})`);
  }
  let total = 0;
  for (let t = 0; t < ntables; t++) {
    const c = cdfs[t];
    if (!(c instanceof Uint32Array)) invalid(`CDF table ${t}: not a Uint32Array`);
    if (c.length < 2 || c.length > PROB_ONE + 1) invalid(`CDF table ${t}: length ${c.length} outside [2, ${PROB_ONE + 1}]`);
    total += c.length;
  }
  const cdf = new Int32Array(total);
  const base = new Int32Array(ntables);
  const esc = new Int32Array(ntables);
  const offset = Int32Array.from(offsets);
  let at = 0;
  for (let t = 0; t < ntables; t++) {
    const c = cdfs[t];
    if (c[0] !== 0 || c[c.length - 1] !== PROB_ONE) invalid(`CDF table ${t}: must start at 0 and end at ${PROB_ONE}`);
    for (let i = 1; i < c.length; i++) {
      if (c[i] <= c[i - 1]) invalid(`CDF table ${t}: not strictly increasing at ${i}`);
    }
    base[t] = at;
    cdf.set(c, at);
    at += c.length;
    esc[t] = c.length - 2;
    // Every in-range bin must map to an int32 value, or decoding could not return it.
    if (esc[t] > 0 && offset[t] + esc[t] - 1 > INT32_MAX) invalid(`CDF table ${t}: offset ${offset[t]} overflows int32`);
  }
  const p: Prepared = { ntables, cdf, base, esc, offset, lut: null };
  prepared.set(table, p);
  return p;
}

/** For each bucket of LUT_SIZE slots, the bin that contains the bucket's first slot. */
function buildLut(p: Prepared): Uint16Array {
  const lut = new Uint16Array(p.ntables * LUT_SIZE);
  const { cdf, base, esc } = p;
  for (let t = 0; t < p.ntables; t++) {
    const b = base[t];
    const last = esc[t];
    let s = 0;
    for (let k = 0; k < LUT_SIZE; k++) {
      const slot = k << LUT_SHIFT;
      while (s < last && cdf[b + s + 1] <= slot) s++;
      lut[t * LUT_SIZE + k] = s;
    }
  }
  p.lut = lut;
  return lut;
}

// Escape helpers keep the coder state in this scratch array so the hot loops' locals stay in registers
// (JS is single-threaded and these never re-enter).
const state = new Int32Array(2); // [x, pos]
const chunkW = new Int32Array(8);
const chunkV = new Int32Array(8);

/** Escape parameters shared by the encoder and idealCodeLengthBits: returns k, leaves u in escU. */
let escU = 0;
function escapeExponent(s: number, esc: number): number {
  // s is v - offset as an exact double (may lie outside int32)
  const u = s < 0 ? 2 * (-s - 1) + 2 : 2 * (s - esc) + 1;
  let k = 0;
  let p2 = 1;
  while (p2 * 2 <= u) {
    p2 *= 2;
    k++;
  }
  escU = u - p2; // the k low bits
  return k;
}

function escapeBits(k: number): number {
  return 4 * (Math.floor(k / 15) + 1) + k;
}

/**
 * Push the escape for bin position s (outside [0, esc)) onto the encoder state held in `state`.
 * The caller guarantees at least 16 free bytes below state[1].
 */
function encodeEscape(buf: Uint8Array, s: number, esc: number): void {
  const k = escapeExponent(s, esc);
  let payload = escU;
  // chunks in decoder order
  let n = 0;
  let r = k;
  while (r >= 15) {
    chunkW[n] = 4;
    chunkV[n++] = 15;
    r -= 15;
  }
  chunkW[n] = 4;
  chunkV[n++] = r;
  r = k;
  while (r > 0) {
    const w = r < 16 ? r : 16;
    chunkW[n] = w;
    chunkV[n++] = payload % 65536;
    payload = Math.floor(payload / 65536);
    r -= w;
  }
  let x = state[0];
  let pos = state[1];
  for (let c = n - 1; c >= 0; c--) {
    const w = chunkW[c];
    const lim = 1 << (31 - w); // uniform symbol at precision w: freq 1, keeps x << w below 2^31
    while (x >= lim) {
      buf[--pos] = x & 255;
      x >>>= 8;
    }
    x = (x << w) | chunkV[c];
  }
  state[0] = x;
  state[1] = pos;
}

function truncated(): never {
  throw new SgaiError('TRUNCATED', 'entropy-coded stream ends early');
}

function corrupt(msg: string): never {
  throw new SgaiError('CORRUPT', msg);
}

/** Read one w-bit bypass chunk from the decoder state in `state`. */
function readBits(data: Uint8Array, w: number): number {
  let x = state[0];
  let pos = state[1];
  const v = x & ((1 << w) - 1);
  x >>>= w;
  while (x < RANS_L) {
    if (pos >= data.length) truncated();
    x = (x << 8) | data[pos++];
  }
  state[0] = x;
  state[1] = pos;
  return v;
}

/** Decode the escaped value following an overflow bin of a table with the given offset / in-range bin count. */
function decodeEscape(data: Uint8Array, offset: number, esc: number): number {
  let k = 0;
  for (;;) {
    const c = readBits(data, 4);
    k += c;
    if (k > MAX_ESCAPE_BITS) corrupt('entropy-coded stream: escape prefix too long');
    if (c < 15) break;
  }
  let payload = 0;
  let mult = 1;
  for (let r = k; r > 0; ) {
    const w = r < 16 ? r : 16;
    payload += readBits(data, w) * mult;
    mult *= 65536;
    r -= w;
  }
  const e = Math.pow(2, k) + payload - 1;
  const below = e % 2;
  const d = (e - below) / 2;
  const v = below === 1 ? offset - 1 - d : offset + esc + d;
  if (v < INT32_MIN || v > INT32_MAX) corrupt('entropy-coded stream: escaped value outside int32');
  return v;
}

function checkArrays(values: Int32Array, indexes: Int32Array): void {
  if (!(values instanceof Int32Array) || !(indexes instanceof Int32Array)) invalid('values and indexes must be Int32Arrays');
  if (values.length !== indexes.length) invalid(`values (${values.length}) and indexes (${indexes.length}) differ in length`);
}

export function ransEncode(values: Int32Array, indexes: Int32Array, table: CdfTable): Uint8Array {
  checkArrays(values, indexes);
  const p = prepare(table);
  const { cdf, base, esc: escA, offset: offA, ntables } = p;
  const n = values.length;
  // Bytes are produced last-first, so fill the buffer from its end and grow by copying the tail.
  let cap = Math.max(64, (n >>> 2) + 64);
  let buf = new Uint8Array(cap);
  let pos = cap;
  let x = RANS_L;
  for (let i = n - 1; i >= 0; i--) {
    if (pos < 32) {
      // one symbol emits at most 2 bytes plus 8 for an escape
      const grown = new Uint8Array(cap * 2);
      grown.set(buf.subarray(pos), cap * 2 - (cap - pos));
      pos += cap;
      cap *= 2;
      buf = grown;
    }
    const t = indexes[i];
    if (t < 0 || t >= ntables) invalid(`table index ${t} at position ${i} outside [0, ${ntables})`);
    const esc = escA[t];
    const v = values[i];
    // Wrapping int32 difference keeps this loop in int32 code. It is in [0, esc) exactly when the true
    // difference is: a wrapped value is negative or, by the table's int32 offset check, >= esc.
    const s = (v - offA[t]) | 0;
    let sym: number;
    if (s >= 0 && s < esc) {
      sym = s;
    } else {
      state[0] = x;
      state[1] = pos;
      encodeEscape(buf, v - offA[t], esc);
      x = state[0];
      pos = state[1];
      sym = esc;
    }
    const k = base[t] + sym;
    const start = cdf[k];
    const freq = cdf[k + 1] - start;
    const lim = freq * ENC_FACTOR;
    while (x >= lim) {
      buf[--pos] = x & 255;
      x >>>= 8;
    }
    const q = (x / freq) | 0; // exact: x < 2^31, so the double quotient cannot round across an integer
    x = (q << CDF_PRECISION) + (x - q * freq) + start;
  }
  buf[--pos] = x & 255;
  buf[--pos] = (x >>> 8) & 255;
  buf[--pos] = (x >>> 16) & 255;
  buf[--pos] = x >>> 24;
  return buf.slice(pos);
}

export function ransDecode(data: Uint8Array, indexes: Int32Array, table: CdfTable): Int32Array {
  if (!(data instanceof Uint8Array)) invalid('data must be a Uint8Array');
  if (!(indexes instanceof Int32Array)) invalid('indexes must be an Int32Array');
  const p = prepare(table);
  const lut = p.lut ?? buildLut(p);
  const { cdf, base, esc: escA, offset: offA, ntables } = p;
  const n = indexes.length;
  const len = data.length;
  if (len < 4) truncated();
  let x = ((data[0] << 24) | (data[1] << 16) | (data[2] << 8) | data[3]) | 0;
  if (x < RANS_L) corrupt('entropy-coded stream: bad initial state'); // also rejects the sign bit
  let pos = 4;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const t = indexes[i];
    if (t < 0 || t >= ntables) corrupt(`table index ${t} at position ${i} outside [0, ${ntables})`);
    const b = base[t];
    const slot = x & (PROB_ONE - 1);
    let s = lut[(t << LUT_BITS) + (slot >>> LUT_SHIFT)];
    while (cdf[b + s + 1] <= slot) s++; // terminates: the table's last entry is 2^16 > slot
    const start = cdf[b + s];
    x = (cdf[b + s + 1] - start) * (x >>> CDF_PRECISION) + slot - start;
    while (x < RANS_L) {
      if (pos >= len) truncated();
      x = (x << 8) | data[pos++];
    }
    const esc = escA[t];
    if (s < esc) {
      out[i] = offA[t] + s;
    } else {
      state[0] = x;
      state[1] = pos;
      out[i] = decodeEscape(data, offA[t], esc);
      x = state[0];
      pos = state[1];
    }
  }
  if (x !== RANS_L) corrupt('entropy-coded stream: final state mismatch (corrupt data or wrong tables)');
  if (pos !== len) corrupt(`entropy-coded stream: ${len - pos} trailing bytes`);
  return out;
}

/** Bits the coder would spend with these tables, ignoring the 4-byte state flush and renormalisation slack. */
export function idealCodeLengthBits(values: Int32Array, indexes: Int32Array, table: CdfTable): number {
  checkArrays(values, indexes);
  const { cdf, base, esc: escA, offset: offA, ntables } = prepare(table);
  let bits = 0;
  for (let i = 0; i < values.length; i++) {
    const t = indexes[i];
    if (t < 0 || t >= ntables) invalid(`table index ${t} at position ${i} outside [0, ${ntables})`);
    const esc = escA[t];
    const s = (values[i] - offA[t]) | 0; // see ransEncode
    let sym = esc;
    if (s >= 0 && s < esc) sym = s;
    else bits += escapeBits(escapeExponent(values[i] - offA[t], esc));
    const k = base[t] + sym;
    bits += CDF_PRECISION - Math.log2(cdf[k + 1] - cdf[k]);
  }
  return bits;
}

/**
 * Quantize a pmf over the in-range bins plus the overflow (tail) mass into a CDF summing to 2^16 in
 * which every bin, the overflow bin included, has frequency >= 1. The masses are normalised by their
 * sum. Frequencies start at the rounded ideal counts (floored at 1); the rounding surplus or deficit is
 * then settled greedily by the cheapest single-count changes, which for this convex cost is optimal up
 * to the cost approximation log((f+1)/f) ~ 1/(f+1/2). Pure +,-,*,/ so every machine builds the same table.
 */
export function quantizePmfToCdf(pmf: Float64Array, tailMass: number): Uint32Array {
  const m = pmf.length;
  const nbins = m + 1;
  if (nbins > PROB_ONE) invalid(`pmf has ${m} bins; at most ${PROB_ONE - 1} fit a ${CDF_PRECISION}-bit CDF`);
  if (!(tailMass >= 0) || tailMass === Infinity) invalid(`tail mass ${tailMass} must be finite and >= 0`);
  let total = tailMass;
  for (let i = 0; i < m; i++) {
    const v = pmf[i];
    if (!(v >= 0) || v === Infinity) invalid(`pmf[${i}] = ${v} must be finite and >= 0`);
    total += v;
  }
  if (!(total > 0) || total === Infinity) invalid(`pmf total ${total} must be finite and > 0`);
  const scale = PROB_ONE / total;
  const ideal = new Float64Array(nbins);
  const freq = new Int32Array(nbins);
  let sum = 0;
  for (let i = 0; i < nbins; i++) {
    const r = (i < m ? pmf[i] : tailMass) * scale;
    ideal[i] = r;
    const f = Math.max(1, Math.round(r));
    freq[i] = f;
    sum += f;
  }
  let diff = PROB_ONE - sum;
  if (diff !== 0) {
    // Max-heap of bins by the benefit of the next unit change (gain of +1 or negated loss of -1).
    const grow = diff > 0;
    const heap = new Int32Array(nbins);
    const key = new Float64Array(nbins);
    let size = 0;
    const keyOf = (i: number): number => (grow ? ideal[i] / (freq[i] + 0.5) : -ideal[i] / (freq[i] - 0.5));
    const better = (a: number, b: number): boolean => key[a] > key[b] || (key[a] === key[b] && a < b);
    const siftDown = (at: number): void => {
      const item = heap[at];
      for (;;) {
        let child = 2 * at + 1;
        if (child >= size) break;
        if (child + 1 < size && better(heap[child + 1], heap[child])) child++;
        if (!better(heap[child], item)) break;
        heap[at] = heap[child];
        at = child;
      }
      heap[at] = item;
    };
    for (let i = 0; i < nbins; i++) {
      if (grow || freq[i] > 1) {
        key[i] = keyOf(i);
        heap[size++] = i;
      }
    }
    for (let at = (size >> 1) - 1; at >= 0; at--) siftDown(at);
    while (diff !== 0) {
      // size > 0 always: when shrinking, sum > 2^16 >= nbins guarantees a bin above 1
      const i = heap[0];
      if (grow) {
        freq[i]++;
        diff--;
      } else {
        freq[i]--;
        diff++;
      }
      if (!grow && freq[i] === 1) {
        heap[0] = heap[--size];
      } else {
        key[i] = keyOf(i);
      }
      if (size > 0) siftDown(0);
    }
  }
  const cdf = new Uint32Array(nbins + 1);
  for (let i = 0; i < nbins; i++) cdf[i + 1] = cdf[i] + freq[i];
  return cdf;
}
