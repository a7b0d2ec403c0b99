/**
 * Chooses where the float transforms run: tfjs-node-gpu > ONNX Runtime (CPU) > tfjs-node >
 * wasm > cpu.
 *
 * ONNX Runtime runs g_a, h_a and g_s (several times faster than single-threaded tfjs-wasm)
 * and SGA+ refinement (explicit gradient graphs, src/core/ort/refine-graphs.ts); a tfjs backend
 * is always initialised beside it, for refinement should those graphs fail to load, and the
 * wasm reference for exact decodes. The native tfjs bindings are
 * optionalDependencies (their install downloads libtensorflow, which not every machine can
 * reach), so they are probed with a dynamic import and a tiny op; any failure just moves on to
 * the next candidate and is recorded so the CLI can say why.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { SgaiError } from '../errors';
import { checkThreads, defaultOrtThreads, ortThreads, probeOrt, setOrtThreads } from '../ort/runtime';

export type TfjsBackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendName = TfjsBackendName | 'ort';
export type BackendRequest = BackendName | 'auto';
/** Every value `--backend` accepts. */
export const BACKEND_REQUESTS: readonly BackendRequest[] = ['auto', 'ort', 'wasm', 'cpu', 'tensorflow', 'tensorflow-gpu'];
/** Where g_a, h_a and g_s run. */
export type TransformEngine = 'tfjs' | 'ort';

export interface BackendReport {
  /** The backend chosen: a tfjs backend, or 'ort' for ONNX Runtime. */
  name: BackendName;
  /** The tfjs backend active beside it: everything when name is a tfjs backend; with ort, refinement's fallback. */
  tfjs: TfjsBackendName;
  /** Where g_a, h_a and g_s run (exact decodes still run g_s on the wasm reference). */
  transforms: TransformEngine;
  /** ONNX Runtime intra-op threads (transforms 'ort' only). */
  ortThreads?: number;
  /** Each candidate tried before it, with the reason it was skipped. */
  skipped: { name: BackendName; reason: string }[];
}

export interface BackendOptions {
  /** ONNX Runtime intra-op threads; default SGAI_ORT_THREADS or 1 (one worker per core is the batch engine's plan). */
  ortThreads?: number;
}

const require = createRequire(import.meta.url);
let wasmRegistered = false;

async function tryNative(pkg: string): Promise<string | null> {
  try {
    // Loading registers the 'tensorflow' backend with the tfjs-core instance it bundles.
    await import(/* @vite-ignore */ pkg);
    return null;
  } catch (e) {
    return `${pkg} is not installed or failed to load (${(e as Error).message.split('\n')[0]})`;
  }
}

