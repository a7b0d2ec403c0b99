import { describe, expect, it } from 'vitest';
import { SgaiError } from '../src/core/errors';
import {
  CDF_PRECISION,
  idealCodeLengthBits,
  quantizePmfToCdf,
  ransDecode,
  ransEncode,
  type CdfTable,
} from '../src/core/entropy/rans';
import { mulberry32 as prng } from './seeded-random';

const ONE = 1 << CDF_PRECISION;
const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;

function randomPmf(rnd: () => number, nbins: number): Float64Array {
  const pmf = new Float64Array(nbins);
  const kind = rnd();
  const centre = rnd() * nbins;
  const width = kind < 0.3 ? 0.05 + rnd() * 0.5 : 1 + rnd() * nbins; // some very peaked
  for (let i = 0; i < nbins; i++) {
    if (kind > 0.9) pmf[i] = rnd() < 0.3 ? 0 : rnd(); // ragged, with zero-mass bins
    else pmf[i] = Math.exp(-0.5 * ((i - centre) / width) ** 2);
  }
  return pmf;
}

function randomTable(rnd: () => number, ntables: number, maxBins = 300): CdfTable {
  const cdfs: Uint32Array[] = [];
  const offsets = new Int32Array(ntables);
  for (let t = 0; t < ntables; t++) {
    const nbins = 2 + Math.floor(rnd() * (maxBins - 1)); // 2..maxBins in-range bins
    const tail = rnd() < 0.5 ? 1e-9 : rnd() * 0.01;
    cdfs.push(quantizePmfToCdf(randomPmf(rnd, nbins), tail));
    offsets[t] = Math.floor(rnd() * 200) - 150;
  }
  return { cdfs, offsets };
}

/** Draw a value for table t: mostly from its pmf range, sometimes far outside (escape path). */
function randomValues(rnd: () => number, table: CdfTable, indexes: Int32Array, escapeRate: number): Int32Array {
  const out = new Int32Array(indexes.length);
  for (let i = 0; i < indexes.length; i++) {
    const t = indexes[i];
    const cdf = table.cdfs[t];
    const u = rnd();
    if (u < escapeRate) {
      const r = rnd();
      if (r < 0.1) out[i] = INT32_MAX;
      else if (r < 0.2) out[i] = INT32_MIN;
      else if (r < 0.3) out[i] = -INT32_MAX;
      else if (r < 0.6) out[i] = table.offsets[t] + cdf.length - 2 + Math.floor(rnd() ** 4 * 1e6); // just above
      else if (r < 0.9) out[i] = table.offsets[t] - 1 - Math.floor(rnd() ** 4 * 1e6); // just below
      else out[i] = Math.floor((rnd() - 0.5) * 2 ** 32);
    } else {
      // sample from the quantized distribution
      const slot = Math.floor(rnd() * ONE);
      let s = 0;
      while (cdf[s + 1] <= slot) s++;
      out[i] = s === cdf.length - 2 ? table.offsets[t] - 5 : table.offsets[t] + s;
    }
  }
  return out;
}

function expectSgai(fn: () => unknown, codes: string[]): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SgaiError);
    expect(codes).toContain((e as SgaiError).code);
    return;
  }
  throw new Error(`expected SgaiError ${codes.join('/')}`);
}

/** Decoding damaged data must end in an SgaiError or a result, nothing else. */
function decodeSurvives(data: Uint8Array, idx: Int32Array, table: CdfTable): 'threw' | 'returned' {
  try {
    const out = ransDecode(data, idx, table);
    expect(out.length).toBe(idx.length);
    return 'returned';
  } catch (e) {
    if (!(e instanceof SgaiError)) throw e;
    expect(['CORRUPT', 'TRUNCATED']).toContain(e.code);
    return 'threw';
  }
}

/** KL divergence (bits/symbol) between the normalised masses and a quantized CDF. */
function klBits(pmf: Float64Array, tail: number, cdf: Uint32Array): number {
  let z = tail;
  for (const v of pmf) z += v;
  let kl = 0;
  for (let i = 0; i <= pmf.length; i++) {
    const p = (i < pmf.length ? pmf[i] : tail) / z;
    if (p > 0) kl += p * Math.log2(p / ((cdf[i + 1] - cdf[i]) / ONE));
  }
  return kl;
}

