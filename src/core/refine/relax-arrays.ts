/**
 * The relaxation of relax.ts and its derivative, elementwise on plain arrays, for the ONNX Runtime
 * path: offset + relax(v - offset) and d/dv of it. The same formulas, clips and floors as the tfjs
 * ops (whose gradients define the derivative: a clip or floor that is active passes no gradient),
 * in float64 with float32 inputs and outputs. tfjs ran ~40 elementwise kernels forward and back
 * for this, a quarter of an ORT step on wasm; one pass in JavaScript costs a few milliseconds.
 * test/refine-ort.test.ts checks value and slope against tfjs autograd for every method.
 */
import { roundHalfEven } from '../pipeline/latent-coding';
import { isThreeClass, type ProbabilityParams, type RefineMethod, type ThreeClassMethod, type TwoClassMethod } from './probabilities';

const f32 = Math.fround;
// Clip bounds as float32 tensors hold them.
const CLIP2_LO = f32(1e-5);
const CLIP2_HI = f32(1 - 1e-5);
const CLIP3_LO = f32(1e-6);
const CLIP3_HI = f32(1 - 1e-6);
const LOG_CLIP3 = Math.log(1e-6);

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** log q(d) of a two-class method and its derivative (0 where a clip is active). d is already clipped to [0, 1-1e-5]. */
function logQ2(method: TwoClassMethod, d: number, p: ProbabilityParams): [number, number] {
  switch (method) {
    case 'sga': {
      const c = Math.min(Math.max(d, CLIP2_LO), CLIP2_HI);
      return [-Math.atanh(c), d >= CLIP2_LO && d <= CLIP2_HI ? -1 / (1 - c * c) : 0];
    }
    case 'linear':
      return [Math.log(1 - d), -1 / (1 - d)];
    case 'cosine': {
      const cs = Math.cos((d * Math.PI) / 2);
      const q = cs * cs + 1e-7;
      return [Math.log(q), (-Math.PI * cs * Math.sin((d * Math.PI) / 2)) / q];
    }
    case 'ssl': {
      const c = Math.min(Math.max(d, CLIP2_LO), CLIP2_HI);
      const x = p.a * (Math.log(c) - Math.log1p(-c));
      const inside = d >= CLIP2_LO && d <= CLIP2_HI;
      return [-softplus(x), inside ? -sigmoid(x) * p.a * (1 / c + 1 / (1 - c)) : 0];
    }
  }
}

/** log q3(D) of a three-class method and its derivative with respect to D. */
function logQ3(method: ThreeClassMethod, D: number, p: ProbabilityParams): [number, number] {
  switch (method) {
    case 'linear3': {
      const u = 1 - D * p.rf;
      return u >= CLIP3_LO ? [p.n * Math.log(u), (-p.n * p.rf) / u] : [p.n * Math.log(CLIP3_LO), 0];
    }
    case 'cosine3': {
      const m = Math.min(D * p.rf, 1);
      const c = Math.cos((m * Math.PI) / 2);
      const q = Math.max(c, 0);
      const P = q ** p.n + 1e-7;
      const dm = D * p.rf <= 1 ? p.rf : 0;
      const dq = c > 0 ? -Math.sin((m * Math.PI) / 2) * (Math.PI / 2) * dm : 0;
      return [Math.log(P), q > 0 ? (p.n * q ** (p.n - 1) * dq) / P : 0];
    }
    case 'ssl3': {
      const raw = (D * p.rf) / 1.5;
      const c = Math.min(Math.max(raw, CLIP3_LO), CLIP3_HI);
      const x = p.a * (Math.log(c) - Math.log1p(-c));
      const h = -softplus(x);
      if (h < LOG_CLIP3) return [p.n * LOG_CLIP3, 0];
      const inside = raw >= CLIP3_LO && raw <= CLIP3_HI;
      return [p.n * h, inside ? (p.n * -sigmoid(x) * p.a * (1 / c + 1 / (1 - c)) * p.rf) / 1.5 : 0];
    }
  }
}

