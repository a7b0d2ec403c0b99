/**
 * ONNX graphs for SGA+ refinement on ONNX Runtime, built at load time from the model's weights
 * like graphs.ts. ORT has no training API in Node, but refinement only needs the gradient of the
 * loss with respect to the latents, and that is itself a feed-forward network: the adjoint of a
 * stride-1 convolution is a convolution with the 180-degree-rotated kernel (in and out swapped),
 * of a transposed convolution a strided convolution with the same weights, and GDN/LeakyReLU
 * adjoints are elementwise ops plus a 1x1 convolution with the transposed gamma. So one graph
 * computes the loss and its gradients in one call.
 *
 * Two graphs (the relaxation between them stays in TypeScript, refine/ort-gradients.ts):
 * - means graph: z^ -> means of h_s(z^) (y^ = means + relax(y - means) needs them first);
 * - loss graph: (z^, y^, dMeans, x, lambda, crop size) -> loss, bpp, mse and, optionally,
 *   dL/dy^ and dL/dz^. dMeans = dy^/dmeans (the relaxation's sensitivity, elementwise), so the
 *   graph folds dL/dy^ * dMeans into the means gradient before the h_s adjoint; dL/dz^ is total
 *   (h_s means and scales, and the factorized prior).
 *
 * The forward is the differentiable tfjs path's (refine/differentiable.ts) op for op, with the
 * same erfc fit and floors (scale >= 0.11, likelihood >= 1e-9), so the two backends compute one
 * function. Gradients are analytic: where tfjs differentiates the erfc fit, this uses the exact
 * Gaussian density, and where a floor clamps, the gradient is zero (as tf.maximum's is).
 *
 * Tensors are NCHW inside, NHWC at the inputs and outputs (batch 1); sizes are symbolic, so one
 * session serves every image and tile size.
 */
import { SgaiError } from '../errors';
import type { FactorizedParams } from '../entropy/factorized';
import type { ConvWeights, GdnWeights, HyperpriorWeights, Layer, UpWeights } from '../model/weights';
import { OnnxGraph } from './onnx';
import { conv, transposedKernel, up, type UpForm } from './graphs';

export const REFINE_IN = {
  z: 'z_hat', y: 'y_hat', dMeans: 'd_means', x: 'x', lambda: 'lambda', cropHeight: 'crop_h', cropWidth: 'crop_w',
} as const;
export const REFINE_OUT = { loss: 'loss', bpp: 'bpp', mse: 'mse', bitsY: 'bits_y', bitsZ: 'bits_z', dy: 'grad_y_hat', dz: 'grad_z_hat' } as const;
export const MEANS_IN = 'z_hat';
export const MEANS_OUT = 'means';

/**
 * How the adjoint of a transposed convolution runs: SpaceToDepth + the phase convolution's
 * adjoint (3x3, 4*cout -> cin), or one stride-2 5x5 convolution with the transposed kernel
 * (25/36 of the multiply-adds: the phase form carries the zero taps).
 */
export type AdjointUpForm = 'phase' | 'strided';

/** Graph forms of the transposed convolutions, forward (graphs.ts's UpForm) and adjoint; same function. */
export interface RefineGraphForm {
  up: UpForm;
  adjoint: AdjointUpForm;
}
export const DEFAULT_REFINE_FORM: RefineGraphForm = { up: 'phase', adjoint: 'strided' };

const SCALE_FLOOR = 0.11;
const LIKELIHOOD_FLOOR = 1e-9;
/** Numerical Recipes' erfc Chebyshev fit, as refine/differentiable.ts evaluates it. */
const ERFC_COEFFS = [0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196, 1.00002368, -1.26551223];

/** OnnxGraph plus named elementwise helpers and shared constants. */
class Ops {
  private readonly scalars = new Map<number, string>();
  constructor(readonly g: OnnxGraph) {}

