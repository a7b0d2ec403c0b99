/**
 * Deterministic Gumbel noise, identical in TypeScript and in the PyTorch reference
 * (training/sgai_train/refine_noise.py): a counter-based hash, so noise for iteration t and
 * element e does not depend on how many numbers were drawn before (tiles, restarts, workers).
 *
 * For a tensor laid out HWC with K classes, element e and class k use counter i = e*K + k.
 */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export const NOISE_STREAM_Y = 0;
export const NOISE_STREAM_Z = 1;

export function noiseKey(seed: number, stream: number, iteration: number): number {
  return fmix32(fmix32((seed ^ 0x9e3779b9) >>> 0) ^ Math.imul(stream, 0x85ebca6b) ^ Math.imul(iteration, 0xc2b2ae35));
}

/** Gumbel(0,1) samples for counters [0, count), written to `out` (float32). */
export function gumbelNoise(seed: number, stream: number, iteration: number, count: number, out = new Float32Array(count)): Float32Array {
  const key = noiseKey(seed, stream, iteration);
  for (let i = 0; i < count; i++) {
    const bits = fmix32((key ^ fmix32(i)) >>> 0);
    let u = (bits + 0.5) / 4294967296;
    if (u < 1e-10) u = 1e-10;
    else if (u > 1 - 1e-10) u = 1 - 1e-10;
    out[i] = -Math.log(-Math.log(u));
  }
  return out;
}