/** Reference quantizer: rounded counts, then one unit at a time to the bin with the best exact log gain. */
function exactGreedyCdf(pmf: Float64Array, tail: number): Uint32Array {
  const n = pmf.length + 1;
  let z = tail;
  for (const v of pmf) z += v;
  const r = Array.from({ length: n }, (_, i) => ((i < pmf.length ? pmf[i] : tail) / z) * ONE);
  const f = r.map((v) => Math.max(1, Math.round(v)));
  let sum = f.reduce((a, b) => a + b, 0);
  while (sum !== ONE) {
    let best = -1;
    let bestV = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = sum < ONE ? r[i] * Math.log((f[i] + 1) / f[i]) : f[i] > 1 ? -r[i] * Math.log(f[i] / (f[i] - 1)) : -Infinity;
      if (v > bestV) ((bestV = v), (best = i));
    }
    f[best] += sum < ONE ? 1 : -1;
    sum += sum < ONE ? 1 : -1;
  }
  const cdf = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) cdf[i + 1] = cdf[i] + f[i];
  return cdf;
}

function expectValidCdf(cdf: Uint32Array, nbins: number): void {
  expect(cdf.length).toBe(nbins + 1);
  expect(cdf[0]).toBe(0);
  expect(cdf[cdf.length - 1]).toBe(ONE);
  for (let i = 1; i < cdf.length; i++) expect(cdf[i] > cdf[i - 1]).toBe(true);
}

describe('quantizePmfToCdf', () => {
  it('gives valid 16-bit CDFs with every bin >= 1 for random pmfs', () => {
    const rnd = prng(1);
    for (let k = 0; k < 300; k++) {
      const n = 1 + Math.floor(rnd() * 400);
      const pmf = randomPmf(rnd, n);
      const cdf = quantizePmfToCdf(pmf, rnd() < 0.2 ? 0 : rnd() * 0.1);
      expectValidCdf(cdf, n + 1);
    }
  });

  it('handles edge sizes: no in-range bins, 65535 bins, all mass in one bin', () => {
    expect(Array.from(quantizePmfToCdf(new Float64Array(0), 1))).toEqual([0, ONE]);
    const full = quantizePmfToCdf(new Float64Array(ONE - 1).fill(1), 1);
    expectValidCdf(full, ONE);
    const spike = new Float64Array(1000);
    spike[500] = 1;
    const cdf = quantizePmfToCdf(spike, 0);
    expectValidCdf(cdf, 1001);
    expect(cdf[501] - cdf[500]).toBe(ONE - 1000);
  });

  it('normalises and stays close to the ideal counts', () => {
    const pmf = new Float64Array([2, 6, 4, 4, 3.999]);
    const cdf = quantizePmfToCdf(pmf, 0.001);
    const total = 20;
    for (let i = 0; i < 5; i++) expect(Math.abs(cdf[i + 1] - cdf[i] - (pmf[i] / total) * ONE)).toBeLessThan(2);
    // The greedy fix-up matches an exact-cost greedy (optimal for this convex separable cost) closely.
    const rnd = prng(17);
    for (let k = 0; k < 40; k++) {
      const n = 2 + Math.floor(rnd() * (k < 10 ? 3000 : 300));
      const p = randomPmf(rnd, n);
      const tail = rnd() * 1e-3;
      const ours = klBits(p, tail, quantizePmfToCdf(p, tail));
      const best = klBits(p, tail, exactGreedyCdf(p, tail));
      expect(ours).toBeLessThanOrEqual(best + 1e-5);
    }
    // 16 bits with min count 1: for a wide Gaussian the forced tail counts dominate the loss
    const wide = new Float64Array(3001);
    for (let i = 0; i < wide.length; i++) wide[i] = Math.exp(-0.5 * ((i - 1500) / 250) ** 2);
    expect(klBits(wide, 1e-9, quantizePmfToCdf(wide, 1e-9))).toBeLessThan(0.03);
    const mid = new Float64Array(41);
    for (let i = 0; i < mid.length; i++) mid[i] = Math.exp(-0.5 * ((i - 20) / 3) ** 2);
    expect(klBits(mid, 1e-9, quantizePmfToCdf(mid, 1e-9))).toBeLessThan(5e-4);
  });

  it('rejects bad input with INVALID_ARGUMENT', () => {
    expectSgai(() => quantizePmfToCdf(new Float64Array([0.5, NaN]), 0), ['INVALID_ARGUMENT']);
    expectSgai(() => quantizePmfToCdf(new Float64Array([0.5, -1]), 0), ['INVALID_ARGUMENT']);
    expectSgai(() => quantizePmfToCdf(new Float64Array([0.5]), Infinity), ['INVALID_ARGUMENT']);
    expectSgai(() => quantizePmfToCdf(new Float64Array([0, 0]), 0), ['INVALID_ARGUMENT']);
    expectSgai(() => quantizePmfToCdf(new Float64Array(ONE), 1), ['INVALID_ARGUMENT']);
  });
});