  f(v: number): string {
    let name = this.scalars.get(v);
    if (!name) this.scalars.set(v, (name = this.g.constant('c', [], Float32Array.of(v))));
    return name;
  }
  /** A 1-D int64 tensor (shapes, axes, slice bounds). */
  ints(v: number[]): string {
    return this.g.node('Constant', [], { value_ints: v });
  }
  op(name: string, ...inputs: string[]): string {
    return this.g.node(name, inputs);
  }
  add(a: string, b: string): string { return this.op('Add', a, b); }
  sub(a: string, b: string): string { return this.op('Sub', a, b); }
  mul(a: string, b: string): string { return this.op('Mul', a, b); }
  div(a: string, b: string): string { return this.op('Div', a, b); }
  /** Where(cond, a, b) with cond a bool tensor. */
  where(cond: string, a: string, b: string): string { return this.op('Where', cond, a, b); }
  sum(x: string): string { return this.g.node('ReduceSum', [x], { keepdims: 0 }); }
  nchw(x: string): string { return this.g.node('Transpose', [x], { perm: [0, 3, 1, 2] }); }
  nhwc(x: string, out?: string): string { return this.g.node('Transpose', [x], { perm: [0, 2, 3, 1] }, out); }
}

/** One layer's forward, with what its adjoint needs. */
interface Step {
  layer: Layer;
  input: string;
  output: string;
  /** GDN/IGDN: sqrt of the norm. */
  root?: string;
}

function forward(o: Ops, x: string, layers: Layer[], upForm: UpForm = 'phase'): { out: string; steps: Step[] } {
  const steps: Step[] = [];
  for (const l of layers) {
    const input = x;
    let root: string | undefined;
    if (l.kind === 'conv') {
      if (l.stride !== 1) throw new SgaiError('INVALID_ARGUMENT', 'refinement graphs differentiate stride-1 convolutions only (decoder side)');
      x = conv(o.g, x, l);
    } else if (l.kind === 'up') x = up(o.g, x, l, upForm);
    else if (l.kind === 'leaky') x = o.g.node('LeakyRelu', [x], { alpha: { f: 0.01 } });
    else {
      root = o.op('Sqrt', gdnNorm(o, x, l));
      x = l.kind === 'gdn' ? o.div(x, root) : o.mul(x, root);
    }
    steps.push({ layer: l, input, output: x, root });
  }
  return { out: x, steps };
}

function gdnNorm(o: Ops, x: string, l: GdnWeights): string {
  const c = l.channels;
  // l.gamma is the tfjs 1x1 filter [in=j][out=i]; ONNX wants [out=i][in=j].
  const w = new Float32Array(c * c);
  for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) w[i * c + j] = l.gamma[j * c + i];
  return o.g.node('Conv', [o.mul(x, x), o.g.constant('gamma', [c, c, 1, 1], w), o.g.constant('beta', [c], l.beta)], { kernel_shape: [1, 1] });
}

/** d(conv)/dx of a stride-1 "same" convolution: the rotated kernel with in/out swapped. */
function convAdjointStride1(o: Ops, g: string, filter: Float32Array, k: number, cin: number, cout: number): string {
  const w = new Float32Array(filter.length); // ONNX [out=cin][in=cout][k][k]
  for (let i = 0; i < cin; i++)
    for (let c = 0; c < cout; c++)
      for (let y = 0; y < k; y++)
        for (let x = 0; x < k; x++) w[((i * cout + c) * k + y) * k + x] = filter[(((k - 1 - y) * k + (k - 1 - x)) * cin + i) * cout + c];
  const p = k >> 1;
  return o.g.node('Conv', [g, o.g.constant('wadj', [cin, cout, k, k], w)], { kernel_shape: [k, k], pads: [p, p, p, p] });
}

