/**
 * ONNX Runtime (onnxruntime-node, CPU) for the float transforms. The native module is loaded
 * on first use with a dynamic import, so a machine without it (or an app build that leaves it
 * out) still runs everything on tfjs. One session per (layer stack, graph form, thread count)
 * per process: building and optimising a graph takes ~0.1 s, and the batch engine keeps its
 * workers alive across photos, so each worker pays that once per model.
 */
import type * as Ort from 'onnxruntime-node';
import { SgaiError } from '../errors';
import type { FeatureMap } from '../model/network';
import type { Layer } from '../model/weights';
import { INPUT, OUTPUT, layersModel, type UpForm } from './graphs';

type OrtModule = typeof Ort;
let loading: Promise<OrtModule> | null = null;

/** Loads onnxruntime-node once; throws SgaiError with the reason if it is missing or its native library does not load. */
export function loadOrt(): Promise<OrtModule> {
  loading ??= (async () => {
    let mod: OrtModule;
    try {
      const m = (await import(/* @vite-ignore */ 'onnxruntime-node')) as OrtModule & { default?: OrtModule };
      mod = m.InferenceSession ? m : (m.default as OrtModule);
    } catch (e) {
      throw new SgaiError('INVALID_ARGUMENT', `onnxruntime-node is not installed or its native library failed to load (${(e as Error).message.split('\n')[0]}); run \`npm install\` or use --backend wasm`);
    }
    return mod;
  })();
  loading.catch(() => (loading = null)); // a later call may retry (e.g. after an install)
  return loading;
}

/**
 * Intra-op threads per session. 1 by default: the batch engine runs one worker process per
 * core, and ORT threads on top of that oversubscribe the cores (slower, not faster). Set
 * SGAI_ORT_THREADS or initBackend(..., { ortThreads }) for a single process on an idle machine.
 */
export function defaultOrtThreads(): number {
  const env = process.env.SGAI_ORT_THREADS;
  if (env === undefined || env === '') return 1;
  return checkThreads(Number(env), 'SGAI_ORT_THREADS');
}

export function checkThreads(n: number, what = 'ortThreads'): number {
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new SgaiError('INVALID_ARGUMENT', `${what} must be a whole number of threads from 1 to 256 (got ${n})`);
  }
  return n;
}

let threads = 1;
let upForm: UpForm = 'phase';

export function setOrtThreads(n: number): void {
  threads = checkThreads(n);
}
export function ortThreads(): number {
  return threads;
}
/** Graph form of the transposed convolutions (both compute the same function; benchmarks compare them). */
export function setOrtUpForm(form: UpForm): void {
  upForm = form;
}

const sessions = new WeakMap<object, Map<string, Promise<Ort.InferenceSession>>>();

/**
 * A session for the graph `build()` returns, cached per owner object (e.g. a model's layer list)
 * and key, and created with this process's thread settings. Any graph can be cached this way:
 * the transforms now, a gradient graph for SGA+ later.
 */
export function cachedSession(owner: object, key: string, build: () => Uint8Array): Promise<Ort.InferenceSession> {
  let byKey = sessions.get(owner);
  if (!byKey) sessions.set(owner, (byKey = new Map()));
  const full = `${key}/threads=${threads}`;
  let s = byKey.get(full);
  if (!s) {
    const n = threads;
    s = loadOrt().then((ort) => ort.InferenceSession.create(build(), {
      intraOpNumThreads: n,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    }));
    s.catch(() => byKey.delete(full)); // a failed build is retried next time, not cached
    byKey.set(full, s);
  }
  return s;
}

/** The same contract as runLayers (model/network.ts), on ONNX Runtime. */
export async function runLayersOrt(input: FeatureMap, layers: Layer[]): Promise<FeatureMap> {
  const ort = await loadOrt();
  const form = upForm;
  const session = await cachedSession(layers, `layers/${form}/${input.channels}`, () => layersModel('sgai', layers, input.channels, form));
  const x = new ort.Tensor('float32', input.data, [1, input.height, input.width, input.channels]);
  const out = (await session.run({ [INPUT]: x }))[OUTPUT];
  const [, height, width, channels] = out.dims;
  return { data: out.data as Float32Array, height, width, channels };
}

/**
 * Loads onnxruntime-node and runs a tiny graph, so a native library that loads but cannot run
 * is found at start-up (and `--backend auto` moves on) rather than mid-encode. Returns the reason
 * it is unusable, or null.
 */
export async function probeOrt(): Promise<string | null> {
  try {
    const ort = await loadOrt();
    const session = await ort.InferenceSession.create(layersModel('probe', [{ kind: 'leaky' }], 1), { intraOpNumThreads: 1, logSeverityLevel: 3 });
    const out = (await session.run({ [INPUT]: new ort.Tensor('float32', Float32Array.of(1, -1), [1, 1, 2, 1]) }))[OUTPUT];
    const v = out.data as Float32Array;
    await session.release();
    return v[0] === 1 && Math.abs(v[1] + 0.01) < 1e-7 ? null : 'a test graph gave wrong results';
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}
