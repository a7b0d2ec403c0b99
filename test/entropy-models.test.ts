import { describe, expect, it } from 'vitest';
import { SgaiError } from '../src/core/errors';
import { CDF_PRECISION, idealCodeLengthBits, ransDecode, ransEncode, type CdfTable } from '../src/core/entropy/rans';
import {
  GAUSSIAN_TAIL_MULTIPLIER,
  LIKELIHOOD_BOUND,
  SCALE_BOUND,
  buildGaussianTable,
  defaultScaleTable,
  erfc,
  gaussianLikelihood,
  scaleIndex,
  scaleIndexes,
} from '../src/core/entropy/gaussian';
import {
  buildFactorizedTable,
  factorizedLikelihood,
  factorizedLogitsCumulative,
  medians,
  type FactorizedParams,
} from '../src/core/entropy/factorized';
import { mulberry32 as prng } from './seeded-random';

const ONE = 1 << CDF_PRECISION;

function expectSgai(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SgaiError);
    expect((e as SgaiError).code).toBe(code);
    return;
  }
  throw new Error(`expected SgaiError ${code}`);
}

function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}

/** FNV-1a over every cdf entry and offset: pins the tables bit for bit across machines and releases. */
function tableHash(t: CdfTable): string {
  let h = 0x811c9dc5;
  const mix = (v: number) => {
    for (let k = 0; k < 4; k++) {
      h ^= (v >>> (8 * k)) & 255;
      h = Math.imul(h, 0x01000193);
    }
  };
  for (const c of t.cdfs) {
    mix(c.length);
    for (const v of c) mix(v);
  }
  for (const o of t.offsets) mix(o);
  return (h >>> 0).toString(16);
}

describe('erfc', () => {
  // reference values: mpmath at 50 digits, rounded to double
  const ref: [number, number][] = [
    [0, 1],
    [0.5, 0.4795001221869535],
    [1, 0.15729920705028513],
    [3, 2.209049699858544e-5],
    [-1, 1.8427007929497148],
    [10, 2.088487583762545e-45],
    [1.25, 0.07709987174354177],
    [2, 0.004677734981047266],
    [5, 1.537459794428035e-12],
    [6, 2.1519736712498913e-17],
    [20, 5.395865611607901e-176],
    [26.5, 2.2109076642637343e-307],
    [-0.3, 1.3286267594591274],
    [0.1, 0.8875370839817152],
    [1e-10, 0.999999999887162],
  ];
  it('matches high-precision values to ~1e-15 relative', () => {
    for (const [x, v] of ref) expect(relErr(erfc(x), v), `erfc(${x})`).toBeLessThan(1.2e-15);
    expect(erfc(27)).toBeGreaterThan(5.1e-319);
    expect(erfc(27)).toBeLessThan(5.3e-319);
  });

  it('handles special values and is monotone and symmetric', () => {
    expect(erfc(NaN)).toBeNaN();
    expect(erfc(Infinity)).toBe(0);
    expect(erfc(-Infinity)).toBe(2);
    expect(erfc(-0)).toBe(1);
    let prev = erfc(-7);
    for (let x = -7; x <= 27; x += 1 / 1024) {
      const v = erfc(x);
      expect(v <= prev).toBe(true);
      prev = v;
      if (x > 0) expect(Math.abs(erfc(-x) + v - 2)).toBeLessThan(4.5e-16);
    }
  });

  it('reproduces the tail multiplier -Phi^-1(0.5e-9) by Newton iteration', () => {
    // Phi(-u) = erfc(u/sqrt2)/2 = 0.5e-9; d/du = -exp(-u^2/2)/sqrt(2 pi)
    let u = 6;
    for (let k = 0; k < 30; k++) {
      const f = 0.5 * erfc(u * Math.SQRT1_2) - 0.5e-9;
      u += f / (Math.exp(-0.5 * u * u) / Math.sqrt(2 * Math.PI));
    }
    expect(Math.abs(u - GAUSSIAN_TAIL_MULTIPLIER)).toBeLessThan(1e-13);
    expect(relErr(0.5 * erfc(GAUSSIAN_TAIL_MULTIPLIER * Math.SQRT1_2), 0.5e-9)).toBeLessThan(1e-14);
  });
});

