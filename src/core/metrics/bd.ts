/**
 * Bjontegaard-delta metrics: the average rate difference at equal quality (BD-rate) and the
 * average quality difference at equal rate (BD-PSNR) between two R-D curves.
 *
 * Two interpolations of the curves, both integrated exactly over the overlap of the two curves:
 * - 'pchip': piecewise cubic Hermite with Fritsch-Carlson/Butland monotone slopes, as in the
 *   JCT-VC/JVET common-test-conditions sheets and scipy's PchipInterpolator. Default: it cannot
 *   overshoot between points, which the single cubic of VCEG-M33 can for uneven curves.
 * - 'cubic': the original VCEG-M33 least-squares cubic polynomial (exact through 4 points).
 *
 * Rates are compared in the log domain, so any rate unit (bpp, bytes, kbit/s) gives the same
 * result. "quality" is any higher-is-better metric in dB (PSNR, MS-SSIM dB).
 */
import { SgaiError } from '../errors';

export interface RdPoint {
  /** Rate, > 0 (bpp here). */
  rate: number;
  /** Quality, higher is better (dB). */
  quality: number;
}

export type BdMethod = 'pchip' | 'cubic';

/** A function known on [lo, hi] that can be integrated exactly over any sub-interval. */
interface Integrable {
  lo: number;
  hi: number;
  integral(a: number, b: number): number;
}

/** Hermite slopes at the knots, monotone-preserving (Fritsch-Carlson with Butland's weights). */
function pchipSlopes(x: number[], y: number[]): number[] {
  const n = x.length;
  const h: number[] = [];
  const m: number[] = [];
  for (let k = 0; k < n - 1; k++) {
    h.push(x[k + 1] - x[k]);
    m.push((y[k + 1] - y[k]) / h[k]);
  }
  if (n === 2) return [m[0], m[0]];
  const d = new Array<number>(n).fill(0);
  for (let k = 1; k < n - 1; k++) {
    // A local extremum or flat piece gets a zero slope so the curve cannot overshoot.
    if (m[k - 1] * m[k] <= 0) continue;
    const w1 = 2 * h[k] + h[k - 1];
    const w2 = h[k] + 2 * h[k - 1];
    d[k] = (w1 + w2) / (w1 / m[k - 1] + w2 / m[k]);
  }
  // One-sided three-point end slopes, limited so they keep the end interval monotone.
  const end = (h0: number, h1: number, m0: number, m1: number): number => {
    let s = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1);
    if (Math.sign(s) !== Math.sign(m0)) s = 0;
    else if (Math.sign(m0) !== Math.sign(m1) && Math.abs(s) > Math.abs(3 * m0)) s = 3 * m0;
    return s;
  };
  d[0] = end(h[0], h[1], m[0], m[1]);
  d[n - 1] = end(h[n - 2], h[n - 3], m[n - 2], m[n - 3]);
  return d;
}

/** Piecewise cubic Hermite through (x, y); x strictly increasing, at least 2 points. */
export function pchip(x: number[], y: number[]): Integrable & { at(v: number): number } {
  const n = x.length;
  const d = pchipSlopes(x, y);
  // Per interval: y(t) = c0 + c1 t + c2 t^2 + c3 t^3 with t = v - x[k].
  const coef = Array.from({ length: n - 1 }, (_, k) => {
    const h = x[k + 1] - x[k];
    const m = (y[k + 1] - y[k]) / h;
    return [y[k], d[k], (3 * m - 2 * d[k] - d[k + 1]) / h, (d[k] + d[k + 1] - 2 * m) / (h * h)];
  });
  const piece = (v: number): number => {
    let k = 0;
    while (k < n - 2 && v >= x[k + 1]) k++;
    return k;
  };
  const prim = (k: number, t: number): number => {
    const [c0, c1, c2, c3] = coef[k];
    return t * (c0 + t * (c1 / 2 + t * (c2 / 3 + t * (c3 / 4))));
  };
  return {
    lo: x[0],
    hi: x[n - 1],
    at(v) {
      const k = piece(v);
      const t = v - x[k];
      const [c0, c1, c2, c3] = coef[k];
      return c0 + t * (c1 + t * (c2 + t * c3));
    },
    integral(a, b) {
      let sum = 0;
      for (let k = 0; k < n - 1; k++) {
        const s = Math.max(a, x[k]);
        const e = Math.min(b, x[k + 1]);
        if (e > s) sum += prim(k, e - x[k]) - prim(k, s - x[k]);
      }
      return sum;
    },
  };
}

/**
 * Least-squares polynomial of the given degree, coefficients lowest power first, fitted on x
 * mapped to [-1,1] (returned as `center`/`scale`) so the normal matrix stays well conditioned.
 * Solved by Householder QR rather than normal equations for the same reason.
 */
