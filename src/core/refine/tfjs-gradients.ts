/**
 * The tfjs gradient source: the relaxed loss built from the differentiable decoder
 * (differentiable.ts) and differentiated by tfjs autograd, on the active tfjs backend.
 */
import * as tf from '@tensorflow/tfjs';
import type { HyperpriorWeights } from '../model/weights';
import { differentiableModel, type DifferentiableModel } from './differentiable';
import type { GradientSource, LossValues, RefineShape, Relaxation } from './gradient-source';
import { relax } from './relax';

const modelCache = new WeakMap<HyperpriorWeights, { backend: string; model: DifferentiableModel }>();
function diffModel(w: HyperpriorWeights): DifferentiableModel {
  const hit = modelCache.get(w);
  if (hit && hit.backend === tf.getBackend()) return hit.model;
  hit?.model.dispose();
  const model = differentiableModel(w);
  modelCache.set(w, { backend: tf.getBackend(), model });
  return model;
}

interface LossParts {
  loss: tf.Scalar;
  bpp: tf.Scalar;
  mse: tf.Scalar;
}

function rdLoss(m: DifferentiableModel, x: tf.Tensor4D, yHat: tf.Tensor4D, zHat: tf.Tensor4D, means: tf.Tensor4D, scales: tf.Tensor4D, lambda: number, ch: number, cw: number): LossParts {
  let xHat = m.gs(yHat);
  if (xHat.shape[1] !== ch || xHat.shape[2] !== cw) xHat = tf.slice(xHat, [0, 0, 0, 0], [1, ch, cw, 3]);
  const xc = x.shape[1] !== ch || x.shape[2] !== cw ? tf.slice(x, [0, 0, 0, 0], [1, ch, cw, 3]) : x;
  const mse = tf.mean(tf.squaredDifference(xc, xHat)) as tf.Scalar;
  const bitsY = tf.neg(tf.sum(tf.log(m.yLikelihood(yHat, means, scales))));
  const bitsZ = tf.neg(tf.sum(tf.log(m.zLikelihood(zHat))));
  const bpp = tf.div(tf.add(bitsY, bitsZ), Math.LN2 * ch * cw) as tf.Scalar;
  const loss = tf.add(tf.mul(mse, lambda * 255 * 255), bpp) as tf.Scalar;
  return { loss, bpp, mse };
}

export function tfjsGradientSource(w: HyperpriorWeights, x: Float32Array, s: RefineShape, lambda: number): GradientSource {
  const m = diffModel(w);
  const xT = tf.tensor4d(x, [1, s.height, s.width, 3]);
  const yShape: [number, number, number, number] = [1, s.yh, s.yw, s.M];
  const zShape: [number, number, number, number] = [1, s.zh, s.zw, s.N];
  const { cropHeight: ch, cropWidth: cw } = s;
  return {
    engine: 'tfjs',
    async relaxed(y, z, r: Relaxation) {
      return tf.tidy(() => {
        const gy = r.yNoise.map((c) => tf.tensor4d(c, yShape));
        const gz = r.zNoise.map((c) => tf.tensor4d(c, zShape));
        const kept: tf.Scalar[] = [];
        const f = (yT: tf.Tensor, zT: tf.Tensor) => {
          const zHat = tf.add(relax(tf.sub(zT, m.medians), r.tau, r.method, r.params, gz), m.medians) as tf.Tensor4D;
          const { scales, means } = m.hs(zHat);
          const yHat = tf.add(relax(tf.sub(yT, means), r.tau, r.method, r.params, gy), means) as tf.Tensor4D;
          const p = rdLoss(m, xT, yHat, zHat, means, scales, lambda, ch, cw);
          kept.push(tf.keep(p.bpp), tf.keep(p.mse));
          return p.loss;
        };
        const { value, grads } = tf.valueAndGrads(f)([tf.tensor4d(y, yShape), tf.tensor4d(z, zShape)]);
        const out = {
          loss: value.dataSync()[0], bpp: kept[0].dataSync()[0], mse: kept[1].dataSync()[0],
          dy: (grads[0].dataSync() as Float32Array).slice(), dz: (grads[1].dataSync() as Float32Array).slice(),
        };
        tf.dispose(kept); // kept out of the gradient tape's scope, so tidy would not free them
        return out;
      });
    },
    async hard(y, z): Promise<LossValues> {
      const [loss, bpp, mse] = tf.tidy(() => {
        const zHat = tf.add(tf.round(tf.sub(tf.tensor4d(z, zShape), m.medians)), m.medians) as tf.Tensor4D;
        const { scales, means } = m.hs(zHat);
        const yHat = tf.add(tf.round(tf.sub(tf.tensor4d(y, yShape), means)), means) as tf.Tensor4D;
        const p = rdLoss(m, xT, yHat, zHat, means, scales, lambda, ch, cw);
        return [p.loss, p.bpp, p.mse];
      }).map((t) => {
        const v = t.dataSync()[0];
        t.dispose();
        return v;
      });
      return { loss, bpp, mse };
    },
    dispose() {
      xT.dispose();
    },
  };
}