describe('Gaussian conditional', () => {
  it('gives the hand-checked likelihoods', () => {
    const cases: [number, number, number][] = [
      [0, 1, 0.3829249225480262],
      [0, 0.01, 0.9999945183173473], // scale floored to 0.11
      [3, 1, 0.00597703624674061],
      [-3, 1, 0.00597703624674061],
      [0.3, 2.5, 0.1573972067373074],
      [1.7, 0.5, 0.008192123380688428],
      [0, 256, 0.0015583672920347921],
    ];
    for (const [r, s, p] of cases) expect(relErr(gaussianLikelihood(r, s), p), `r=${r} s=${s}`).toBeLessThan(1e-13);
    expect(gaussianLikelihood(10, 1)).toBe(LIKELIHOOD_BOUND);
    expect(gaussianLikelihood(5, 0.11)).toBe(LIKELIHOOD_BOUND);
    expect(gaussianLikelihood(0, -3)).toBe(gaussianLikelihood(0, SCALE_BOUND));
    expect(gaussianLikelihood(NaN, 1)).toBeNaN();
  });

  it('has likelihoods summing to 1 over the integers', () => {
    for (const s of [0.11, 0.3, 1, 7.5, 60]) {
      for (const mu of [0, 0.25, -0.4]) {
        let sum = 0;
        const R = Math.ceil(s * 12) + 2;
        for (let v = -R; v <= R; v++) {
          const p = gaussianLikelihood(v - mu, s);
          if (p > LIKELIHOOD_BOUND) sum += p;
        }
        expect(Math.abs(sum - 1)).toBeLessThan(1e-6);
      }
    }
  });

  it('builds the default scale table', () => {
    const t = defaultScaleTable();
    expect(t.length).toBe(64);
    expect(t[0]).toBe(0.11);
    expect(t[63]).toBe(256);
    expect(Math.log(0.11)).toBe(-2.2072749131897207);
    expect(Math.log(256)).toBe(5.545177444479562);
    const ratio = Math.exp((Math.log(256) - Math.log(0.11)) / 63);
    for (let i = 1; i < 64; i++) expect(relErr(t[i] / t[i - 1], ratio)).toBeLessThan(1e-12);
    for (let i = 1; i < 63; i++) expect(relErr(t[i], Math.exp(Math.log(0.11) + (i * (Math.log(256) - Math.log(0.11))) / 63))).toBeLessThan(1e-14);
  });

  it('maps scales to table indexes like CompressAI build_indexes', () => {
    const t = defaultScaleTable();
    for (let i = 0; i < 64; i++) expect(scaleIndex(t[i], t)).toBe(i);
    for (let i = 0; i < 63; i++) {
      const above = t[i] * (1 + 1e-15);
      expect(scaleIndex(above, t)).toBe(i + 1);
      expect(scaleIndex((t[i] + t[i + 1]) / 2, t)).toBe(i + 1);
    }
    expect(scaleIndex(0.11, t)).toBe(0);
    expect(scaleIndex(0.05, t)).toBe(0);
    expect(scaleIndex(0, t)).toBe(0);
    expect(scaleIndex(-5, t)).toBe(0);
    expect(scaleIndex(-Infinity, t)).toBe(0);
    expect(scaleIndex(256, t)).toBe(63);
    expect(scaleIndex(256.5, t)).toBe(63);
    expect(scaleIndex(1e30, t)).toBe(63);
    expect(scaleIndex(Infinity, t)).toBe(63);
    expectSgai(() => scaleIndex(NaN, t), 'CORRUPT');
    expect(Array.from(scaleIndexes([0, 0.11, 0.12, 1000], t))).toEqual([0, 0, 1, 63]);
    // brute-force definition on random scales
    const rnd = prng(5);
    for (let k = 0; k < 2000; k++) {
      const s = Math.exp(rnd() * 8 - 3);
      let count = 0;
      for (let i = 0; i < 63; i++) if (t[i] < Math.max(s, SCALE_BOUND)) count++;
      expect(scaleIndex(s, t)).toBe(count);
    }
  });

  it('builds deterministic coder tables with the documented support', () => {
    const scales = defaultScaleTable();
    const table = buildGaussianTable(scales);
    expect(table.cdfs.length).toBe(64);
    for (let i = 0; i < 64; i++) {
      const c = Math.ceil(scales[i] * GAUSSIAN_TAIL_MULTIPLIER);
      expect(table.offsets[i]).toBe(-c);
      const cdf = table.cdfs[i];
      expect(cdf.length).toBe(2 * c + 3);
      expect(cdf[0]).toBe(0);
      expect(cdf[cdf.length - 1]).toBe(ONE);
      for (let k = 1; k < cdf.length; k++) expect(cdf[k] > cdf[k - 1]).toBe(true);
      // pmf over the support plus the tail sums to 1 before quantisation
      let sum = 0;
      for (let a = -c; a <= c; a++) sum += gaussianLikelihood(a, scales[i]) > LIKELIHOOD_BOUND ? gaussianLikelihood(a, scales[i]) : 0;
      expect(Math.abs(sum - 1)).toBeLessThan(1e-7);
    }
    expect(table.offsets[0]).toBe(-1);
    expect(table.offsets[63]).toBe(-1565);
    // Golden hash: a change means encoders and decoders of different versions would disagree.
    expect(tableHash(table)).toBe(tableHash(buildGaussianTable(defaultScaleTable())));
    expect(tableHash(table)).toBe('f52bd622');
  });

  it('codes Gaussian latents close to the model rate and round-trips', () => {
    const rnd = prng(11);
    const scales = defaultScaleTable();
    const table = buildGaussianTable(scales);
    const n = 200_000;
    const sym = new Int32Array(n);
    const idx = new Int32Array(n);
    let modelBits = 0;
    for (let i = 0; i < n; i++) {
      const s = Math.exp(rnd() * 6 - 2.5);
      const mu = rnd() - 0.5;
      const g = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
      const q = Math.round(mu + g * s - mu);
      sym[i] = q;
      idx[i] = scaleIndex(s, scales);
      modelBits -= Math.log2(gaussianLikelihood(q, scales[idx[i]]));
    }
    sym[5] = 1_000_000; // escapes
    sym[6] = -2_000_000_000;
    const enc = ransEncode(sym, idx, table);
    expect(ransDecode(enc, idx, table)).toEqual(sym);
    const ideal = idealCodeLengthBits(sym, idx, table);
    expect(enc.length * 8).toBeLessThan(ideal * 1.001 + 64);
    expect(Math.abs(ideal - modelBits) / modelBits).toBeLessThan(0.01);
  });

  it('rejects bad scale tables', () => {
    expectSgai(() => buildGaussianTable(new Float64Array(0)), 'INVALID_ARGUMENT');
    expectSgai(() => buildGaussianTable(new Float64Array([1, 0.5])), 'INVALID_ARGUMENT');
    expectSgai(() => buildGaussianTable(new Float64Array([0])), 'INVALID_ARGUMENT');
    expectSgai(() => buildGaussianTable(new Float64Array([NaN])), 'INVALID_ARGUMENT');
    expectSgai(() => buildGaussianTable(new Float64Array([1e5])), 'INVALID_ARGUMENT');
  });
});