async function activate(name: 'tensorflow' | 'wasm' | 'cpu'): Promise<string | null> {
  try {
    if (name === 'wasm' && !wasmRegistered) {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // Point at the .wasm files inside node_modules so it works from tsx, the CLI and the engine.
      const dir = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
      wasm.setWasmPaths(dir.slice(0, dir.lastIndexOf('/') + 1));
      wasmRegistered = true;
    }
    const ok = await tf.setBackend(name);
    if (!ok) return `tf.setBackend('${name}') refused`;
    await tf.ready();
    // A real op, so a backend that registers but cannot run fails here and not mid-encode.
    tf.tidy(() => tf.conv2d(tf.ones([1, 4, 4, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 1]) as tf.Tensor4D, 1, 'same').dataSync());
    return null;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}

let current: BackendReport | null = null;

/** Activate one tfjs backend (loading the native package first for the tensorflow ones). */
async function activateTfjs(name: TfjsBackendName): Promise<string | null> {
  if (name === 'tensorflow-gpu' || name === 'tensorflow') {
    const reason = await tryNative(name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node');
    return reason ?? activate('tensorflow');
  }
  return activate(name);
}

/** Select and initialise a backend. Idempotent for the same request. */
export async function initBackend(request: BackendRequest = 'auto', options: BackendOptions = {}): Promise<BackendReport> {
  const threads = options.ortThreads === undefined ? defaultOrtThreads() : checkThreads(options.ortThreads);
  setOrtThreads(threads);
  if (current && (request === 'auto' || request === current.name)) {
    if (current.transforms === 'ort') current = { ...current, ortThreads: threads };
    return current;
  }
  const order: BackendName[] = request === 'auto' ? ['tensorflow-gpu', 'ort', 'tensorflow', 'wasm', 'cpu'] : [request];
  const skipped: BackendReport['skipped'] = [];
  for (const name of order) {
    let tfjsName: TfjsBackendName | null = null;
    let reason: string | null;
    if (name === 'ort') {
      reason = await probeOrt();
      if (reason === null) {
        // Beside ORT, the fastest tfjs backend that works (refinement falls back to it).
        for (const t of ['tensorflow', 'wasm', 'cpu'] as const) {
          if ((await activateTfjs(t)) === null) {
            tfjsName = t;
            break;
          }
        }
        if (!tfjsName) reason = 'no tfjs backend could be initialised beside it';
      }
    } else {
      reason = await activateTfjs(name);
      tfjsName = name;
    }
    if (reason === null && tfjsName) {
      current = name === 'ort'
        ? { name, tfjs: tfjsName, transforms: 'ort', ortThreads: ortThreads(), skipped }
        : { name, tfjs: tfjsName, transforms: 'tfjs', skipped };
      if (tfjsName !== REFERENCE_BACKEND) {
        // Initialise the reference backend too, so exact decodes can switch to it synchronously.
        await activate(REFERENCE_BACKEND);
        await activate(tfjsName === 'tensorflow-gpu' ? 'tensorflow' : tfjsName);
      }
      return current;
    }
    skipped.push({ name, reason: reason ?? 'unavailable' });
  }
  throw new SgaiError(
    'INVALID_ARGUMENT',
    `no usable compute backend: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`,
  );
}

/** Where g_a, h_a and g_s run now ('tfjs' before initBackend). */
export function activeTransformEngine(): TransformEngine {
  return current?.transforms ?? 'tfjs';
}

/**
 * The backend whose float results are the same on every machine: WebAssembly arithmetic is
 * specified bit for bit (IEEE-754, no fused multiply-add, no relaxed SIMD in tfjs's build), so
 * g_s run there gives identical pixels wherever a file is decoded. Native and GPU backends sum
 * in machine-dependent orders.
 */
export const REFERENCE_BACKEND = 'wasm';

/**
 * Run fn on the reference backend and switch back. The switch is synchronous because
 * initBackend already initialised it (tf.setBackend only awaits a first initialisation).
 * Returns exact=false, having run on the current backend, if the reference is unavailable.
 */
export function onReferenceBackend<T>(fn: () => T): { value: T; exact: boolean } {
  const prev = tf.getBackend();
  if (prev === REFERENCE_BACKEND) return { value: fn(), exact: true };
  void tf.setBackend(REFERENCE_BACKEND);
  if (tf.getBackend() !== REFERENCE_BACKEND) {
    void tf.setBackend(prev);
    return { value: fn(), exact: false };
  }
  try {
    return { value: fn(), exact: true };
  } finally {
    void tf.setBackend(prev);
  }
}

/**
 * The same for work that yields between tiles (cancellable decode). The backend is switched
 * for the whole await, so one process must not run another tfjs job meanwhile: the engine runs
 * one job per worker process.
 */
export async function onReferenceBackendAsync<T>(fn: () => Promise<T>): Promise<{ value: T; exact: boolean }> {
  const prev = tf.getBackend();
  if (prev === REFERENCE_BACKEND) return { value: await fn(), exact: true };
  void tf.setBackend(REFERENCE_BACKEND);
  if (tf.getBackend() !== REFERENCE_BACKEND) {
    void tf.setBackend(prev);
    return { value: await fn(), exact: false };
  }
  try {
    return { value: await fn(), exact: true };
  } finally {
    void tf.setBackend(prev);
  }
}

export function currentBackend(): BackendReport | null {
  return current;
}

export function describeBackend(r: BackendReport): string {
  const why = r.skipped.length ? ` (skipped ${r.skipped.map((s) => s.name).join(', ')})` : '';
  const beside = r.name === 'ort' ? ` [${r.ortThreads ?? 1} thread${r.ortThreads === 1 ? '' : 's'}; tfjs ${r.tfjs} for refinement]` : '';
  return `${r.name}${beside}${why}`;
}