function upAdjoint(o: Ops, g: string, l: UpWeights, form: AdjointUpForm): string {
  if (form === 'strided') {
    // Forward: out[2i - 2 + k] += x[i] w[k] per axis, so dx[i] = sum_k dy[2i - 2 + k] w[k]: a
    // stride-2 correlation with the ConvTranspose weight [cin][cout][5][5] read as [out][in].
    const w = o.g.constant('wtadj', [l.cin, l.cout, 5, 5], transposedKernel(l));
    return o.g.node('Conv', [g, w], { kernel_shape: [5, 5], strides: [2, 2], pads: [2, 2, 1, 1] });
  }
  // SpaceToDepth is DepthToSpace(DCR)'s inverse: phase channel (ry*2+rx)*cout + o again.
  return convAdjointStride1(o, o.g.node('SpaceToDepth', [g], { blocksize: 2 }), l.filter, 3, l.cin, 4 * l.cout);
}

/** dx of IGDN's y = x * sqrt(n), n = beta + gamma x^2. */
function gdnAdjoint(o: Ops, g: string, s: Step): string {
  const l = s.layer as GdnWeights;
  const c = l.channels;
  const x = s.input;
  const root = s.root!;
  // l.gamma [in=j][out=i] read as ONNX [out][in] is exactly the transposed gamma.
  const gammaT = o.g.constant('gammaT', [c, c, 1, 1], l.gamma);
  const back = (v: string) => o.g.node('Conv', [v, gammaT], { kernel_shape: [1, 1] });
  // The decoder side (h_s, g_s) has IGDN only; GDN belongs to g_a, which refinement never differentiates.
  if (l.kind !== 'igdn') throw new SgaiError('INVALID_ARGUMENT', 'refinement graphs differentiate IGDN only (decoder side)');
  // dx = g sqrt(n) + x * G^T(g x / sqrt(n))
  return o.add(o.mul(g, root), o.mul(x, back(o.div(o.mul(g, x), root))));
}

function adjoint(o: Ops, g: string, steps: Step[], form: AdjointUpForm): string {
  for (let i = steps.length - 1; i >= 0; i--) {
    const s = steps[i];
    const l = s.layer;
    if (l.kind === 'conv') g = convAdjointStride1(o, g, (l as ConvWeights).filter, l.k, l.cin, l.cout);
    else if (l.kind === 'up') g = upAdjoint(o, g, l, form);
    else if (l.kind === 'leaky') g = o.where(o.op('Greater', s.input, o.f(0)), g, o.mul(g, o.f(0.01)));
    else g = gdnAdjoint(o, g, s);
  }
  return g;
}

/** erfc(x) by the same fit and op order as erfcTf. */
function erfc(o: Ops, x: string): string {
  const z = o.op('Abs', x);
  const t = o.div(o.f(1), o.add(o.f(1), o.mul(o.f(0.5), z)));
  let poly = o.mul(o.f(ERFC_COEFFS[0]), t);
  poly = o.add(poly, o.f(ERFC_COEFFS[1]));
  for (let i = 2; i < ERFC_COEFFS.length; i++) poly = o.add(o.mul(poly, t), o.f(ERFC_COEFFS[i]));
  const ans = o.mul(t, o.op('Exp', o.sub(poly, o.mul(z, z))));
  return o.add(ans, o.mul(o.sub(o.f(1), o.op('Sign', x)), o.sub(o.f(1), ans)));
}

/** Standard normal density. */
function phi(o: Ops, u: string): string {
  return o.mul(o.f(1 / Math.sqrt(2 * Math.PI)), o.op('Exp', o.mul(o.f(-0.5), o.mul(u, u))));
}

/**
 * Bits (in nats) of y^ under N(means, max(scales, 0.11)) integrated over unit bins, and its
 * gradients with respect to y^, means and scales (scaled by `k`, the rate's weight in the loss).
 */
