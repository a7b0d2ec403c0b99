/** Block shape of the WebAssembly h_s kernel, shared by its generator (scripts/wasm) and its loader. */
export interface KernelShape {
  /** Pixels per interior block (along x). */
  P: number;
  /** f64x2 channel pairs per block. */
  Q: number;
}

export const KERNEL_SHAPE: KernelShape = { P: 4, Q: 2 };