// ---------------------------------------------------------------------------------------------

const FILTERS = [1, 3, 3, 3, 3, 1];

/** CompressAI-style initialisation (init_scale 10) with random perturbations; quantiles fitted by bisection. */
function randomFactorized(rnd: () => number, C: number, fitQuantiles = true): FactorizedParams {
  const scale = Math.pow(10, 1 / (FILTERS.length - 1));
  const matrices: Float64Array[] = [];
  const biases: Float64Array[] = [];
  const factors: Float64Array[] = [];
  for (let i = 0; i < FILTERS.length - 1; i++) {
    const init = Math.log(Math.expm1(1 / scale / FILTERS[i + 1]));
    const m = new Float64Array(C * FILTERS[i + 1] * FILTERS[i]);
    for (let k = 0; k < m.length; k++) m[k] = init + (rnd() - 0.5) * 2;
    matrices.push(m);
    const b = new Float64Array(C * FILTERS[i + 1]);
    for (let k = 0; k < b.length; k++) b[k] = (rnd() - 0.5) * 3;
    biases.push(b);
    if (i < FILTERS.length - 2) {
      const a = new Float64Array(C * FILTERS[i + 1]);
      for (let k = 0; k < a.length; k++) a[k] = (rnd() - 0.5) * 4;
      factors.push(a);
    }
  }
  const p: FactorizedParams = { channels: C, filters: FILTERS, matrices, biases, factors, quantiles: new Float64Array(3 * C) };
  const t = Math.log(2 / 1e-9 - 1);
  for (let c = 0; c < C; c++) {
    if (!fitQuantiles) {
      const med = (rnd() - 0.5) * 20;
      p.quantiles.set([med - rnd() * 30, med, med + rnd() * 30], 3 * c);
      continue;
    }
    for (let j = 0; j < 3; j++) {
      const target = [-t, 0, t][j];
      let lo = -1e4;
      let hi = 1e4;
      for (let k = 0; k < 100; k++) {
        const mid = (lo + hi) / 2;
        if (factorizedLogitsCumulative(p, c, mid) < target) lo = mid;
        else hi = mid;
      }
      p.quantiles[3 * c + j] = (lo + hi) / 2;
    }
  }
  return p;
}

