/**
 * Factorized ("entropy bottleneck") prior for z (method doc §2.3), CompressAI parameter layout.
 *
 * Determinism: the coder tables built here must be bit-identical on the encoding and decoding machine.
 * All arithmetic is float64 using only +, -, *, /, comparisons, Math.ceil/abs and Math.exp. The former
 * are exactly rounded by IEEE 754 and V8's Math.exp is its fdlibm port (same code on every platform).
 * softplus and tanh are therefore built here from Math.exp and a series log1p instead of Math.log /
 * Math.tanh, so the result does not depend on any other library routine.
 *
 * Coding convention: symbols = round(z - median_c), table index = c, decoded z^ = symbol + median_c.
 */
import { SgaiError } from '../errors';
import { quantizePmfToCdf, type CdfTable } from './rans';
import { LIKELIHOOD_BOUND } from './gaussian';

export interface FactorizedParams {
  channels: number;
  /** layer widths including the scalar input and output, e.g. [1, 3, 3, 3, 3, 1] */
  filters: number[];
  /** layer i: [C][filters[i+1]][filters[i]] row-major */
  matrices: Float64Array[];
  /** layer i: [C][filters[i+1]] */
  biases: Float64Array[];
  /** layer i < last: [C][filters[i+1]] */
  factors: Float64Array[];
  /** [C][3]; median = quantiles[c*3+1] */
  quantiles: Float64Array;
}

/** Largest table support: pmf bins + overflow bin must fit a 16-bit CDF. */
const MAX_PMF_LENGTH = (1 << 16) - 1;

function invalid(msg: string): never {
  throw new SgaiError('INVALID_ARGUMENT', `factorized prior: ${msg}`);
}

/** softplus(matrices) and tanh(factors), computed once per params object: these dominate an evaluation. */
interface Derived {
  weights: Float64Array[];
  gates: Float64Array[];
  maxWidth: number;
}
const derivedCache = new WeakMap<FactorizedParams, Derived>();

