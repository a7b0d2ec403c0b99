/**
 * The frozen decoder side (h_s, g_s) and entropy models as differentiable tfjs functions of the
 * latents, for refinement. Every convolution here is stride 1 (transposed convolutions are
 * phase convolutions + depth-to-space), and each gets a custom input gradient that is again a
 * plain conv2d with the flipped kernel: tfjs's default gradient is conv2DBackpropInput, which is
 * as slow on wasm as conv2dTranspose. Weights are constants: no filter gradients are computed.
 */
import * as tf from '@tensorflow/tfjs';
import { type FactorizedParams, medians as factorizedMedians } from '../entropy/factorized';
import { depthToSpace2 } from '../model/network';
import type { GdnWeights, HyperpriorWeights, Layer } from '../model/weights';

interface ConvT {
  filter: tf.Tensor4D;
  flipped: tf.Tensor4D;
  bias: tf.Tensor1D;
  pad: number;
}

function convConsts(filter: Float32Array, k: number, cin: number, cout: number, bias: Float32Array): ConvT {
  return tf.tidy(() => {
    const f = tf.tensor4d(filter, [k, k, cin, cout]);
    // d(conv)/dx for a stride-1 "same" conv is the conv of dy with the kernel rotated 180 degrees
    // and its channel axes swapped.
    const flipped = tf.transpose(tf.reverse(f, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    return { filter: tf.keep(f), flipped: tf.keep(flipped), bias: tf.keep(tf.tensor1d(bias)), pad: k >> 1 };
  });
}

function convS1(x: tf.Tensor4D, c: ConvT): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.conv2d(args[0] as tf.Tensor4D, c.filter, 1, c.pad),
    gradFunc: (dy: tf.Tensor) => tf.conv2d(dy as tf.Tensor4D, c.flipped, 1, c.pad),
  }));
  return tf.add(op(x), c.bias) as tf.Tensor4D;
}

type DiffLayer =
  | { kind: 'conv'; c: ConvT }
  | { kind: 'up'; c: ConvT }
  | { kind: 'gdn' | 'igdn'; c: ConvT }
  | { kind: 'leaky' };

function prepare(layers: Layer[]): DiffLayer[] {
  return layers.map((l): DiffLayer => {
    switch (l.kind) {
      case 'conv':
        if (l.stride !== 1) throw new Error('only stride-1 convolutions are differentiated');
        return { kind: 'conv', c: convConsts(l.filter, l.k, l.cin, l.cout, l.bias) };
      case 'up':
        return { kind: 'up', c: convConsts(l.filter, 3, l.cin, 4 * l.cout, l.bias) };
      case 'gdn':
      case 'igdn':
        return { kind: l.kind, c: convConsts((l as GdnWeights).gamma, 1, l.channels, l.channels, l.beta) };
      case 'leaky':
        return { kind: 'leaky' };
    }
  });
}

function run(x: tf.Tensor4D, layers: DiffLayer[]): tf.Tensor4D {
  for (const l of layers) {
    if (l.kind === 'conv') x = convS1(x, l.c);
    else if (l.kind === 'up') x = depthToSpace2(convS1(x, l.c));
    else if (l.kind === 'leaky') x = tf.leakyRelu(x, 0.01);
    else {
      const norm = convS1(tf.square(x) as tf.Tensor4D, l.c);
      x = l.kind === 'gdn' ? tf.mul(x, tf.rsqrt(norm)) : tf.mul(x, tf.sqrt(norm));
    }
  }
  return x;
}

export interface DifferentiableModel {
  N: number;
  M: number;
  hs(zHat: tf.Tensor4D): { scales: tf.Tensor4D; means: tf.Tensor4D };
  gs(yHat: tf.Tensor4D): tf.Tensor4D;
  /** Gaussian bin likelihood of y^ given means and scales (floored), elementwise. */
  yLikelihood(yHat: tf.Tensor, means: tf.Tensor, scales: tf.Tensor): tf.Tensor;
  /** Factorized prior likelihood of z^ [1, h, w, N], elementwise. */
  zLikelihood(zHat: tf.Tensor4D): tf.Tensor;
  medians: tf.Tensor1D;
  dispose(): void;
}

/**
 * erfc with small relative error in both tails (Numerical Recipes' Chebyshev fit, |rel err| <
 * 1.2e-7): 1 - erf(x) in float32 loses all precision for the tail probabilities that make up
 * most of the rate's gradient at small scales.
 */