/** Plain reference using Math.log1p/Math.tanh to cross-check the deterministic helpers. */
function referenceLogits(p: FactorizedParams, c: number, v: number): number {
  let h = [v];
  for (let i = 0; i < p.filters.length - 1; i++) {
    const nin = p.filters[i];
    const nout = p.filters[i + 1];
    const out: number[] = [];
    for (let j = 0; j < nout; j++) {
      let acc = p.biases[i][c * nout + j];
      for (let k = 0; k < nin; k++) {
        const w = p.matrices[i][(c * nout + j) * nin + k];
        acc += (w > 0 ? w + Math.log1p(Math.exp(-w)) : Math.log1p(Math.exp(w))) * h[k];
      }
      if (i < p.filters.length - 2) acc += Math.tanh(p.factors[i][c * nout + j]) * Math.tanh(acc);
      out.push(acc);
    }
    h = out;
  }
  return h[0];
}

describe('factorized prior', () => {
  const rnd = prng(2024);
  const params = randomFactorized(rnd, 12);

  it('evaluates the cumulative network like a plain reference, monotonically', () => {
    for (let c = 0; c < params.channels; c++) {
      let prev = -Infinity;
      for (let v = -300; v <= 300; v += 0.37) {
        const got = factorizedLogitsCumulative(params, c, v);
        const want = referenceLogits(params, c, v);
        expect(Math.abs(got - want)).toBeLessThan(1e-12 * Math.max(1, Math.abs(want)));
        expect(got >= prev).toBe(true);
        prev = got;
      }
    }
  });

  it('has likelihoods that sum to ~1 over a wide range', () => {
    for (let c = 0; c < params.channels; c++) {
      const [q0, , q2] = params.quantiles.subarray(3 * c, 3 * c + 3);
      const span = q2 - q0;
      let sum = 0;
      let floored = 0;
      for (let v = Math.floor(q0 - 2 * span); v <= Math.ceil(q2 + 2 * span); v++) {
        const p = factorizedLikelihood(params, c, v + 0.3);
        if (p === 1e-9) floored++;
        else sum += p;
        expect(p).toBeGreaterThanOrEqual(1e-9);
      }
      expect(Math.abs(sum - 1)).toBeLessThan(1e-6);
      expect(floored).toBeGreaterThan(0);
    }
  });

  it('returns medians and builds tables over the quantile range', () => {
    const med = medians(params);
    const table = buildFactorizedTable(params);
    expect(table.cdfs.length).toBe(params.channels);
    for (let c = 0; c < params.channels; c++) {
      const [q0, q1, q2] = params.quantiles.subarray(3 * c, 3 * c + 3);
      expect(med[c]).toBe(q1);
      const minima = Math.max(0, Math.ceil(q1 - q0));
      const maxima = Math.max(0, Math.ceil(q2 - q1));
      expect(table.offsets[c]).toBe(-minima);
      expect(table.cdfs[c].length).toBe(minima + maxima + 3);
      // the overflow bin is small (tail mass ~1e-9 -> the minimum count)
      const cdf = table.cdfs[c];
      expect(cdf[cdf.length - 1] - cdf[cdf.length - 2]).toBeLessThanOrEqual(2);
    }
    expect(tableHash(buildFactorizedTable(params))).toBe(tableHash(table));
    // Golden hash (params come from the seeded PRNG): pins the bits of softplus, tanh, sigmoid and the quantisation.
    expect(tableHash(table)).toBe('24d4cf31');
  });

  it('round-trips random z through the coding convention', () => {
    for (const fit of [true, false]) {
      const p = randomFactorized(prng(fit ? 1 : 2), 24, fit);
      const table = buildFactorizedTable(p);
      const med = medians(p);
      const r = prng(77);
      const n = 50_000;
      const z = new Float64Array(n);
      const idx = new Int32Array(n);
      const sym = new Int32Array(n);
      let modelBits = 0;
      for (let i = 0; i < n; i++) {
        const c = i % p.channels;
        const [q0, , q2] = p.quantiles.subarray(3 * c, 3 * c + 3);
        z[i] = r() < 0.001 ? (r() - 0.5) * 1e6 : q0 - 3 + r() * (q2 - q0 + 6);
        idx[i] = c;
        sym[i] = Math.round(z[i] - med[c]);
        modelBits -= Math.log2(factorizedLikelihood(p, c, sym[i] + med[c]));
      }
      const enc = ransEncode(sym, idx, table);
      const dec = ransDecode(enc, idx, table);
      for (let i = 0; i < n; i++) {
        expect(dec[i] + med[idx[i]]).toBe(Math.round(z[i] - med[idx[i]]) + med[idx[i]]);
      }
      expect(enc.length * 8).toBeLessThan(idealCodeLengthBits(sym, idx, table) * 1.001 + 64);
      if (fit) expect(modelBits).toBeGreaterThan(0);
    }
  });

  it('rejects malformed parameters', () => {
    const bad = (patch: Partial<FactorizedParams>) => ({ ...params, ...patch });
    expectSgai(() => buildFactorizedTable(bad({ channels: 0 })), 'INVALID_ARGUMENT');
    expectSgai(() => buildFactorizedTable(bad({ quantiles: new Float64Array(5) })), 'INVALID_ARGUMENT');
    expectSgai(() => buildFactorizedTable(bad({ matrices: params.matrices.slice(1) })), 'INVALID_ARGUMENT');
    expectSgai(() => buildFactorizedTable(bad({ filters: [2, 3, 3, 3, 3, 1] })), 'INVALID_ARGUMENT');
    const q = params.quantiles.slice();
    q[0] = NaN;
    expectSgai(() => buildFactorizedTable(bad({ quantiles: q })), 'INVALID_ARGUMENT');
    const wide = params.quantiles.slice();
    wide[0] = -1e6;
    expectSgai(() => buildFactorizedTable(bad({ quantiles: wide })), 'INVALID_ARGUMENT');
    expectSgai(() => factorizedLikelihood(params, params.channels, 0), 'INVALID_ARGUMENT');
    expectSgai(() => factorizedLogitsCumulative(params, -1, 0), 'INVALID_ARGUMENT');
  });
});