describe('rANS round trips', () => {
  it('round-trips random tables and symbols, including escapes', () => {
    const rnd = prng(42);
    for (let trial = 0; trial < 60; trial++) {
      const table = randomTable(rnd, 1 + Math.floor(rnd() * 70));
      const n = Math.floor(rnd() * 5000);
      const idx = new Int32Array(n);
      for (let i = 0; i < n; i++) idx[i] = Math.floor(rnd() * table.cdfs.length);
      const vals = randomValues(rnd, table, idx, trial % 3 === 0 ? 0.2 : 0.01);
      const enc = ransEncode(vals, idx, table);
      expect(ransDecode(enc, idx, table)).toEqual(vals);
      const ideal = idealCodeLengthBits(vals, idx, table) / 8;
      expect(enc.length).toBeLessThanOrEqual(Math.ceil(ideal * 1.01) + 8);
    }
  });

  it('codes every int32 extreme against extreme offsets', () => {
    const cdf2 = quantizePmfToCdf(new Float64Array([0.7]), 0.3); // one in-range bin + overflow
    const cdf1 = quantizePmfToCdf(new Float64Array(0), 1); // overflow bin only: everything escapes
    const table: CdfTable = {
      cdfs: [cdf2, cdf2, cdf2, cdf1, quantizePmfToCdf(new Float64Array(300).fill(1), 1e-3)],
      offsets: new Int32Array([INT32_MIN, INT32_MAX, 0, 0, -150]),
    };
    const special = [INT32_MIN, INT32_MIN + 1, -1, 0, 1, 149, 150, 151, INT32_MAX - 1, INT32_MAX, -(2 ** 30), 2 ** 30];
    const vals: number[] = [];
    const idx: number[] = [];
    for (let t = 0; t < 5; t++) for (const v of special) (vals.push(v), idx.push(t));
    const v32 = Int32Array.from(vals);
    const i32 = Int32Array.from(idx);
    const enc = ransEncode(v32, i32, table);
    expect(ransDecode(enc, i32, table)).toEqual(v32);
    // the all-escape table costs exactly the escape bits
    const one = new Int32Array([0]);
    expect(idealCodeLengthBits(one, new Int32Array([3]), table)).toBe(4 + 0);
    expect(idealCodeLengthBits(new Int32Array([2]), new Int32Array([3]), table)).toBe(4 + 2); // u = 5
  });

  it('writes a tiny valid stream for zero symbols', () => {
    const table = randomTable(prng(3), 4);
    const enc = ransEncode(new Int32Array(0), new Int32Array(0), table);
    expect(enc.length).toBeLessThanOrEqual(4);
    expect(ransDecode(enc, new Int32Array(0), table).length).toBe(0);
    expect(ransEncode(new Int32Array(0), new Int32Array(0), { cdfs: [], offsets: new Int32Array(0) }).length).toBeLessThanOrEqual(4);
    expectSgai(() => ransDecode(new Uint8Array(0), new Int32Array(0), table), ['TRUNCATED']);
    expectSgai(() => ransDecode(Uint8Array.from([...enc, 0]), new Int32Array(0), table), ['CORRUPT']);
  });

  it('handles long streams at the ideal rate, fast', () => {
    const rnd = prng(7);
    const table = randomTable(rnd, 64, 300);
    const n = 1_200_000;
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = Math.floor(rnd() * 64);
    const vals = randomValues(rnd, table, idx, 1e-4);
    // best of 3 runs: the first run includes JIT warm-up
    let tEnc = Infinity;
    let tDec = Infinity;
    let enc: Uint8Array = new Uint8Array(0);
    for (let rep = 0; rep < 3; rep++) {
      let t0 = performance.now();
      enc = ransEncode(vals, idx, table);
      tEnc = Math.min(tEnc, performance.now() - t0);
      t0 = performance.now();
      const dec = ransDecode(enc, idx, table);
      tDec = Math.min(tDec, performance.now() - t0);
      let mismatch = -1;
      for (let i = 0; i < n && mismatch < 0; i++) if (dec[i] !== vals[i]) mismatch = i;
      expect(mismatch).toBe(-1);
    }
    const idealBytes = idealCodeLengthBits(vals, idx, table) / 8;
    expect(enc.length).toBeLessThanOrEqual(idealBytes * 1.001 + 8);
    expect(enc.length).toBeGreaterThanOrEqual(idealBytes * 0.999);
    expect(n / tEnc / 1e3).toBeGreaterThan(1); // loose floor: catches pathological slow paths only
    expect(n / tDec / 1e3).toBeGreaterThan(1);
    console.log(
      `rANS ${n} symbols: ${(n / tEnc / 1e3).toFixed(1)} Msym/s encode, ${(n / tDec / 1e3).toFixed(1)} Msym/s decode, ` +
        `${enc.length} bytes vs ideal ${idealBytes.toFixed(1)}`,
    );
  });
});

