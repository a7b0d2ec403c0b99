/**
 * ONNX graphs for the float transforms (g_a, h_a, g_s), built from the same resolved layers the
 * tfjs path runs (model/weights.ts), so both compute one function with the same float32
 * parameters:
 *
 * - GDN/IGDN: the .safetensors store CompressAI's reparametrised beta and gamma; weights.ts
 *   resolves them once (max(p, bound)^2 - pedestal, in float64, rounded to float32) and both
 *   backends use those effective values. Resolving them again inside the graph in float32
 *   would round differently.
 * - Transposed convolutions run as tfjs runs them (a 3x3 phase convolution + DepthToSpace), or
 *   as ONNX ConvTranspose with the torch kernel rebuilt from the phases (every 5x5 tap sits in
 *   exactly one phase).
 *
 * Graphs take and return HWC (NHWC, batch 1) float32 like runLayers; the layout change to ONNX's
 * NCHW happens inside the graph. Height and width are symbolic, so one session serves every
 * tile size. Further graphs (the SGA+ adjoint: convolutions with the same weights, elementwise
 * GDN terms, several inputs and outputs) can be assembled with the same OnnxGraph builder and run
 * through runtime.ts's session cache.
 */
import { OnnxGraph } from './onnx';
import { phaseTap, type ConvWeights, type GdnWeights, type Layer, type UpWeights } from '../model/weights';

/**
 * How an `up` layer is expressed: the phase convolution + DepthToSpace that tfjs runs, or ONNX
 * ConvTranspose. Same function; phase measured ~10 % faster for g_s on 512-px tiles here
 * (ORT 1.30, one thread), so it is the default.
 */
export type UpForm = 'transpose' | 'phase';

export const INPUT = 'x';
export const OUTPUT = 'y';

/** tfjs [kh, kw, in, out] -> ONNX [out, in, kh, kw]. */
function oihw(filter: Float32Array, k: number, cin: number, cout: number): Float32Array {
  const w = new Float32Array(filter.length);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < cin; i++)
      for (let y = 0; y < k; y++)
        for (let x = 0; x < k; x++) w[((o * cin + i) * k + y) * k + x] = filter[((y * k + x) * cin + i) * cout + o];
  return w;
}

/** The torch ConvTranspose2d weight [in, out, 5, 5] that upFromTorch folded into phases. */
export function transposedKernel(l: UpWeights): Float32Array {
  const { cin, cout } = l;
  const c4 = 4 * cout;
  const w = new Float32Array(cin * cout * 25);
  for (let ry = 0; ry < 2; ry++)
    for (let rx = 0; rx < 2; rx++)
      for (let a = 0; a < 3; a++)
        for (let b = 0; b < 3; b++) {
          const ky = phaseTap(ry, a);
          const kx = phaseTap(rx, b);
          if (ky < 0 || kx < 0) continue;
          for (let i = 0; i < cin; i++)
            for (let o = 0; o < cout; o++)
              w[((i * cout + o) * 5 + ky) * 5 + kx] = l.filter[((a * 3 + b) * cin + i) * c4 + (ry * 2 + rx) * cout + o];
        }
  return w;
}

export function conv(g: OnnxGraph, x: string, l: ConvWeights): string {
  const p = l.k >> 1; // symmetric, as PyTorch and the tfjs path pad
  const w = g.constant('w', [l.cout, l.cin, l.k, l.k], oihw(l.filter, l.k, l.cin, l.cout));
  const b = g.constant('b', [l.cout], l.bias);
  return g.node('Conv', [x, w, b], { kernel_shape: [l.k, l.k], strides: [l.stride, l.stride], pads: [p, p, p, p] });
}

export function up(g: OnnxGraph, x: string, l: UpWeights, form: UpForm): string {
  if (form === 'transpose') {
    const w = g.constant('wt', [l.cin, l.cout, 5, 5], transposedKernel(l));
    const b = g.constant('b', [l.cout], l.bias.subarray(0, l.cout));
    // k 5, stride 2, padding 2, output padding 1: exactly twice the input size.
    return g.node('ConvTranspose', [x, w, b], { kernel_shape: [5, 5], strides: [2, 2], pads: [2, 2, 2, 2], output_padding: [1, 1] });
  }
  const c4 = 4 * l.cout;
  const w = g.constant('wp', [c4, l.cin, 3, 3], oihw(l.filter, 3, l.cin, c4));
  const b = g.constant('b', [c4], l.bias);
  const phases = g.node('Conv', [x, w, b], { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] });
  // Phase channel (ry*2+rx)*cout + o is DepthToSpace's depth-column-row order.
  return g.node('DepthToSpace', [phases], { blocksize: 2, mode: 'DCR' });
}

function gdn(g: OnnxGraph, x: string, l: GdnWeights): string {
  const c = l.channels;
  // l.gamma is the tfjs 1x1 filter [in=j][out=i]; ONNX wants [out=i][in=j].
  const w = new Float32Array(c * c);
  for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) w[i * c + j] = l.gamma[j * c + i];
  const norm = g.node('Conv', [g.node('Mul', [x, x]), g.constant('gamma', [c, c, 1, 1], w), g.constant('beta', [c], l.beta)], { kernel_shape: [1, 1] });
  const root = g.node('Sqrt', [norm]);
  return l.kind === 'gdn' ? g.node('Div', [x, root]) : g.node('Mul', [x, root]);
}

function outChannels(layers: Layer[], cin: number): number {
  let c = cin;
  for (const l of layers) if (l.kind === 'conv' || l.kind === 'up') c = l.cout;
  return c;
}

/** A model running `layers` on an NHWC float32 input with `cin` channels. */
export function layersModel(name: string, layers: Layer[], cin: number, form: UpForm = 'phase'): Uint8Array {
  const g = new OnnxGraph(name);
  let x = g.node('Transpose', [g.input(INPUT, [1, 'h', 'w', cin])], { perm: [0, 3, 1, 2] });
  for (const l of layers) {
    if (l.kind === 'conv') x = conv(g, x, l);
    else if (l.kind === 'up') x = up(g, x, l, form);
    else if (l.kind === 'leaky') x = g.node('LeakyRelu', [x], { alpha: { f: 0.01 } });
    else x = gdn(g, x, l);
  }
  g.node('Transpose', [x], { perm: [0, 2, 3, 1] }, OUTPUT);
  g.output(OUTPUT, [1, 'oh', 'ow', outChannels(layers, cin)]);
  return g.toModel();
}