export function erfcTf(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const z = tf.abs(x);
    const t = tf.div(1, tf.add(1, tf.mul(0.5, z)));
    const coeffs = [0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196, 1.00002368, -1.26551223];
    let poly: tf.Tensor = tf.fill(t.shape, coeffs[0]);
    for (let i = 1; i < coeffs.length; i++) poly = tf.add(tf.mul(poly, t), coeffs[i]);
    const ans = tf.mul(t, tf.exp(tf.sub(poly, tf.square(z))));
    // ans for x >= 0, 2 - ans for x < 0, written with ops that have gradients (tf.where's
    // condition has none).
    return tf.add(ans, tf.mul(tf.sub(1, tf.sign(x)), tf.sub(1, ans)));
  });
}

const SQRT1_2 = Math.SQRT1_2;

export function differentiableModel(w: HyperpriorWeights): DifferentiableModel {
  const hsLayers = prepare(w.hS);
  const gsLayers = prepare(w.gS);
  const fp = w.factorized;
  const consts = factorizedConsts(fp);
  const M = w.M;
  return {
    N: w.N,
    M,
    medians: consts.medians,
    hs(zHat) {
      const out = run(zHat, hsLayers);
      const [scales, means] = tf.split(out, [M, M], 3) as [tf.Tensor4D, tf.Tensor4D];
      return { scales, means };
    },
    gs(yHat) {
      return run(yHat, gsLayers);
    },
    yLikelihood(yHat, means, scales) {
      const s = tf.maximum(scales, 0.11);
      const r = tf.abs(tf.sub(yHat, means));
      // Phi(u) = erfc(-u / sqrt 2) / 2; both arguments are on the lower tail side.
      const upper = tf.mul(0.5, erfcTf(tf.mul(tf.div(tf.sub(r, 0.5), s), SQRT1_2)));
      const lower = tf.mul(0.5, erfcTf(tf.mul(tf.div(tf.add(r, 0.5), s), SQRT1_2)));
      return tf.maximum(tf.sub(upper, lower), 1e-9);
    },
    zLikelihood(zHat) {
      const [, h, wd, n] = zHat.shape;
      const v = tf.reshape(tf.transpose(tf.reshape(zHat, [h * wd, n])), [n, 1, h * wd]);
      const lower = logitsCumulative(tf.sub(v, 0.5), consts);
      const upper = logitsCumulative(tf.add(v, 0.5), consts);
      // Evaluate on the tail where both sigmoids are small (stable): s = -sign(lower + upper),
      // with 0 mapped to +1 (written without tf.where, whose condition has no gradient).
      const sg = tf.sign(tf.add(lower, upper));
      const s = tf.sub(tf.sub(1, tf.abs(sg)), sg);
      const lik = tf.abs(tf.sub(tf.sigmoid(tf.mul(s, upper)), tf.sigmoid(tf.mul(s, lower))));
      return tf.maximum(lik, 1e-9);
    },
    dispose() {
      for (const l of [...hsLayers, ...gsLayers]) if (l.kind !== 'leaky') tf.dispose([l.c.filter, l.c.flipped, l.c.bias]);
      tf.dispose([...consts.matrices, ...consts.biases, ...consts.factors, consts.medians]);
    },
  };
}

interface FactorizedConsts {
  matrices: tf.Tensor3D[]; // softplus(matrix) [C, out, in]
  biases: tf.Tensor3D[]; // [C, out, 1]
  factors: tf.Tensor3D[]; // tanh(factor) [C, out, 1]
  medians: tf.Tensor1D;
}

function factorizedConsts(p: FactorizedParams): FactorizedConsts {
  const C = p.channels;
  const f = p.filters;
  const out: FactorizedConsts = { matrices: [], biases: [], factors: [], medians: tf.tensor1d(Float32Array.from(factorizedMedians(p))) };
  for (let i = 0; i < f.length - 1; i++) {
    out.matrices.push(tf.tidy(() => tf.softplus(tf.tensor3d(Float32Array.from(p.matrices[i]), [C, f[i + 1], f[i]])) as tf.Tensor3D));
    out.biases.push(tf.tensor3d(Float32Array.from(p.biases[i]), [C, f[i + 1], 1]));
    if (i < p.factors.length) out.factors.push(tf.tidy(() => tf.tanh(tf.tensor3d(Float32Array.from(p.factors[i]), [C, f[i + 1], 1])) as tf.Tensor3D));
  }
  return out;
}

function logitsCumulative(v: tf.Tensor, c: FactorizedConsts): tf.Tensor {
  let h = v as tf.Tensor3D;
  for (let i = 0; i < c.matrices.length; i++) {
    h = tf.add(tf.matMul(c.matrices[i], h), c.biases[i]) as tf.Tensor3D;
    if (i < c.factors.length) h = tf.add(h, tf.mul(c.factors[i], tf.tanh(h))) as tf.Tensor3D;
  }
  return h;
}