function gaussianRate(o: Ops, yHat: string, means: string, scales: string, k: string | null) {
  const s = o.op('Max', scales, o.f(SCALE_FLOOR));
  const d = o.sub(yHat, means);
  const r = o.op('Abs', d);
  const a = o.div(o.sub(r, o.f(0.5)), s);
  const b = o.div(o.add(r, o.f(0.5)), s);
  const upper = o.mul(o.f(0.5), erfc(o, o.mul(a, o.f(Math.SQRT1_2))));
  const lower = o.mul(o.f(0.5), erfc(o, o.mul(b, o.f(Math.SQRT1_2))));
  const lik = o.sub(upper, lower);
  const likC = o.op('Max', lik, o.f(LIKELIHOOD_FLOOR));
  const nats = o.op('Neg', o.sum(o.op('Log', likC)));
  if (k === null) return { nats };
  // d(-log lik)/dlik = -1/lik where the floor does not clamp; lik = Phi(-a) - Phi(-b), so
  // dlik/dr = (phi(b) - phi(a)) / s and dlik/ds = (a phi(a) - b phi(b)) / s.
  const pa = phi(o, a);
  const pb = phi(o, b);
  const coef = o.where(o.op('GreaterOrEqual', lik, o.f(LIKELIHOOD_FLOOR)), o.div(o.op('Neg', k), o.mul(likC, s)), o.f(0));
  const dR = o.mul(coef, o.sub(pb, pa));
  const dY = o.mul(dR, o.op('Sign', d));
  const dS = o.where(o.op('GreaterOrEqual', scales, o.f(SCALE_FLOOR)), o.mul(coef, o.sub(o.mul(a, pa), o.mul(b, pb))), o.f(0));
  return { nats, dY, dMeans: o.op('Neg', dY), dScales: dS };
}

/** Per-channel constants of the factorized prior's logits network, as refine/differentiable.ts prepares them. */
function factorizedConsts(o: Ops, p: FactorizedParams) {
  const C = p.channels;
  const f = p.filters;
  const softplus = (v: number) => (v > 30 ? v : Math.log1p(Math.exp(v)));
  const layers: { m: string; b: string; gate: string | null }[] = [];
  for (let i = 0; i < f.length - 1; i++) {
    const m = Float32Array.from(p.matrices[i], (v) => softplus(Math.fround(v)));
    const b = Float32Array.from(p.biases[i]);
    const gate = i < p.factors.length ? o.g.constant('fgate', [C, f[i + 1], 1], Float32Array.from(p.factors[i], (v) => Math.tanh(Math.fround(v)))) : null;
    layers.push({ m: o.g.constant('fmat', [C, f[i + 1], f[i]], m), b: o.g.constant('fbias', [C, f[i + 1], 1], b), gate });
  }
  return layers;
}

/**
 * The logits network at v [C, 1, K] and, in forward mode, its derivative d logits / dv (the
 * input is one scalar per element, so forward mode costs one extra matmul chain).
 */
function logitsCumulative(o: Ops, v: string, layers: ReturnType<typeof factorizedConsts>, tangent: boolean) {
  let h = v;
  let t: string | null = null; // d h / d v; the first layer's is its matrix, broadcast
  for (const [i, l] of layers.entries()) {
    h = o.add(o.op('MatMul', l.m, h), l.b);
    if (tangent) t = i === 0 ? l.m : o.op('MatMul', l.m, t!);
    if (l.gate) {
      const th = o.op('Tanh', h);
      if (tangent) t = o.mul(t!, o.add(o.f(1), o.mul(l.gate, o.sub(o.f(1), o.mul(th, th)))));
      h = o.add(h, o.mul(l.gate, th));
    }
  }
  return { h, t };
}

/**
 * 1 / (1 + exp(-v)), relatively exact far into the lower tail, where the likelihood is the
 * difference of two small sigmoids. ORT's Sigmoid kernel clamps its input to about [-18, 18].
 */
function sigmoid(o: Ops, v: string): string {
  return o.div(o.f(1), o.add(o.f(1), o.op('Exp', o.op('Neg', v))));
}

