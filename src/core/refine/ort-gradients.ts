/**
 * The ONNX Runtime gradient source: per iteration, the relaxation of z (relax-arrays.ts),
 * the means graph on z^, the relaxation of y around those means, then one call of the loss graph
 * for the loss and dL/dy^, dL/dz^ (src/core/ort/refine-graphs.ts); the chain rule through the
 * relaxations is an elementwise product here. Sessions are cached per model and process.
 */
import type * as Ort from 'onnxruntime-node';
import { medians as factorizedMedians } from '../entropy/factorized';
import type { HyperpriorWeights } from '../model/weights';
import { roundHalfEven } from '../pipeline/latent-coding';
import { DEFAULT_REFINE_FORM, MEANS_IN, MEANS_OUT, REFINE_IN, REFINE_OUT, meansModel, refineLossModel, type RefineGraphForm } from '../ort/refine-graphs';
import { cachedSession, loadOrt } from '../ort/runtime';
import type { GradientSource, LossValues, RefineShape, Relaxation } from './gradient-source';
import { relaxWithSlope } from './relax-arrays';

const f32 = Math.fround;

/** offset + round(v - offset) in float32, offset per element or per channel (last axis). */
function hardRound(v: Float32Array, offset: Float32Array): Float32Array {
  const out = new Float32Array(v.length);
  const c = offset.length;
  for (let i = 0; i < v.length; i++) {
    const o = offset[c === v.length ? i : i % c];
    out[i] = f32(o + roundHalfEven(f32(v[i] - o)));
  }
  return out;
}

let graphForm: RefineGraphForm = DEFAULT_REFINE_FORM;
/** Graph form of the transposed convolutions and their adjoints (same function; benchmarks compare them). */
export function setRefineGraphForm(form: RefineGraphForm): void {
  graphForm = form;
}

export async function ortGradientSource(w: HyperpriorWeights, x: Float32Array, s: RefineShape, lambda: number): Promise<GradientSource> {
  const ort = await loadOrt();
  const form = graphForm;
  const [meansS, gradS, lossS] = await Promise.all([
    cachedSession(w, 'refine/means', () => meansModel(w)),
    cachedSession(w, `refine/grad/${form.up}/${form.adjoint}`, () => refineLossModel(w, true, form)),
    cachedSession(w, `refine/loss/${form.up}`, () => refineLossModel(w, false, form)),
  ]);
  const medians = Float32Array.from(factorizedMedians(w.factorized));
  const yShape = [1, s.yh, s.yw, s.M];
  const zShape = [1, s.zh, s.zw, s.N];
  const t = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
  const fixed = {
    [REFINE_IN.x]: t(x, [1, s.height, s.width, 3]),
    [REFINE_IN.lambda]: t(Float32Array.of(lambda), [1]),
    [REFINE_IN.cropHeight]: t(Float32Array.of(s.cropHeight), [1]),
    [REFINE_IN.cropWidth]: t(Float32Array.of(s.cropWidth), [1]),
  };
  const means = async (zHat: Float32Array) => (await meansS.run({ [MEANS_IN]: t(zHat, zShape) }))[MEANS_OUT].data as Float32Array;
  const scalar = (o: Ort.InferenceSession.OnnxValueMapType, name: string) => (o[name].data as Float32Array)[0];
  return {
    engine: 'ort',
    async relaxed(y, z, r: Relaxation) {
      const zr = relaxWithSlope(z, medians, r.tau, r.method, r.params, r.zNoise);
      const yr = relaxWithSlope(y, await means(zr.value), r.tau, r.method, r.params, r.yNoise);
      const dMeans = new Float32Array(y.length);
      for (let i = 0; i < dMeans.length; i++) dMeans[i] = f32(1 - yr.slope[i]);
      const o = await gradS.run({ ...fixed, [REFINE_IN.z]: t(zr.value, zShape), [REFINE_IN.y]: t(yr.value, yShape), [REFINE_IN.dMeans]: t(dMeans, yShape) });
      const dy = o[REFINE_OUT.dy].data as Float32Array;
      const dz = o[REFINE_OUT.dz].data as Float32Array;
      for (let i = 0; i < dy.length; i++) dy[i] = f32(dy[i] * yr.slope[i]);
      for (let i = 0; i < dz.length; i++) dz[i] = f32(dz[i] * zr.slope[i]);
      return { loss: scalar(o, REFINE_OUT.loss), bpp: scalar(o, REFINE_OUT.bpp), mse: scalar(o, REFINE_OUT.mse), dy, dz };
    },
    async hard(y, z): Promise<LossValues> {
      const zHat = hardRound(z, medians);
      const yHat = hardRound(y, await means(zHat));
      const o = await lossS.run({ ...fixed, [REFINE_IN.z]: t(zHat, zShape), [REFINE_IN.y]: t(yHat, yShape) });
      return { loss: scalar(o, REFINE_OUT.loss), bpp: scalar(o, REFINE_OUT.bpp), mse: scalar(o, REFINE_OUT.mse) };
    },
    dispose() {
      // Sessions stay cached for the next photo; the tensors here are plain views of arrays.
    },
  };
}
