/**
 * Runs the float transforms (g_a, h_a, g_s) on the active tfjs backend. Tensors for the weights
 * are created lazily per backend, so the same loaded model can be used after a backend switch
 * (the benchmark runs wasm and cpu side by side in one process).
 */
import * as tf from '@tensorflow/tfjs';
import type { GdnWeights, Layer } from './weights';

/** Depth-to-space (block 2, NHWC) as reshape + transpose, much faster on wasm than its kernel. */
export function depthToSpace2(x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w, c4] = x.shape;
  const c = c4 / 4;
  return tf.reshape(tf.transpose(tf.reshape(x, [h, w, 2, 2, c]), [0, 2, 1, 3, 4]), [1, 2 * h, 2 * w, c]);
}

/** An HWC float32 feature map (batch of one). */
export interface FeatureMap {
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
}

interface LayerTensors {
  backend: string;
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
}
const cache = new WeakMap<Layer, LayerTensors>();

function tensorsOf(layer: Exclude<Layer, { kind: 'leaky' }>): LayerTensors {
  const backend = tf.getBackend();
  const hit = cache.get(layer);
  if (hit && hit.backend === backend) return hit;
  if (hit) {
    hit.filter.dispose();
    hit.bias.dispose();
  }
  let made: LayerTensors;
  if (layer.kind === 'conv') {
    made = { backend, filter: tf.tensor4d(layer.filter, [layer.k, layer.k, layer.cin, layer.cout]), bias: tf.tensor1d(layer.bias) };
  } else if (layer.kind === 'up') {
    made = { backend, filter: tf.tensor4d(layer.filter, [3, 3, layer.cin, 4 * layer.cout]), bias: tf.tensor1d(layer.bias) };
  } else {
    made = { backend, filter: tf.tensor4d(layer.gamma, [1, 1, layer.channels, layer.channels]), bias: tf.tensor1d(layer.beta) };
  }
  tf.keep(made.filter);
  tf.keep(made.bias);
  cache.set(layer, made);
  return made;
}

function gdn(x: tf.Tensor4D, layer: GdnWeights): tf.Tensor4D {
  const { filter, bias } = tensorsOf(layer);
  const norm = tf.add(tf.conv2d(tf.square(x), filter, 1, 'valid'), bias) as tf.Tensor4D;
  return layer.kind === 'gdn' ? tf.mul(x, tf.rsqrt(norm)) : tf.mul(x, tf.sqrt(norm));
}

export function applyLayer(x: tf.Tensor4D, layer: Layer): tf.Tensor4D {
  switch (layer.kind) {
    case 'conv': {
      const { filter, bias } = tensorsOf(layer);
      const pad = Math.floor(layer.k / 2); // symmetric, as PyTorch does (tfjs 'same' pads stride-2 asymmetrically)
      return tf.add(tf.conv2d(x, filter, layer.stride, pad), bias) as tf.Tensor4D;
    }
    case 'up': {
      const { filter, bias } = tensorsOf(layer);
      const phases = tf.add(tf.conv2d(x, filter, 1, 1), bias) as tf.Tensor4D;
      return depthToSpace2(phases);
    }
    case 'gdn':
    case 'igdn':
      return gdn(x, layer);
    case 'leaky':
      return tf.leakyRelu(x, 0.01);
  }
}

export function runLayers(input: FeatureMap, layers: Layer[]): FeatureMap {
  // Dispose each intermediate as soon as the next exists: peak memory is two feature maps,
  // not the whole stack (matters for 512-px tiles at N=128).
  let x = tf.tensor4d(input.data, [1, input.height, input.width, input.channels]);
  for (const layer of layers) {
    const prev = x;
    x = tf.tidy(() => applyLayer(prev, layer));
    prev.dispose();
  }
  const [, height, width, channels] = x.shape;
  const data = x.dataSync() as Float32Array;
  x.dispose();
  return { data: new Float32Array(data.buffer, data.byteOffset, data.length), height, width, channels };
}
