/**
 * What the refinement loop needs from a backend: the relaxed loss and its gradients with respect
 * to the latents y and z at one iteration's temperature and noise, and the true (hard-rounded)
 * loss. Everything else (noise, schedule, Adam, best iterate) is the loop's, shared by both
 * implementations: tfjs autograd (tfjs-gradients.ts) and the ONNX Runtime adjoint graph
 * (ort-gradients.ts).
 */
import type { ProbabilityParams, RefineMethod } from './probabilities';

export type RefineEngine = 'tfjs' | 'ort';

/** One iteration's relaxation: temperature, method and Gumbel noise (one array per class). */
export interface Relaxation {
  tau: number;
  method: RefineMethod;
  params: ProbabilityParams;
  yNoise: Float32Array[];
  zNoise: Float32Array[];
}

export interface LossValues {
  loss: number;
  bpp: number;
  mse: number;
}

export interface LossAndGradients extends LossValues {
  /** dL/dy and dL/dz, same layout as y and z (HWC). */
  dy: Float32Array;
  dz: Float32Array;
}

/** Sizes of one refinement problem: the padded image, its crop, and the latent grids. */
export interface RefineShape {
  height: number;
  width: number;
  cropHeight: number;
  cropWidth: number;
  yh: number;
  yw: number;
  zh: number;
  zw: number;
  M: number;
  N: number;
}

export interface GradientSource {
  readonly engine: RefineEngine;
  relaxed(y: Float32Array, z: Float32Array, r: Relaxation): Promise<LossAndGradients>;
  /** The loss with hard rounding (z around the medians, y around the means), as the coder writes it. */
  hard(y: Float32Array, z: Float32Array): Promise<LossValues>;
  dispose(): void;
}