/**
 * value[i] = offset + relax(v[i] - offset) and slope[i] = its derivative with respect to v[i].
 * `offset` has v's length (the means) or one value per channel (the medians; v is HWC, channels
 * last); `gumbel` holds one array per class, v's length each.
 */
export function relaxWithSlope(
  v: Float32Array, offset: Float32Array, tau: number, method: RefineMethod, p: ProbabilityParams, gumbel: Float32Array[],
  value = new Float32Array(v.length), slope = new Float32Array(v.length),
): { value: Float32Array; slope: Float32Array } {
  const inv = 1 / tau;
  const inv2 = inv * inv;
  const C = offset.length;
  const perElement = C === v.length;
  if (!isThreeClass(method)) {
    const m = method as TwoClassMethod;
    const [g0, g1] = gumbel;
    for (let i = 0; i < v.length; i++) {
      const o = offset[perElement ? i : i % C];
      const u = f32(v[i] - o);
      const f = Math.floor(u);
      const c = Math.ceil(u);
      const dfRaw = u - f;
      const dcRaw = c - u;
      if (m === 'ssl' && dfRaw >= CLIP2_LO && dcRaw >= CLIP2_LO) {
        // No clip active, dc = 1 - df exactly: log q(dc) - log q(df) = a logit(df), and the
        // derivative of that is a / (df dc). Same value as the general path, one log and one exp.
        const s = sigmoid(p.a * Math.log(dfRaw / dcRaw) * inv2 + (g1[i] - g0[i]) * inv);
        value[i] = f32(o + f32(f + s));
        slope[i] = f32((s * (1 - s) * p.a * inv2) / (dfRaw * dcRaw));
        continue;
      }
      const [lf, lfd] = logQ2(m, Math.min(dfRaw, CLIP2_HI), p);
      const [lc, lcd] = logQ2(m, Math.min(dcRaw, CLIP2_HI), p);
      const s = sigmoid((lc - lf) * inv2 + (g1[i] - g0[i]) * inv);
      value[i] = f32(o + f32(f + s * (c - f)));
      // d diff/du = (-lq'(dc) [dc unclipped] - lq'(df) [df unclipped]) / tau^2
      const dDiff = (-(dcRaw <= CLIP2_HI ? lcd : 0) - (dfRaw <= CLIP2_HI ? lfd : 0)) * inv2;
      slope[i] = f32(s * (1 - s) * (c - f) * dDiff);
    }
    return { value, slope };
  }
  const m = method as ThreeClassMethod;
  const a = [0, 0, 0];
  const da = [0, 0, 0];
  for (let i = 0; i < v.length; i++) {
    const o = offset[perElement ? i : i % C];
    const u = f32(v[i] - o);
    const r = roundHalfEven(u);
    for (let k = 0; k < 3; k++) {
      const e = u - (r + k - 1);
      const [lq, lqd] = logQ3(m, Math.abs(e), p);
      a[k] = lq * inv2 + gumbel[k][i] * inv;
      da[k] = lqd * Math.sign(e) * inv2;
    }
    const top = Math.max(a[0], a[1], a[2]);
    const e0 = Math.exp(a[0] - top);
    const e1 = Math.exp(a[1] - top);
    const e2 = Math.exp(a[2] - top);
    const S = e0 + e1 + e2;
    const w0 = e0 / S;
    const w2 = e2 / S;
    value[i] = f32(o + f32(r + (e2 - e0) / S));
    // d(w2 - w0)/du with dw_i/da_k = w_i (delta_ik - w_k)
    const mean = w0 * da[0] + (e1 / S) * da[1] + w2 * da[2];
    slope[i] = f32(w2 * da[2] - w0 * da[0] - (w2 - w0) * mean);
  }
  return { value, slope };
}
