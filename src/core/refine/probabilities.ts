/**
 * Rounding probability functions of SGA and SGA+, as log q(d) (the logits before the
 * temperature). Two-class functions take the distance d in [0,1] to a neighbouring integer;
 * three-class functions take D in [0,1.5] to each of round(v)-1, round(v), round(v)+1.
 * See ../../../docs/sgaplus.md and the method guide for the formulas.
 */
import * as tf from '@tensorflow/tfjs';

export type TwoClassMethod = 'sga' | 'linear' | 'cosine' | 'ssl';
export type ThreeClassMethod = 'linear3' | 'cosine3' | 'ssl3';
export type RefineMethod = TwoClassMethod | ThreeClassMethod;
export const METHODS: RefineMethod[] = ['sga', 'linear', 'cosine', 'ssl', 'linear3', 'cosine3', 'ssl3'];

export interface ProbabilityParams {
  /** SSL steepness: 1 = linear, ~1.6 ~ cosine; the SGA+ paper's main setting is 2.3. */
  a: number;
  /** Three-class distance scale r_f and power n. */
  rf: number;
  n: number;
}

export function defaultParams(method: RefineMethod): ProbabilityParams {
  return method === 'ssl3' || method === 'linear3' || method === 'cosine3' ? { a: 1.4, rf: 0.98, n: 1.4 } : { a: 2.3, rf: 0.98, n: 1.4 };
}

export function isThreeClass(m: RefineMethod): m is ThreeClassMethod {
  return m.endsWith('3');
}

const TWO_CLASS_CLIP = 1e-5;
const THREE_CLASS_CLIP = 1e-6;

/** log q(d) for two-class methods; d already clipped to at most 1 - 1e-5. */
export function logQ2(method: TwoClassMethod, d: tf.Tensor, p: ProbabilityParams): tf.Tensor {
  return tf.tidy(() => {
    switch (method) {
      case 'sga':
        return tf.neg(tf.atanh(tf.clipByValue(d, TWO_CLASS_CLIP, 1 - TWO_CLASS_CLIP)));
      case 'linear':
        return tf.log(tf.sub(1, d));
      case 'cosine':
        return tf.log(tf.add(tf.square(tf.cos(tf.mul(d, Math.PI / 2))), 1e-7));
      case 'ssl': {
        const c = tf.clipByValue(d, TWO_CLASS_CLIP, 1 - TWO_CLASS_CLIP);
        const logit = tf.sub(tf.log(c), tf.log1p(tf.neg(c)));
        return tf.neg(tf.softplus(tf.mul(logit, p.a)));
      }
    }
  });
}

/** log q3(D) for three-class methods. */
export function logQ3(method: ThreeClassMethod, D: tf.Tensor, p: ProbabilityParams): tf.Tensor {
  return tf.tidy(() => {
    switch (method) {
      case 'linear3':
        return tf.mul(tf.log(tf.maximum(tf.sub(1, tf.mul(D, p.rf)), THREE_CLASS_CLIP)), p.n);
      case 'cosine3':
        // relu: in float32 cos(pi/2) is -4.4e-8, and a negative base to a fractional power is NaN.
        return tf.log(tf.add(tf.pow(tf.relu(tf.cos(tf.mul(tf.minimum(tf.mul(D, p.rf), 1), Math.PI / 2))), p.n), 1e-7));
      case 'ssl3': {
        const c = tf.clipByValue(tf.mul(D, p.rf / 1.5), THREE_CLASS_CLIP, 1 - THREE_CLASS_CLIP);
        const logit = tf.sub(tf.log(c), tf.log1p(tf.neg(c)));
        // log(max(sigmoid(-a*logit), 1e-6)) = max(-softplus(a*logit), log 1e-6)
        return tf.mul(tf.maximum(tf.neg(tf.softplus(tf.mul(logit, p.a))), Math.log(THREE_CLASS_CLIP)), p.n);
      }
    }
  });
}

/** Float64 scalar versions, for tests and documentation tables. */
export function logQ2Scalar(method: TwoClassMethod, d: number, p: ProbabilityParams): number {
  switch (method) {
    case 'sga':
      return -Math.atanh(Math.min(Math.max(d, TWO_CLASS_CLIP), 1 - TWO_CLASS_CLIP));
    case 'linear':
      return Math.log(1 - d);
    case 'cosine':
      return Math.log(Math.cos((d * Math.PI) / 2) ** 2 + 1e-7);
    case 'ssl': {
      const c = Math.min(Math.max(d, TWO_CLASS_CLIP), 1 - TWO_CLASS_CLIP);
      const x = p.a * Math.log(c / (1 - c));
      return -(x > 30 ? x : Math.log1p(Math.exp(x)));
    }
  }
}

export function logQ3Scalar(method: ThreeClassMethod, D: number, p: ProbabilityParams): number {
  switch (method) {
    case 'linear3':
      return p.n * Math.log(Math.max(1 - p.rf * D, THREE_CLASS_CLIP));
    case 'cosine3':
      return Math.log(Math.max(0, Math.cos((Math.PI / 2) * Math.min(p.rf * D, 1))) ** p.n + 1e-7);
    case 'ssl3': {
      const c = Math.min(Math.max((p.rf * D) / 1.5, THREE_CLASS_CLIP), 1 - THREE_CLASS_CLIP);
      const x = p.a * Math.log(c / (1 - c));
      return p.n * Math.max(-(x > 30 ? x : Math.log1p(Math.exp(x))), Math.log(THREE_CLASS_CLIP));
    }
  }
}