function allFinite(a: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

/** Checks shapes and finiteness once per params object (treated as immutable afterwards). */
function derived(p: FactorizedParams): Derived {
  const hit = derivedCache.get(p);
  if (hit !== undefined) return hit;
  const C = p.channels;
  if (!Number.isInteger(C) || C < 1) invalid(`channels ${C} must be a positive integer`);
  const f = p.filters;
  if (!Array.isArray(f) || f.length < 2) invalid('filters must list at least input and output widths');
  for (const w of f) if (!Number.isInteger(w) || w < 1 || w > 1024) invalid(`bad filter width ${w}`);
  if (f[0] !== 1 || f[f.length - 1] !== 1) invalid('filters must start and end with 1');
  const layers = f.length - 1;
  if (p.matrices?.length !== layers || p.biases?.length !== layers) invalid(`expected ${layers} matrices and biases`);
  if (!p.factors || p.factors.length < layers - 1) invalid(`expected ${layers - 1} factors`);
  for (let i = 0; i < layers; i++) {
    const m = p.matrices[i];
    const b = p.biases[i];
    if (!(m instanceof Float64Array) || m.length !== C * f[i + 1] * f[i]) invalid(`matrix ${i} must be a Float64Array of ${C * f[i + 1] * f[i]}`);
    if (!(b instanceof Float64Array) || b.length !== C * f[i + 1]) invalid(`bias ${i} must be a Float64Array of ${C * f[i + 1]}`);
    if (!allFinite(m) || !allFinite(b)) invalid(`layer ${i} has non-finite parameters`);
    if (i < layers - 1) {
      const a = p.factors[i];
      if (!(a instanceof Float64Array) || a.length !== C * f[i + 1]) invalid(`factor ${i} must be a Float64Array of ${C * f[i + 1]}`);
      if (!allFinite(a)) invalid(`factor ${i} has non-finite values`);
    }
  }
  if (!(p.quantiles instanceof Float64Array) || p.quantiles.length !== 3 * C) invalid(`quantiles must be a Float64Array of ${3 * C}`);
  if (!allFinite(p.quantiles)) invalid('quantiles must be finite');
  const d: Derived = {
    weights: p.matrices.map((m) => m.map(softplus)),
    gates: p.factors.slice(0, layers - 1).map((a) => a.map(tanh)),
    maxWidth: Math.max(...f),
  };
  derivedCache.set(p, d);
  return d;
}

/** log(1+u) for 0 <= u <= 1 via 2*atanh(u/(2+u)); w <= 1/3 so ~17 terms reach double precision. */
function log1pUnit(u: number): number {
  const w = u / (2 + u);
  const w2 = w * w;
  let pw = w;
  let sum = w;
  for (let k = 3; k < 80; k += 2) {
    pw *= w2;
    const t = pw / k;
    sum += t;
    if (t <= 1e-17 * sum) break;
  }
  return 2 * sum;
}

function softplus(x: number): number {
  // log(1 + e^x) = max(x, 0) + log(1 + e^{-|x|})
  return x > 0 ? x + log1pUnit(Math.exp(-x)) : log1pUnit(Math.exp(x));
}

function tanh(x: number): number {
  const ax = Math.abs(x);
  if (ax < 1e-4) return x * (1 - (x * x) / 3); // avoids the cancellation in 1 - e^{-2|x|}
  if (ax > 20) return x > 0 ? 1 : -1;
  const e = Math.exp(-2 * ax);
  const t = (1 - e) / (1 + e);
  return x > 0 ? t : -t;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

// Scratch activations, grown to the widest layer; no allocation per evaluation.
let hA = new Float64Array(8);
let hB = new Float64Array(8);

/** The cumulative network's logit c(v) for channel c, evaluated in float64. */
export function factorizedLogitsCumulative(p: FactorizedParams, c: number, v: number): number {
  const d = derived(p);
  if (!Number.isInteger(c) || c < 0 || c >= p.channels) invalid(`channel ${c} outside [0, ${p.channels})`);
  const f = p.filters;
  const layers = f.length - 1;
  if (hA.length < d.maxWidth) {
    hA = new Float64Array(d.maxWidth);
    hB = new Float64Array(d.maxWidth);
  }
  let cur = hA;
  let nxt = hB;
  cur[0] = v;
  for (let i = 0; i < layers; i++) {
    const nin = f[i];
    const nout = f[i + 1];
    const m = d.weights[i];
    const b = p.biases[i];
    const mBase = c * nout * nin;
    for (let j = 0; j < nout; j++) {
      let acc = b[c * nout + j];
      for (let k = 0; k < nin; k++) acc += m[mBase + j * nin + k] * cur[k];
      if (i < layers - 1) acc += d.gates[i][c * nout + j] * tanh(acc);
      nxt[j] = acc;
    }
    const tmp = cur;
    cur = nxt;
    nxt = tmp;
  }
  return cur[0];
}

/** |sigmoid(s*upper) - sigmoid(s*lower)| with s chosen so both sigmoids sit in the lower tail. */
function binMass(lower: number, upper: number): number {
  // s = -sign(lower + upper); at exactly 0 either sign is exact, take +1 (torch.sign(0) = 0 would give 0)
  const s = lower + upper > 0 ? -1 : 1;
  return Math.abs(sigmoid(s * upper) - sigmoid(s * lower));
}

/** P(z^) for channel c: sigmoid(c(z^+1/2)) - sigmoid(c(z^-1/2)) in the tail-stable form, floored at 1e-9. */
export function factorizedLikelihood(p: FactorizedParams, c: number, zHat: number): number {
  const lower = factorizedLogitsCumulative(p, c, zHat - 0.5);
  const upper = factorizedLogitsCumulative(p, c, zHat + 0.5);
  const lik = binMass(lower, upper);
  return lik < LIKELIHOOD_BOUND ? LIKELIHOOD_BOUND : lik; // NaN stays NaN
}

export function medians(p: FactorizedParams): Float64Array {
  derived(p);
  const out = new Float64Array(p.channels);
  for (let c = 0; c < p.channels; c++) out[c] = p.quantiles[c * 3 + 1];
  return out;
}

/**
 * One table per channel over z - median in [-minima, maxima], minima = max(0, ceil(median - q0)),
 * maxima = max(0, ceil(q2 - median)); offsets[c] = -minima; the overflow bin holds
 * sigmoid(c(lowest edge)) + sigmoid(-c(highest edge)).
 */
export function buildFactorizedTable(p: FactorizedParams): CdfTable {
  derived(p);
  const C = p.channels;
  const q = p.quantiles;
  const cdfs: Uint32Array[] = [];
  const offsets = new Int32Array(C);
  for (let c = 0; c < C; c++) {
    const med = q[c * 3 + 1];
    const minima = Math.max(0, Math.ceil(med - q[c * 3]));
    const maxima = Math.max(0, Math.ceil(q[c * 3 + 2] - med));
    const len = minima + maxima + 1;
    if (len > MAX_PMF_LENGTH) invalid(`channel ${c}: quantile range needs ${len} bins, at most ${MAX_PMF_LENGTH} fit`);
    const start = med - minima;
    // Each edge logit is evaluated once and shared by its two neighbouring bins.
    const edges = new Float64Array(len + 1);
    for (let k = 0; k <= len; k++) edges[k] = factorizedLogitsCumulative(p, c, start + (k - 0.5));
    const pmf = new Float64Array(len);
    for (let k = 0; k < len; k++) pmf[k] = binMass(edges[k], edges[k + 1]);
    const tail = sigmoid(edges[0]) + sigmoid(-edges[len]);
    cdfs.push(quantizePmfToCdf(pmf, tail));
    offsets[c] = -minima;
  }
  return { cdfs, offsets };
}
