/**
 * app:info: what this machine offers. Backends are probed once (each in words: why one cannot
 * run here), models listed from what is installed, and the encode speed measured once, lazily:
 * a synthetic 256×256 photo encoded with the default model, unrefined, after one warm-up encode.
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism, platform, release, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { defaultModel, encode, listModels, loadModel, type RasterImage, TEST_MODELS_DIR } from '../../core';
import { probeOrt } from '../../core/ort/runtime';
import type { AppInfo } from '../../ipc/schemas';
import { EFFORT_IDS, EFFORTS, type RefineEffort } from '../presets';

type BackendRow = AppInfo['backends'][number];

const budgetOf = (e: RefineEffort) => (e.kind === 'off' ? 0 : e.secondsPerMegapixel);

async function importable(pkg: string): Promise<string | null> {
  try {
    await import(/* @vite-ignore */ pkg);
    return null;
  } catch (e) {
    return `not installed or cannot load here (${(e as Error).message.split('\n')[0]})`;
  }
}

/** Each backend the app lets the user choose, whether it runs here, and which one 'auto' takes first. */
async function probeBackends(ensureBackend: () => Promise<unknown>): Promise<{ rows: BackendRow[]; auto: string }> {
  // The engine's own backend first: it registers and initialises the tfjs backends it can.
  await ensureBackend().catch(() => undefined);
  const gpu = await importable('@tensorflow/tfjs-node-gpu');
  const ort = await probeOrt();
  const native = await importable('@tensorflow/tfjs-node');
  const wasm = tf.findBackend('wasm') ? null : 'the WebAssembly backend could not be initialised';
  const cpu = tf.findBackendFactory('cpu') ? null : 'tfjs is not loaded';
  const rows: BackendRow[] = [
    { id: 'gpu', available: !gpu, detail: gpu ? `tfjs-node-gpu (CUDA): ${gpu}` : 'tfjs-node-gpu (CUDA): transforms and refinement on the graphics card' },
    { id: 'ort', available: !ort, detail: ort ? `ONNX Runtime: ${ort}` : 'ONNX Runtime on the CPU for the transforms; refinement runs on tfjs beside it' },
    { id: 'wasm', available: !wasm, detail: wasm ?? 'tfjs WebAssembly: the reference backend (identical results everywhere), slower' },
    { id: 'cpu', available: !cpu, detail: cpu ?? 'tfjs plain JavaScript: works everywhere, slowest' },
  ];
  // The order core's 'auto' tries (tfjs-node, not offered on its own here, sits between ort and wasm).
  const order: [string, boolean][] = [['gpu', !gpu], ['ort', !ort], ['tensorflow', !native], ['wasm', !wasm], ['cpu', !cpu]];
  return { rows, auto: order.find(([, ok]) => ok)?.[0] ?? 'none' };
}

/** A smooth synthetic photo with some texture: deterministic, so every machine measures the same work. */
function syntheticPhoto(side: number): RasterImage {
  const data = new Uint8Array(side * side * 3);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const i = (y * side + x) * 3;
      data[i] = (x * 255) / side;
      data[i + 1] = (y * 255) / side;
      data[i + 2] = 128 + 60 * Math.sin(x / 7) * Math.cos(y / 5);
    }
  }
  return { width: side, height: side, bitDepth: 8, data };
}

async function measureMpPerS(ensureBackend: () => Promise<unknown>): Promise<number> {
  await ensureBackend();
  const model = loadModel(defaultModel().model);
  const img = syntheticPhoto(256);
  await encode(img, { model }); // warm-up: sessions and kernels are built on first use
  const t0 = performance.now();
  await encode(img, { model });
  return (img.width * img.height) / 1e6 / ((performance.now() - t0) / 1000);
}

export function appInfoSource(o: { version: string; transport: AppInfo['transport']; ensureBackend: () => Promise<unknown>; log: (line: string) => void }): () => Promise<AppInfo> {
  let backends: ReturnType<typeof probeBackends> | undefined;
  let speed: Promise<number | null> | undefined;
  return async () => {
    backends ??= probeBackends(o.ensureBackend);
    speed ??= measureMpPerS(o.ensureBackend).catch((e) => {
      o.log(`warning: could not measure the encode speed (${(e as Error).message})`);
      return null;
    });
    const def = defaultModel();
    const installed = listModels();
    if (!installed.some((m) => m.card.id === def.model.card.id)) installed.push(def.model);
    const testDir = resolve(TEST_MODELS_DIR);
    const { rows, auto } = await backends;
    return {
      version: o.version,
      transport: o.transport,
      platform: `${platform()} ${release()}`,
      cores: availableParallelism(),
      memoryBytes: totalmem(),
      backends: rows,
      autoBackend: auto,
      models: installed.map((m) => ({ id: m.card.id, lambda: m.card.lambda, isDefault: m.card.id === def.model.card.id, trained: resolve(m.dir) !== testDir })),
      encodeMpPerS: await speed,
      efforts: EFFORT_IDS.map((id) => ({ id, secondsPerMegapixel: budgetOf(EFFORTS[id]) })),
    };
  };
}