/** Bits (nats) of z^ [1, C, zh, zw] under the factorized prior, and d bits/dz^ times k. */
function factorizedRate(o: Ops, zHat: string, p: FactorizedParams, k: string | null) {
  const layers = factorizedConsts(o, p);
  // [1, C, zh, zw] -> [C, 1, zh*zw] (the protobuf writer has no negative ints, so no Reshape -1)
  const v = o.op('Unsqueeze', o.g.node('Flatten', [zHat], { axis: 2 }), o.ints([1]));
  const lo = logitsCumulative(o, o.sub(v, o.f(0.5)), layers, k !== null);
  const up = logitsCumulative(o, o.add(v, o.f(0.5)), layers, k !== null);
  // Evaluated on the tail where both sigmoids are small: s = -sign(lower + upper), 0 -> +1.
  const sg = o.op('Sign', o.add(lo.h, up.h));
  const s = o.sub(o.sub(o.f(1), o.op('Abs', sg)), sg);
  const su = sigmoid(o, o.mul(s, up.h));
  const sl = sigmoid(o, o.mul(s, lo.h));
  const diff = o.sub(su, sl);
  const lik = o.op('Abs', diff);
  const likC = o.op('Max', lik, o.f(LIKELIHOOD_FLOOR));
  const nats = o.op('Neg', o.sum(o.op('Log', likC)));
  if (k === null) return { nats };
  const dsig = (sv: string) => o.mul(sv, o.sub(o.f(1), sv));
  const dLik = o.mul(o.mul(o.op('Sign', diff), s), o.sub(o.mul(dsig(su), up.t!), o.mul(dsig(sl), lo.t!)));
  const coef = o.where(o.op('GreaterOrEqual', lik, o.f(LIKELIHOOD_FLOOR)), o.div(o.op('Neg', k), likC), o.f(0));
  const dZ = o.op('Reshape', o.mul(coef, dLik), o.op('Shape', zHat));
  return { nats, dZ };
}

/** Float 1/0 mask [H, W] of the rows < cropH and columns < cropW of an NCHW map. */
function cropMask(o: Ops, xN: string, cropH: string, cropW: string): string {
  const dim = (axis: number) => o.g.node('Cast', [o.g.node('Gather', [o.op('Shape', xN), o.g.node('Constant', [], { value_int: axis })])], { to: 1 });
  const idx = (axis: number) => o.op('Range', o.f(0), dim(axis), o.f(1));
  const rows = o.g.node('Cast', [o.op('Less', idx(2), cropH)], { to: 1 });
  const cols = o.g.node('Cast', [o.op('Less', idx(3), cropW)], { to: 1 });
  return o.mul(o.op('Unsqueeze', rows, o.ints([1])), cols);
}

/** The means graph: z^ [1, zh, zw, N] -> means [1, 4zh, 4zw, M]. */
export function meansModel(w: HyperpriorWeights): Uint8Array {
  const o = new Ops(new OnnxGraph('sgai_refine_means'));
  const z = o.nchw(o.g.input(MEANS_IN, [1, 'zh', 'zw', w.N]));
  const hs = forward(o, z, w.hS).out;
  o.nhwc(o.op('Slice', hs, o.ints([w.M]), o.ints([2 * w.M]), o.ints([1])), MEANS_OUT);
  o.g.output(MEANS_OUT, [1, 'yh', 'yw', w.M]);
  return o.g.toModel();
}

/**
 * The loss graph: lambda * 255^2 * MSE(g_s(y^), x) over the crop + bpp(y^ | h_s(z^)) + bpp(z^),
 * with bpp over the crop's pixels; with `gradients`, also dL/dy^ (through g_s and the y rate,
 * not through the means) and the total dL/dz^ (h_s means and scales, with dL/dy^ * dMeans
 * folded into the means gradient, and the factorized prior).
 */
