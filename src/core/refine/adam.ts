/**
 * Adam on plain typed arrays, the update tf.train.adam makes, op for op in float32 (every
 * intermediate rounded with Math.fround as a float32 tensor op would round it). The refinement
 * loop owns the latents as arrays, so either gradient source (tfjs autograd or the ONNX Runtime
 * adjoint graph) drives the same optimiser.
 */
const f32 = Math.fround;

export class Adam {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly oneMinusBeta1: number;
  private readonly oneMinusBeta2: number;
  private readonly eps: number;
  private negLr: number;
  private accBeta1: number;
  private accBeta2: number;

  constructor(sizes: number[], learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8) {
    this.m = sizes.map((n) => new Float32Array(n));
    this.v = sizes.map((n) => new Float32Array(n));
    this.beta1 = f32(beta1);
    this.beta2 = f32(beta2);
    this.oneMinusBeta1 = f32(1 - beta1);
    this.oneMinusBeta2 = f32(1 - beta2);
    this.eps = f32(epsilon);
    this.negLr = f32(-learningRate);
    this.accBeta1 = this.beta1;
    this.accBeta2 = this.beta2;
  }

  /** A new step size from the next step on (a time budget decides it after the first steps). */
  setLearningRate(learningRate: number): void {
    this.negLr = f32(-learningRate);
  }

  /** One update of every parameter array with its gradient (same order as the constructor's sizes). */
  step(params: Float32Array[], grads: Float32Array[]): void {
    const c1 = f32(1 - this.accBeta1);
    const c2 = f32(1 - this.accBeta2);
    const { beta1, beta2, oneMinusBeta1, oneMinusBeta2, eps, negLr } = this;
    params.forEach((p, k) => {
      const g = grads[k];
      const m = this.m[k];
      const v = this.v[k];
      if (g.length !== p.length || m.length !== p.length) throw new RangeError(`Adam: parameter ${k} has ${p.length} values, gradient ${g.length}, state ${m.length}`);
      for (let i = 0; i < p.length; i++) {
        const gi = g[i];
        const mi = f32(f32(m[i] * beta1) + f32(gi * oneMinusBeta1));
        const vi = f32(f32(v[i] * beta2) + f32(f32(gi * gi) * oneMinusBeta2));
        m[i] = mi;
        v[i] = vi;
        const mHat = f32(mi / c1);
        const vHat = f32(vi / c2);
        p[i] = f32(f32(f32(mHat / f32(f32(Math.sqrt(vHat)) + eps)) * negLr) + p[i]);
      }
    });
    this.accBeta1 = f32(this.accBeta1 * beta1);
    this.accBeta2 = f32(this.accBeta2 * beta2);
  }
}
