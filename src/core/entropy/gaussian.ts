/**
 * Conditional Gaussian entropy model for y (method doc §2.4): likelihoods, scale indexes, coder tables.
 *
 * Determinism: the encoder and the decoder must build bit-identical CDF tables. Everything here is float64
 * and uses only +, -, *, /, comparisons, Math.round/ceil/abs and Math.exp. The first group is exactly
 * rounded by IEEE 754; V8's Math.exp is its port of fdlibm (src/base/ieee754.cc), the same code on every
 * platform, so any V8 (Node, Electron main/renderer) produces the same bits. Math.log/pow/erf-like
 * platform functions are avoided on purpose; erfc below is self-contained.
 *
 * Coding convention: symbols = round(y - mu), table index = scaleIndex(sigma), decoded y^ = symbol + mu.
 */
import { SgaiError } from '../errors';
import { quantizePmfToCdf, type CdfTable } from './rans';

export const SCALE_BOUND = 0.11;
export const LIKELIHOOD_BOUND = 1e-9;
/** Tail mass left outside the support of each coder table. */
export const GAUSSIAN_TAIL_MASS = 1e-9;
/** -Phi^{-1}(GAUSSIAN_TAIL_MASS / 2) = 6.10941020486939713994... (mpmath, 40 digits); verified by a test. */
export const GAUSSIAN_TAIL_MULTIPLIER = 6.1094102048693975;

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const ONE_OVER_SQRT_PI = 0.5641895835477563;
const LN_SCALE_MIN = -2.2072749131897207; // ln(0.11)
const LN_SCALE_MAX = 5.545177444479562; // ln(256)
const SCALE_TABLE_SIZE = 64;

// erfc(j/8) and exp(-(j/8)^2) for j = 4..40, rounded to nearest double (computed with mpmath at 50 digits).
const GRID_ERFC = new Float64Array([
  0.4795001221869535, 0.376759117811582, 0.28884436634648486, 0.21592493894014034,
  0.15729920705028513, 0.11161176829829224, 0.07709987174354177, 0.051829927217909674,
  0.033894853524689274, 0.021556266760016336, 0.013328328780817557, 0.00800994232988003,
  0.004677734981047266, 0.0026540293594823415, 0.0014627165866811518, 0.0007829382178911192,
  0.0004069520174449589, 0.00020537573614121745, 0.00010062192211963683, 4.785483974377341e-5,
  2.209049699858544e-5, 9.89673462524562e-6, 4.302779463675122e-6, 1.8152814274403558e-6,
  7.430983723414128e-7, 2.951401925115699e-7, 1.1372725656979665e-7, 4.2513944082491124e-8,
  1.541725790028002e-8, 5.423400799565066e-9, 1.8505741373867425e-9, 6.12483295356936e-10,
  1.9661604415428876e-10, 6.121610513034226e-11, 1.8485047721485312e-11, 5.413406466297941e-12,
  1.537459794428035e-12,
]);
const GRID_GAUSS = new Float64Array([
  0.7788007830714049, 0.676633846161729, 0.569782824730923, 0.4650431881340563,
  0.36787944117144233, 0.28206295169381546, 0.2096113871510978, 0.1509774184559146,
  0.10539922456186433, 0.07131668269775804, 0.04677062238395898, 0.02972921638615875,
  0.01831563888873418, 0.010936767510604966, 0.006329715427485747, 0.003550648557242539,
  0.0019304541362277093, 0.0010172778436147007, 0.0005195746821548384, 0.00025720811880066503,
  0.00012340980408667956, 5.739088873946875e-5, 2.586810022265412e-5, 1.1300936043146307e-5,
  4.785117392129009e-6, 1.9638082208988035e-6, 7.811489408304491e-7, 3.0115974460573396e-7,
  1.1253517471925912e-7, 4.075753933568295e-8, 1.4307241918567688e-8, 4.867793902108199e-9,
  1.6052280551856116e-9, 5.130617026091758e-10, 1.5893910094516368e-10, 4.772217220174583e-11,
  1.3887943864964021e-11,
]);

