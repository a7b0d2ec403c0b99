/**
 * `npm run bench:refine`: time per SGA+ step (relaxed forward, backward, Adam) of the TS engine
 * and of the PyTorch reference on the same model, image and thread count, in one run, as a ratio.
 *   npm run bench:refine -- [--size 512x768] [--model PATH] [--steps 5] [--method ssl] [--backends wasm]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { analyse, type BackendName, floatToRaster, hyperAnalyse, initBackend, latentGrid, loadModelFromPath, packageRoot, rasterToFloatRegion, readImage, refineLatents, type RefineMethod, TEST_MODELS_DIR } from '../src/core';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '512x768' },
    model: { type: 'string', default: join(TEST_MODELS_DIR, 'sgai-test-n32m48.safetensors') },
    steps: { type: 'string', default: '5' },
    method: { type: 'string', default: 'ssl' },
    backends: { type: 'string', default: 'wasm' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const [H, W] = values.size.split('x').map(Number);
const steps = Number(values.steps);
const method = values.method as RefineMethod;
const model = loadModelFromPath(values.model);
const root = packageRoot();
const { image } = await readImage(join(root, '..', 'shared', 'datasets', 'kodak', 'kodim23.png'));
// Same input as the PyTorch benchmark: the top-left HxW of kodim23 (rotated sizes fall back to its own crop).
const x = rasterToFloatRegion(image, 0, 0, W, H);
const crop = floatToRaster(x, W, H, 8);

const rows: { name: string; ms: number }[] = [];
for (const b of values.backends.split(',') as BackendName[]) {
  await initBackend(b);
  const g = latentGrid(W, H, 4096);
  const y = await analyse(model.weights, crop, g);
  const z = hyperAnalyse(model.weights, y, g);
  const run = async (iterations: number) => {
    const t0 = performance.now();
    await refineLatents(model.weights, { x, height: H, width: W }, y, z, model.card.lambda, { method, iterations, evalEvery: 1e9 });
    return performance.now() - t0;
  };
  await run(1); // warm-up: kernel setup and weight upload
  const one = await run(1);
  const many = await run(1 + steps);
  rows.push({ name: `TS tfjs-${b}`, ms: (many - one) / steps });
}

// Debian's torch links the reference BLAS (~6x slower convolutions); training/setup_openblas.sh
// unpacks OpenBLAS privately, and the reference is only a fair baseline with it.
const openblas = join(root, 'training', '.venv', 'openblas');
const blas = existsSync(join(openblas, 'libblas.so.3')) ? 'OpenBLAS' : 'reference BLAS (run training/setup_openblas.sh)';
const py = spawnSync(values.python, ['-m', 'sgai_train.bench_refine', '--weights', values.model, '--size', `${H}x${W}`, '--threads', '1', '--steps', String(steps), '--method', method], {
  cwd: join(root, 'training'),
  env: {
    ...process.env, PYTHONPATH: join(root, 'training'), OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1',
    ...(blas === 'OpenBLAS' ? { LD_LIBRARY_PATH: [openblas, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') } : {}),
  },
  encoding: 'utf8',
});
let pyMs: number | null = null;
if (py.status === 0) {
  const j = JSON.parse(py.stdout.trim().split('\n').at(-1)!) as { ms_per_step: number; torch_version: string };
  pyMs = j.ms_per_step;
  rows.push({ name: `PyTorch ${j.torch_version}, ${blas.split(' (')[0]}`, ms: pyMs });
} else {
  console.log(`PyTorch reference not run: ${py.stderr.trim().split('\n').at(-1) ?? 'python3 failed'}`);
}

console.log(`PyTorch BLAS: ${blas}`);
console.log(`SGA+ step (${method}), model ${model.card.id} (N=${model.card.N}, M=${model.card.M}), image ${H}x${W}, 1 thread`);
for (const r of rows) console.log(`${r.name.padEnd(34)} ${r.ms.toFixed(1).padStart(9)} ms/step${pyMs ? `   ratio to PyTorch ${(r.ms / pyMs).toFixed(2)}` : ''}`);
