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
 * Soft rounding of v. `gumbel` has shape [...v.shape, K] (K = classCount), classes ordered
 * (floor, ceil) or (round-1, round, round+1).
 */
export function relax(v: tf.Tensor, tau: number, method: RefineMethod, p: ProbabilityParams, gumbel: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const axis = v.rank;
    if (!isThreeClass(method)) {
      const f = tf.floor(v);
      const c = tf.ceil(v);
      const df = tf.clipByValue(tf.sub(v, f), 0, 1 - 1e-5);
      const dc = tf.clipByValue(tf.sub(c, v), 0, 1 - 1e-5);
      const logits = tf.stack([logQ2(method as TwoClassMethod, df, p), logQ2(method as TwoClassMethod, dc, p)], axis);
      const w = tf.softmax(tf.div(tf.add(tf.div(logits, tau), gumbel), tau), axis);
      const [wf, wc] = tf.unstack(w, axis);
      return tf.add(tf.mul(wf, f), tf.mul(wc, c));
    }
    const r = tf.round(v); // half to even, as torch.round
    const cands = [tf.sub(r, 1), r, tf.add(r, 1)];
    const logits = tf.stack(cands.map((k) => logQ3(method as ThreeClassMethod, tf.abs(tf.sub(v, k)), p)), axis);
    const w = tf.softmax(tf.div(tf.add(tf.div(logits, tau), gumbel), tau), axis);
    const ws = tf.unstack(w, axis);
    return tf.addN(ws.map((wk, k) => tf.mul(wk, cands[k])));
  });
}