export function refineLossModel(w: HyperpriorWeights, gradients: boolean, form: RefineGraphForm = DEFAULT_REFINE_FORM): Uint8Array {
  const o = new Ops(new OnnxGraph(gradients ? 'sgai_refine_grad' : 'sgai_refine_loss'));
  const { M, N } = w;
  const z = o.nchw(o.g.input(REFINE_IN.z, [1, 'zh', 'zw', N]));
  const y = o.nchw(o.g.input(REFINE_IN.y, [1, 'yh', 'yw', M]));
  const dMeans = gradients ? o.nchw(o.g.input(REFINE_IN.dMeans, [1, 'yh', 'yw', M])) : null;
  const x = o.nchw(o.g.input(REFINE_IN.x, [1, 'h', 'w', 3]));
  const lambda = o.g.input(REFINE_IN.lambda, [1]);
  const cropH = o.g.input(REFINE_IN.cropHeight, [1]);
  const cropW = o.g.input(REFINE_IN.cropWidth, [1]);

  const pixels = o.mul(cropH, cropW);
  const rateK = o.div(o.f(1), o.mul(o.f(Math.LN2), pixels)); // nats -> bits per pixel
  const hs = forward(o, z, w.hS, form.up);
  const scales = o.op('Slice', hs.out, o.ints([0]), o.ints([M]), o.ints([1]));
  const means = o.op('Slice', hs.out, o.ints([M]), o.ints([2 * M]), o.ints([1]));
  const gs = forward(o, y, w.gS, form.up);
  const mask = cropMask(o, x, cropH, cropW);
  const err = o.mul(o.sub(gs.out, x), mask);
  const mse = o.div(o.sum(o.mul(err, err)), o.mul(o.f(3), pixels));
  const yRate = gaussianRate(o, y, means, scales, gradients ? rateK : null);
  const zRate = factorizedRate(o, z, w.factorized, gradients ? rateK : null);
  const bpp = o.mul(o.add(yRate.nats, zRate.nats), rateK);
  const dist = o.mul(lambda, o.f(255 * 255));
  o.g.node('Add', [o.mul(dist, mse), bpp], {}, REFINE_OUT.loss);
  o.g.node('Identity', [bpp], {}, REFINE_OUT.bpp);
  o.g.node('Identity', [mse], {}, REFINE_OUT.mse);
  o.g.node('Mul', [yRate.nats, o.f(1 / Math.LN2)], {}, REFINE_OUT.bitsY);
  o.g.node('Mul', [zRate.nats, o.f(1 / Math.LN2)], {}, REFINE_OUT.bitsZ);
  for (const name of [REFINE_OUT.loss, REFINE_OUT.bpp, REFINE_OUT.mse]) o.g.output(name, [1]);
  for (const name of [REFINE_OUT.bitsY, REFINE_OUT.bitsZ]) o.g.output(name, []);
  if (!gradients) return o.g.toModel();

  // dL/dx^ = lambda 255^2 * 2 (x^ - x) / (3 * pixels) on the crop.
  const dXhat = o.mul(err, o.div(o.mul(dist, o.f(2)), o.mul(o.f(3), pixels)));
  const dY = o.add(adjoint(o, dXhat, gs.steps, form.adjoint), yRate.dY!);
  const dMeansTotal = o.add(yRate.dMeans!, o.mul(dY, dMeans!));
  const dHs = o.g.node('Concat', [yRate.dScales!, dMeansTotal], { axis: 1 });
  const dZ = o.add(adjoint(o, dHs, hs.steps, form.adjoint), zRate.dZ!);
  o.nhwc(dY, REFINE_OUT.dy);
  o.nhwc(dZ, REFINE_OUT.dz);
  o.g.output(REFINE_OUT.dy, [1, 'yh', 'yw', M]);
  o.g.output(REFINE_OUT.dz, [1, 'zh', 'zw', N]);
  return o.g.toModel();
}