export function polyfit(x: number[], y: number[], degree: number): { coef: number[]; center: number; scale: number } {
  const n = x.length;
  const p = degree + 1;
  if (n < p) throw new SgaiError('INVALID_ARGUMENT', `a degree-${degree} fit needs at least ${p} points, got ${n}`);
  const lo = Math.min(...x);
  const hi = Math.max(...x);
  const center = (lo + hi) / 2;
  const scale = hi > lo ? (hi - lo) / 2 : 1;
  // Vandermonde A (n x p) and right-hand side b, both overwritten by QR.
  const A = x.map((v) => {
    const t = (v - center) / scale;
    return Array.from({ length: p }, (_, j) => t ** j);
  });
  const b = [...y];
  for (let j = 0; j < p; j++) {
    let norm = 0;
    for (let i = j; i < n; i++) norm += A[i][j] ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) throw new SgaiError('INVALID_ARGUMENT', 'polynomial fit is singular (repeated x values)');
    const alpha = A[j][j] > 0 ? -norm : norm;
    const v = Array.from({ length: n }, (_, i) => (i < j ? 0 : A[i][j]));
    v[j] -= alpha;
    let vv = 0;
    for (let i = j; i < n; i++) vv += v[i] * v[i];
    if (vv === 0) continue;
    for (let c = j; c < p; c++) {
      let dot = 0;
      for (let i = j; i < n; i++) dot += v[i] * A[i][c];
      const f = (2 * dot) / vv;
      for (let i = j; i < n; i++) A[i][c] -= f * v[i];
    }
    let dot = 0;
    for (let i = j; i < n; i++) dot += v[i] * b[i];
    const f = (2 * dot) / vv;
    for (let i = j; i < n; i++) b[i] -= f * v[i];
  }
  const coef = new Array<number>(p).fill(0);
  for (let j = p - 1; j >= 0; j--) {
    let s = b[j];
    for (let c = j + 1; c < p; c++) s -= A[j][c] * coef[c];
    if (Math.abs(A[j][j]) < 1e-14) throw new SgaiError('INVALID_ARGUMENT', 'polynomial fit is singular (too few distinct x values)');
    coef[j] = s / A[j][j];
  }
  return { coef, center, scale };
}

function cubicFit(x: number[], y: number[]): Integrable {
  const { coef, center, scale } = polyfit(x, y, 3);
  // Antiderivative in the scaled variable t, times dx/dt = scale.
  const prim = (v: number): number => {
    const t = (v - center) / scale;
    let s = 0;
    for (let j = coef.length - 1; j >= 0; j--) s = s * t + coef[j] / (j + 1);
    return s * t * scale;
  };
  return { lo: Math.min(...x), hi: Math.max(...x), integral: (a, b) => prim(b) - prim(a) };
}

/** Sorted (x, y) with x strictly increasing; throws on too few points or repeated x. */
function curve(xs: number[], ys: number[], method: BdMethod, what: string): Integrable {
  const minPts = method === 'cubic' ? 4 : 2;
  if (xs.length < minPts) {
    throw new SgaiError('INVALID_ARGUMENT', `${what} has ${xs.length} R-D point(s); BD (${method}) needs at least ${minPts}`);
  }
  const idx = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
  const x = idx.map((i) => xs[i]);
  const y = idx.map((i) => ys[i]);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) throw new SgaiError('INVALID_ARGUMENT', `${what} has a non-finite value`);
    if (i > 0 && !(x[i] > x[i - 1])) {
      throw new SgaiError('INVALID_ARGUMENT', `${what} has two points at the same ${x[i]}; BD needs distinct values`);
    }
  }
  return method === 'cubic' ? cubicFit(x, y) : pchip(x, y);
}

function checkRates(points: RdPoint[], what: string): void {
  for (const p of points) {
    if (!(p.rate > 0)) throw new SgaiError('INVALID_ARGUMENT', `${what} has a rate of ${p.rate}; rates must be > 0`);
  }
}

/** Mean difference (test - anchor) of two curves over the overlap of their x ranges. */
function meanGap(a: Integrable, t: Integrable): number {
  const lo = Math.max(a.lo, t.lo);
  const hi = Math.min(a.hi, t.hi);
  if (!(hi > lo)) {
    throw new SgaiError('INVALID_ARGUMENT', `the two R-D curves do not overlap (anchor ${a.lo.toFixed(3)}..${a.hi.toFixed(3)}, test ${t.lo.toFixed(3)}..${t.hi.toFixed(3)})`);
  }
  return (t.integral(lo, hi) - a.integral(lo, hi)) / (hi - lo);
}

/**
 * BD-rate of `test` against `anchor` in percent: the average rate change at equal quality over
 * the quality range both curves cover. Negative = test needs fewer bits.
 */
export function bdRate(anchor: RdPoint[], test: RdPoint[], method: BdMethod = 'pchip'): number {
  checkRates(anchor, 'anchor');
  checkRates(test, 'test');
  const a = curve(anchor.map((p) => p.quality), anchor.map((p) => Math.log(p.rate)), method, 'the anchor curve');
  const t = curve(test.map((p) => p.quality), test.map((p) => Math.log(p.rate)), method, 'the tested curve');
  return (Math.exp(meanGap(a, t)) - 1) * 100;
}

/** BD-PSNR (BD-quality) of `test` against `anchor` in dB: the average quality gain at equal rate. */
export function bdQuality(anchor: RdPoint[], test: RdPoint[], method: BdMethod = 'pchip'): number {
  checkRates(anchor, 'anchor');
  checkRates(test, 'test');
  const a = curve(anchor.map((p) => Math.log(p.rate)), anchor.map((p) => p.quality), method, 'the anchor curve');
  const t = curve(test.map((p) => Math.log(p.rate)), test.map((p) => p.quality), method, 'the tested curve');
  return meanGap(a, t);
}

/** Alias: BD-PSNR is BD-quality with PSNR as the quality. */
export const bdPsnr = bdQuality;
