/**
 * Maps a CompressAI-style MeanScaleHyperprior state_dict (as .safetensors) onto the layouts the
 * TypeScript model runs with. Names and shapes follow CompressAI one to one, so its checkpoints
 * and ours load the same way; GDN parameters are stored reparametrised and are resolved to their
 * effective values here, once.
 */
import { createHash } from 'node:crypto';
import { SgaiError } from '../errors';
import type { FactorizedParams } from '../entropy/factorized';
import { expectTensor, parseSafeTensors, type SafeTensorsFile } from './safetensors';

/** Stride-1 or stride-2 convolution, filter in tfjs layout [kh, kw, in, out]. */
export interface ConvWeights {
  kind: 'conv';
  k: number;
  stride: number;
  cin: number;
  cout: number;
  filter: Float32Array;
  bias: Float32Array;
}

/**
 * A 5x5 stride-2 transposed convolution (padding 2, output padding 1) rewritten as one 3x3
 * stride-1 convolution producing 4*cout channels (one group per output phase), followed by
 * depth-to-space. Mathematically identical to the transposed convolution and several times
 * faster on wasm, where conv2dTranspose is poorly optimised.
 */
export interface UpWeights {
  kind: 'up';
  cin: number;
  cout: number;
  filter: Float32Array; // [3, 3, cin, 4*cout], channel (ry*2+rx)*cout + o
  bias: Float32Array; // [4*cout]
}

export interface GdnWeights {
  kind: 'gdn' | 'igdn';
  channels: number;
  gamma: Float32Array; // effective, tfjs 1x1 filter [1, 1, in=j, out=i] = gamma[i][j]
  beta: Float32Array; // effective
}

export interface LeakyWeights {
  kind: 'leaky';
}

export type Layer = ConvWeights | UpWeights | GdnWeights | LeakyWeights;

export interface HyperpriorWeights {
  N: number;
  M: number;
  gA: Layer[];
  hA: Layer[];
  gS: Layer[];
  hS: Layer[];
  factorized: FactorizedParams;
  /** Hex SHA-256 of the weights file: stored in every .sgai so a decoder can refuse other weights. */
  sha256: string;
}

const PEDESTAL = 2 ** -36; // (2^-18)^2, the reparametrisation offset squared

export function convFromTorch(w: Float32Array, b: Float32Array, cout: number, cin: number, k: number, stride: number): ConvWeights {
  // torch [out, in, kh, kw] -> tfjs [kh, kw, in, out]
  const filter = new Float32Array(k * k * cin * cout);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < cin; i++)
      for (let y = 0; y < k; y++)
        for (let x = 0; x < k; x++) filter[((y * k + x) * cin + i) * cout + o] = w[((o * cin + i) * k + y) * k + x];
  return { kind: 'conv', k, stride, cin, cout, filter, bias: b };
}

/** Kernel tap of the 5x5 transposed kernel used by phase r at 3x3 position a (-1 = none). */
export function phaseTap(r: number, a: number): number {
  const k = r === 0 ? 4 - 2 * a : 5 - 2 * a;
  return k >= 0 && k < 5 ? k : -1;
}

export function upFromTorch(w: Float32Array, b: Float32Array, cin: number, cout: number): UpWeights {
  // torch ConvTranspose2d weight [in, out, 5, 5]; out[2i - 2 + k] += x[i] * w[k] per axis.
  const c4 = 4 * cout;
  const filter = new Float32Array(9 * cin * c4);
  for (let ry = 0; ry < 2; ry++)
    for (let rx = 0; rx < 2; rx++)
      for (let a = 0; a < 3; a++)
        for (let bb = 0; bb < 3; bb++) {
          const ky = phaseTap(ry, a);
          const kx = phaseTap(rx, bb);
          if (ky < 0 || kx < 0) continue;
          for (let i = 0; i < cin; i++)
            for (let o = 0; o < cout; o++)
              filter[((a * 3 + bb) * cin + i) * c4 + (ry * 2 + rx) * cout + o] = w[((i * cout + o) * 5 + ky) * 5 + kx];
        }
  const bias = new Float32Array(c4);
  for (let p = 0; p < 4; p++) bias.set(b, p * cout);
  return { kind: 'up', cin, cout, filter, bias };
}

