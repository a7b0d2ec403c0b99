/** Kernel-time profile of SGA+ steps on tfjs (npm run bench:profile-refine -- [weights]): where a step's time goes. */
import * as tf from '@tensorflow/tfjs';
import { analyse, hyperAnalyse, initBackend, latentGrid, loadModelFromPath, rasterToFloatRegion, readImage, refineLatents } from '../src/core';
await initBackend('wasm');
const model = loadModelFromPath(process.argv[2] ?? 'test/fixtures/models/sgai-test-n32m48.safetensors');
const { image } = await readImage('/work/shared/datasets/kodak/kodim23.png');
const [H, W] = [256, 256];
const x = rasterToFloatRegion(image, 0, 0, W, H);
const crop = { width: W, height: H, bitDepth: 8 as const, data: Uint8Array.from(x, (v) => Math.round(v * 255)) };
const g = latentGrid(W, H, 4096);
const y = await analyse(model.weights, crop, g); const z = hyperAnalyse(model.weights, y, g);
await refineLatents(model.weights, { x, height: H, width: W }, y, z, 0.0067, { iterations: 2, evalEvery: 1e9 });
const info = await tf.profile(async () => { await refineLatents(model.weights, { x, height: H, width: W }, y, z, 0.0067, { iterations: 3, evalEvery: 1e9 }); });
const agg = new Map<string, { ms: number; n: number }>();
for (const k of info.kernels) { const a = agg.get(k.name) ?? { ms: 0, n: 0 }; a.ms += Number(k.kernelTimeMs); a.n++; agg.set(k.name, a); }
const tot = [...agg.values()].reduce((s, a) => s + a.ms, 0);
console.log('total kernel ms', tot.toFixed(0));
for (const [k, a] of [...agg.entries()].sort((p, q) => q[1].ms - p[1].ms).slice(0, 25)) console.log(k.padEnd(24), a.ms.toFixed(1).padStart(8), a.n);
