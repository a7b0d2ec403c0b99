/**
 * Stochastic Gumbel annealing relaxation of rounding: v is replaced by a random, differentiable
 * mixture of neighbouring integers whose sharpness is set by the temperature tau. The
 * temperature is used twice (in the logits and in the softmax), as the published methods do.
 */
import * as tf from '@tensorflow/tfjs';
import { isThreeClass, logQ2, logQ3, type ProbabilityParams, type RefineMethod, type ThreeClassMethod, type TwoClassMethod } from './probabilities';

export function classCount(method: RefineMethod): 2 | 3 {
  return isThreeClass(method) ? 3 : 2;
}

/**
 * Soft rounding of v. `gumbel` holds one tensor of v's shape per class, classes ordered
 * (floor, ceil) or (round-1, round, round+1).
 *
 * The softmax over 2-3 classes is written out elementwise: stacking classes on a new axis and
 * unstacking them again costs more on wasm than the whole arithmetic. For two classes
 * softmax([a_f, a_c]) is (1 - s, s) with s = sigmoid(a_c - a_f), and the value is f + s (c - f).
 */
export function relax(v: tf.Tensor, tau: number, method: RefineMethod, p: ProbabilityParams, gumbel: tf.Tensor[]): tf.Tensor {
  return tf.tidy(() => {
    const inv = 1 / tau;
    if (!isThreeClass(method)) {
      const m = method as TwoClassMethod;
      const f = tf.floor(v);
      const c = tf.ceil(v);
      const df = tf.clipByValue(tf.sub(v, f), 0, 1 - 1e-5);
      const dc = tf.clipByValue(tf.sub(c, v), 0, 1 - 1e-5);
      // a_k = (log q(d_k) / tau + g_k) / tau
      const diff = tf.add(tf.mul(tf.sub(logQ2(m, dc, p), logQ2(m, df, p)), inv * inv), tf.mul(tf.sub(gumbel[1], gumbel[0]), inv));
      return tf.add(f, tf.mul(tf.sigmoid(diff), tf.sub(c, f)));
    }
    const m = method as ThreeClassMethod;
    const r = tf.round(v); // half to even, as torch.round
    const a = [-1, 0, 1].map((k, i) =>
      tf.add(tf.mul(logQ3(m, tf.abs(tf.sub(v, tf.add(r, k))), p), inv * inv), tf.mul(gumbel[i], inv)));
    const top = tf.maximum(tf.maximum(a[0], a[1]), a[2]);
    const e = a.map((ak) => tf.exp(tf.sub(ak, top)));
    // sum_k w_k (r - 1 + k) = r + w_2 - w_0
    return tf.add(r, tf.div(tf.sub(e[2], e[0]), tf.addN(e)));
  });
}