export function gdnFromTorch(kind: 'gdn' | 'igdn', beta: Float32Array, gamma: Float32Array, c: number): GdnWeights {
  const betaBound = Math.sqrt(1e-6 + PEDESTAL);
  const gammaBound = Math.sqrt(PEDESTAL);
  const b = new Float32Array(c);
  for (let i = 0; i < c; i++) b[i] = Math.max(beta[i], betaBound) ** 2 - PEDESTAL;
  const g = new Float32Array(c * c);
  for (let i = 0; i < c; i++)
    for (let j = 0; j < c; j++) g[j * c + i] = Math.max(gamma[i * c + j], gammaBound) ** 2 - PEDESTAL;
  return { kind, channels: c, gamma: g, beta: b };
}

export function loadHyperprior(bytes: Uint8Array, source = '(buffer)'): HyperpriorWeights {
  const file = parseSafeTensors(bytes, source);
  const first = file.tensors.get('g_a.0.weight');
  const last = file.tensors.get('g_a.6.weight');
  if (!first || !last || first.shape.length !== 4 || last.shape.length !== 4) {
    throw new SgaiError('BAD_WEIGHTS', `model weights ${source} are not a mean-scale hyperprior (g_a.0.weight / g_a.6.weight missing)`);
  }
  const N = first.shape[0];
  const M = last.shape[0];
  const t = (name: string, shape: number[]) => expectTensor(file, name, shape, source);
  const conv = (p: string, cout: number, cin: number, k: number, s: number) =>
    convFromTorch(t(`${p}.weight`, [cout, cin, k, k]), t(`${p}.bias`, [cout]), cout, cin, k, s);
  const up = (p: string, cin: number, cout: number) => upFromTorch(t(`${p}.weight`, [cin, cout, 5, 5]), t(`${p}.bias`, [cout]), cin, cout);
  const gdn = (p: string, kind: 'gdn' | 'igdn', c: number) => gdnFromTorch(kind, t(`${p}.beta`, [c]), t(`${p}.gamma`, [c, c]), c);
  const leaky: LeakyWeights = { kind: 'leaky' };
  const M3 = Math.floor((3 * M) / 2);
  return {
    N,
    M,
    gA: [conv('g_a.0', N, 3, 5, 2), gdn('g_a.1', 'gdn', N), conv('g_a.2', N, N, 5, 2), gdn('g_a.3', 'gdn', N),
      conv('g_a.4', N, N, 5, 2), gdn('g_a.5', 'gdn', N), conv('g_a.6', M, N, 5, 2)],
    hA: [conv('h_a.0', N, M, 3, 1), leaky, conv('h_a.2', N, N, 5, 2), leaky, conv('h_a.4', N, N, 5, 2)],
    gS: [up('g_s.0', M, N), gdn('g_s.1', 'igdn', N), up('g_s.2', N, N), gdn('g_s.3', 'igdn', N),
      up('g_s.4', N, N), gdn('g_s.5', 'igdn', N), up('g_s.6', N, 3)],
    hS: [up('h_s.0', N, M), leaky, up('h_s.2', M, M3), leaky, conv('h_s.4', 2 * M, M3, 3, 1)],
    factorized: factorizedFromFile(file, N, source),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

function factorizedFromFile(file: SafeTensorsFile, C: number, source: string): FactorizedParams {
  const filters = [1, 3, 3, 3, 3, 1];
  const f64 = (a: Float32Array) => Float64Array.from(a);
  const matrices: Float64Array[] = [];
  const biases: Float64Array[] = [];
  const factors: Float64Array[] = [];
  for (let i = 0; i < filters.length - 1; i++) {
    const [fin, fout] = [filters[i], filters[i + 1]];
    matrices.push(f64(expectTensor(file, `entropy_bottleneck._matrix${i}`, [C, fout, fin], source)));
    biases.push(f64(expectTensor(file, `entropy_bottleneck._bias${i}`, [C, fout, 1], source)));
    if (i < filters.length - 2) factors.push(f64(expectTensor(file, `entropy_bottleneck._factor${i}`, [C, fout, 1], source)));
  }
  const quantiles = f64(expectTensor(file, 'entropy_bottleneck.quantiles', [C, 1, 3], source));
  return { channels: C, filters, matrices, biases, factors, quantiles };
}