describe('rANS on damaged input', () => {
  const rnd = prng(99);
  const table = randomTable(rnd, 16, 40);
  const n = 300;
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = Math.floor(rnd() * 16);
  const vals = randomValues(rnd, table, idx, 0.05);
  const enc = ransEncode(vals, idx, table);

  it('throws on every truncation', () => {
    for (let len = 0; len < enc.length; len++) expectSgai(() => ransDecode(enc.subarray(0, len), idx, table), ['TRUNCATED']);
  });

  it('throws on trailing bytes', () => {
    expectSgai(() => ransDecode(Uint8Array.from([...enc, 0x42]), idx, table), ['CORRUPT']);
  });

  it('never crashes or hangs on flipped bits, wrong tables or garbage', () => {
    for (let k = 0; k < 2000; k++) {
      const bad = enc.slice();
      bad[Math.floor(rnd() * bad.length)] ^= 1 << Math.floor(rnd() * 8);
      decodeSurvives(bad, idx, table);
    }
    // Without escapes (whose payload bits are raw, unchecked) the final-state check catches nearly every flip.
    const clean = randomValues(rnd, table, idx, 0);
    const cleanEnc = ransEncode(clean, idx, table);
    let threw = 0;
    for (let k = 0; k < 2000; k++) {
      const bad = cleanEnc.slice();
      bad[Math.floor(rnd() * bad.length)] ^= 1 << Math.floor(rnd() * 8);
      if (decodeSurvives(bad, idx, table) === 'threw') threw++;
    }
    expect(threw).toBeGreaterThan(1980);
    for (let k = 0; k < 50; k++) decodeSurvives(enc, idx, randomTable(prng(1000 + k), 16, 40));
    for (let k = 0; k < 500; k++) {
      const garbage = new Uint8Array(Math.floor(rnd() * 200));
      for (let i = 0; i < garbage.length; i++) garbage[i] = Math.floor(rnd() * 256);
      decodeSurvives(garbage, idx, table);
    }
    // all-0xFF bytes drive the decoder into long escape prefixes
    const allEscape: CdfTable = { cdfs: [quantizePmfToCdf(new Float64Array(0), 1)], offsets: new Int32Array([0]) };
    expectSgai(() => ransDecode(new Uint8Array(64).fill(0xff).fill(0x7f, 0, 1), new Int32Array(4), allEscape), ['CORRUPT']);
    decodeSurvives(new Uint8Array(1 << 16).fill(0x7f), new Int32Array(1000), allEscape);
  });

  it('rejects escaped values that leave int32 under the decoding table', () => {
    const cdf = quantizePmfToCdf(new Float64Array([1]), 1);
    const encT: CdfTable = { cdfs: [cdf], offsets: new Int32Array([INT32_MIN]) };
    const decT: CdfTable = { cdfs: [cdf], offsets: new Int32Array([0]) };
    const one = new Int32Array(1);
    const s = ransEncode(new Int32Array([INT32_MAX]), one, encT);
    expect(ransDecode(s, one, encT)[0]).toBe(INT32_MAX);
    expectSgai(() => ransDecode(s, one, decT), ['CORRUPT']);
  });

  it('validates indexes and tables', () => {
    const bad = Int32Array.from(idx);
    bad[10] = 16;
    expectSgai(() => ransEncode(vals, bad, table), ['INVALID_ARGUMENT']);
    expectSgai(() => idealCodeLengthBits(vals, bad, table), ['INVALID_ARGUMENT']);
    expectSgai(() => ransDecode(enc, bad, table), ['CORRUPT']);
    bad[10] = -1;
    expectSgai(() => ransDecode(enc, bad, table), ['CORRUPT']);
    expectSgai(() => ransEncode(vals, idx.subarray(1), table), ['INVALID_ARGUMENT']);
    const c = (a: number[]) => Uint32Array.from(a);
    for (const cdfs of [[c([0, 10, ONE + 1])], [c([1, 10, ONE])], [c([0, 10, 10, ONE])], [c([ONE])], [c([0, 5, ONE - 1])]]) {
      expectSgai(() => ransEncode(new Int32Array(1), new Int32Array(1), { cdfs, offsets: new Int32Array(1) }), ['INVALID_ARGUMENT']);
    }
    expectSgai(() => ransEncode(new Int32Array(0), new Int32Array(0), { cdfs: [c([0, ONE])], offsets: new Int32Array(2) }), ['INVALID_ARGUMENT']);
    expectSgai(
      () => ransEncode(new Int32Array(0), new Int32Array(0), { cdfs: [c([0, 5, 6, ONE])], offsets: new Int32Array([INT32_MAX]) }),
      ['INVALID_ARGUMENT'],
    );
  });
});