/** 1 - erfc for |x| < 0.5 from the Maclaurin series (erfc >= 0.48 there, so no cancellation to fear). */
function erfSmall(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 40; n++) {
    term *= -x2 / n;
    const c = term / (2 * n + 1);
    sum += c;
    if (Math.abs(c) <= 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * sum;
}

/**
 * 0.5 <= x < 5.0625: Taylor expansion around the nearest grid point a = j/8 (|h| <= 1/16):
 * erfc(a+h) = erfc(a) - 2/sqrt(pi) e^{-a^2} * integral_0^h e^{-2at-t^2} dt, where the integrand's Taylor
 * coefficients obey (n+1) b_{n+1} = -2a b_n - 2 b_{n-1} (Hermite recurrence).
 */
function erfcGrid(x: number): number {
  const j = Math.round(x * 8);
  const a = j / 8;
  const h = x - a; // exact (Sterbenz)
  let bPrev = 0;
  let b = 1;
  let hp = h;
  let integral = h;
  for (let n = 0; n < 40; n++) {
    const bn = (-2 * a * b - 2 * bPrev) / (n + 1);
    bPrev = b;
    b = bn;
    hp *= h;
    const term = (b * hp) / (n + 2);
    integral += term;
    if (Math.abs(term) <= 1e-17 * Math.abs(integral)) break;
  }
  return GRID_ERFC[j - 4] - TWO_OVER_SQRT_PI * GRID_GAUSS[j - 4] * integral;
}

/** e^{-x^2} without the error of rounding x^2: split x = hi + lo with hi^2 exact (Veltkamp). */
function expNegSquare(x: number): number {
  const c = 134217729 * x;
  const hi = c - (c - x);
  const lo = x - hi;
  return Math.exp(-hi * hi) * Math.exp(-(2 * hi * lo + lo * lo));
}

/** x >= 5.0625: Laplace continued fraction erfc = e^{-x^2}/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))) evaluated backwards. */
function erfcTail(x: number): number {
  const terms = Math.ceil(200 / (x * x)) + 10; // enough for < 1e-17 relative truncation error
  let t = 0;
  for (let k = terms; k >= 1; k--) t = (k * 0.5) / (x + t);
  return expNegSquare(x) * (ONE_OVER_SQRT_PI / (x + t));
}

/** Complementary error function, max relative error ~5e-16 where the result is a normal double. */
export function erfc(x: number): number {
  if (x !== x) return NaN;
  if (x < 0) {
    if (x > -0.5) return 1 - erfSmall(x);
    return 2 - erfc(-x);
  }
  if (x < 0.5) return 1 - erfSmall(x);
  if (x < 5.0625) return erfcGrid(x);
  if (x > 27.5) return 0; // erfc(27.5) < 2^-1074: underflows anyway
  return erfcTail(x);
}

/** Standard normal CDF, Phi(u) = erfc(-u/sqrt 2)/2. */
function phi(u: number): number {
  return 0.5 * erfc(-u * Math.SQRT1_2);
}

/** 64 scales log-spaced from 0.11 to 256; end points exact so scaleIndex(0.11) = 0 and scaleIndex(256) = 63. */
/** `size` scales log-spaced from 0.11 to 256, end points exact. */
export function logScaleTable(size: number): Float64Array {
  if (!Number.isInteger(size) || size < 2) throw new SgaiError('INVALID_ARGUMENT', `scale table needs at least 2 entries (got ${size})`);
  const t = new Float64Array(size);
  const step = (LN_SCALE_MAX - LN_SCALE_MIN) / (size - 1);
  for (let i = 0; i < size; i++) t[i] = Math.exp(LN_SCALE_MIN + i * step);
  t[0] = SCALE_BOUND;
  t[size - 1] = 256;
  return t;
}

/** CompressAI's 64-scale table (used for interop comparisons). */
export function defaultScaleTable(): Float64Array {
  return logScaleTable(SCALE_TABLE_SIZE);
}

/**
 * The table .sgai v1 codes y with: 256 scales. With CompressAI's 64 (a 13 % step) each latent is
 * coded with a Gaussian up to 13 % wider than predicted, which costs 2-3 % of the y stream; a
 * 3 % step brings that under 0.6 % for about 0.5 MB of tables.
 */
export const CODEC_SCALE_TABLE_SIZE = 256;
export function codecScaleTable(): Float64Array {
  return logScaleTable(CODEC_SCALE_TABLE_SIZE);
}

/**
 * Index of the coder table for a predicted scale: the number of entries of table[0..len-2] strictly
 * below max(scale, SCALE_BOUND) (CompressAI build_indexes), i.e. the smallest table scale >= the scale,
 * or the last one. `table` must be ascending. +Infinity maps to the last table. NaN throws
 * SgaiError('CORRUPT'): a NaN scale means the hyper-decoder output is broken, and silently picking a
 * table would decode garbage; the encoder must never produce one.
 */
export function scaleIndex(scale: number, table: Float64Array): number {
  if (scale !== scale) throw new SgaiError('CORRUPT', 'scale is NaN');
  const s = scale < SCALE_BOUND ? SCALE_BOUND : scale;
  let lo = 0;
  let hi = table.length - 1;
  if (hi < 0) throw new SgaiError('INVALID_ARGUMENT', 'scale table is empty');
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (table[mid] < s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** scaleIndex over an array; writes into `out` when given. */
export function scaleIndexes(scales: ArrayLike<number>, table: Float64Array, out?: Int32Array): Int32Array {
  const n = scales.length;
  const res = out ?? new Int32Array(n);
  if (res.length !== n) throw new SgaiError('INVALID_ARGUMENT', `output length ${res.length} != ${n}`);
  for (let i = 0; i < n; i++) res[i] = scaleIndex(scales[i], table);
  return res;
}

/**
 * One coder table per scale s: bins for symbols -c..c with c = ceil(s * GAUSSIAN_TAIL_MULTIPLIER) plus an
 * overflow bin holding the mass outside (2 * Phi((-1/2 - c)/s)); offsets[t] = -c.
 */
export function buildGaussianTable(table: Float64Array): CdfTable {
  const n = table.length;
  if (n < 1) throw new SgaiError('INVALID_ARGUMENT', 'scale table is empty');
  const cdfs: Uint32Array[] = [];
  const offsets = new Int32Array(n);
  for (let t = 0; t < n; t++) {
    const s = table[t];
    if (!(s > 0) || s === Infinity) throw new SgaiError('INVALID_ARGUMENT', `scale table[${t}] = ${s} must be finite and > 0`);
    if (t > 0 && !(s > table[t - 1])) throw new SgaiError('INVALID_ARGUMENT', 'scale table must be strictly increasing');
    const c = Math.ceil(s * GAUSSIAN_TAIL_MULTIPLIER);
    if (2 * c + 2 > 1 << 16) throw new SgaiError('INVALID_ARGUMENT', `scale ${s} needs more bins than a 16-bit CDF holds`);
    const pmf = new Float64Array(2 * c + 1);
    for (let a = 0; a <= c; a++) {
      // lower-tail form: both terms small, no cancellation
      const p = phi((0.5 - a) / s) - phi((-0.5 - a) / s);
      pmf[c + a] = p;
      pmf[c - a] = p;
    }
    const tail = 2 * phi((-0.5 - c) / s);
    cdfs.push(quantizePmfToCdf(pmf, tail));
    offsets[t] = -c;
  }
  return { cdfs, offsets };
}

/**
 * P(y^) for residual = y^ - mu: Phi((1/2 - |r|)/s) - Phi((-1/2 - |r|)/s), s = max(scale, 0.11), floored at
 * LIKELIHOOD_BOUND. NaN inputs give NaN (never silently the floor).
 */
export function gaussianLikelihood(residual: number, scale: number): number {
  const s = scale < SCALE_BOUND ? SCALE_BOUND : scale;
  const a = Math.abs(residual);
  const p = phi((0.5 - a) / s) - phi((-0.5 - a) / s);
  return p < LIKELIHOOD_BOUND ? LIKELIHOOD_BOUND : p;
}
