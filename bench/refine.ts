/**
 * `npm run bench:refine`: time per SGA+ step (relaxed forward, backward, Adam) of the TS engine on
 * each backend (tfjs-wasm: autograd; ort: the ONNX Runtime adjoint graph) and of the PyTorch twin
 * (training/sgai_train/bench_refine.py) on the same model, image and thread count, in one run,
 * with each row's ratio to PyTorch.
 *   npm run bench:refine -- [--size 512x768] [--model PATH] [--steps 5] [--method ssl]
 *     [--backends wasm,ort] [--python PY1,PY2] [--up phase|transpose] [--adjoint strided|phase] [--profile]
 * --python: every interpreter listed is timed (default: the PyPI torch in training/.venv/torch
 * when set up, and /usr/bin/python3); ratios are to the fastest. --profile: where an ort step's
 * time goes (its parts timed one by one, then ORT's per-node profile of the gradient graph).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  analyse, type BackendName, floatToRaster, hyperAnalyse, initBackend, latentGrid, loadModelFromPath, packageRoot, rasterToFloatRegion,
  readImage, refineLatents, type RefineMethod,
} from '../src/core';
import { DEFAULT_REFINE_FORM, meansModel, MEANS_IN, REFINE_IN, refineLossModel, type RefineGraphForm } from '../src/core/ort/refine-graphs';
import { loadOrt } from '../src/core/ort/runtime';
import { Adam } from '../src/core/refine/adam';
import { gumbelNoise } from '../src/core/refine/noise';
import { setRefineGraphForm } from '../src/core/refine/ort-gradients';
import { defaultParams } from '../src/core/refine/probabilities';
import { classCount } from '../src/core/refine/relax';
import { relaxWithSlope } from '../src/core/refine/relax-arrays';

const root = packageRoot();
const torchVenv = join(root, 'training', '.venv', 'torch', 'bin', 'python');
const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '512x768' },
    model: { type: 'string', default: join(root, 'resources', 'models', 'sgai-msh-c64-l0067.safetensors') },
    steps: { type: 'string', default: '5' },
    method: { type: 'string', default: 'ssl' },
    backends: { type: 'string', default: 'wasm,ort' },
    python: { type: 'string', default: [...(existsSync(torchVenv) ? [torchVenv] : []), '/usr/bin/python3'].join(',') },
    up: { type: 'string', default: DEFAULT_REFINE_FORM.up },
    adjoint: { type: 'string', default: DEFAULT_REFINE_FORM.adjoint },
    profile: { type: 'boolean', default: false },
  },
});
const [H, W] = values.size.split('x').map(Number);
const steps = Number(values.steps);
const method = values.method as RefineMethod;
const form = { up: values.up, adjoint: values.adjoint } as RefineGraphForm;
setRefineGraphForm(form);
const model = loadModelFromPath(values.model);
const { image } = await readImage(join(root, '..', 'shared', 'datasets', 'kodak', 'kodim23.png'));
// Same input as the PyTorch benchmark: the top-left HxW of kodim23.
const x = rasterToFloatRegion(image, 0, 0, W, H);
const crop = floatToRaster(x, W, H, 8);
const g = latentGrid(W, H, 4096);

const rows: { name: string; ms: number; torch?: boolean }[] = [];
let latents: { y: Float32Array; z: Float32Array } | null = null;
for (const b of values.backends.split(',') as BackendName[]) {
  const report = await initBackend(b);
  const y = await analyse(model.weights, crop, g);
  const z = hyperAnalyse(model.weights, y, g);
  latents ??= { y, z };
  let engine = '';
  const run = async (iterations: number) => {
    const t0 = performance.now();
    const r = await refineLatents(model.weights, { x, height: H, width: W }, y, z, model.card.lambda, { method, iterations, evalEvery: 1e9 });
    engine = r.engine;
    return performance.now() - t0;
  };
  await run(1); // warm-up: kernels, weight upload, graph build
  const one = await run(1);
  const many = await run(1 + steps);
  const ortNote = engine === 'ort' ? ` (ORT ${(await loadOrt()).env.versions.common}, ${report.ortThreads} thr, up ${form.up}, adjoint ${form.adjoint})` : '';
  rows.push({ name: `TS ${b}: ${engine}${ortNote}`, ms: (many - one) / steps });
}

// Debian's torch links the reference BLAS (~6x slower convolutions); training/setup_openblas.sh
// unpacks OpenBLAS privately, and Debian's torch is only a fair baseline with it.
const openblas = join(root, 'training', '.venv', 'openblas');
const haveOpenblas = existsSync(join(openblas, 'libblas.so.3'));
for (const python of values.python.split(',').filter(Boolean)) {
  const debian = python === '/usr/bin/python3';
  const py = spawnSync(python, ['-m', 'sgai_train.bench_refine', '--weights', values.model, '--size', `${H}x${W}`, '--threads', '1', '--steps', String(steps), '--method', method], {
    cwd: join(root, 'training'),
    env: {
      ...process.env, PYTHONPATH: join(root, 'training'), OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1',
      ...(debian && haveOpenblas ? { LD_LIBRARY_PATH: [openblas, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') } : {}),
    },
    encoding: 'utf8',
  });
  if (py.status === 0) {
    const j = JSON.parse(py.stdout.trim().split('\n').at(-1)!) as { ms_per_step: number; torch_version: string; blas?: string };
    const blas = debian ? (haveOpenblas ? ', OpenBLAS' : ', reference BLAS (run training/setup_openblas.sh)') : '';
    rows.push({ name: `PyTorch ${j.torch_version}${blas}`, ms: j.ms_per_step, torch: true });
  } else {
    console.log(`PyTorch (${python}) not run: ${py.stderr.trim().split('\n').at(-1) ?? 'failed'}`);
  }
}

const torchMs = Math.min(...rows.filter((r) => r.torch).map((r) => r.ms));
console.log(`SGA+ step (${method}), model ${model.card.id} (N=${model.card.N}, M=${model.card.M}), image ${H}x${W} (kodim23 top-left), 1 thread`);
for (const r of rows) {
  const ratio = Number.isFinite(torchMs) ? `   ratio to PyTorch ${(r.ms / torchMs).toFixed(2)}` : '';
  console.log(`${r.name.padEnd(52)} ${r.ms.toFixed(1).padStart(9)} ms/step${ratio}`);
}
const ortRow = rows.find((r) => r.name.includes(': ort'));
if (ortRow && Number.isFinite(torchMs)) console.log(`ort / PyTorch (fastest) = ${(ortRow.ms / torchMs).toFixed(3)} (goal <= 0.5)`);

if (values.profile && latents) await profile(latents.y, latents.z);

/** Where an ort step's time goes: each part alone, then ORT's per-node profile of the gradient graph. */
async function profile(y: Float32Array, z: Float32Array): Promise<void> {
  await initBackend('ort');
  const ort = await loadOrt();
  const w = model.weights;
  const K = classCount(method);
  const params = defaultParams(method);
  const yShape = [1, H / 16, W / 16, w.M];
  const zShape = [1, H / 64, W / 64, w.N];
  const split = (n: Float32Array) => Array.from({ length: K }, (_, k) => Float32Array.from({ length: n.length / K }, (_, e) => n[e * K + k]));
  const medians = Float32Array.from({ length: w.N }, (_, c) => w.factorized.quantiles[c * 3 + 1]);
  const t = (d: Float32Array, dims: number[]) => new ort.Tensor('float32', d, dims);
  const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' as const, graphOptimizationLevel: 'all' as const, logSeverityLevel: 3 as const };
  const prefix = join(tmpdir(), `sgai-refine-profile-${process.pid}`);
  const meansS = await ort.InferenceSession.create(meansModel(w), opts);
  const gradS = await ort.InferenceSession.create(refineLossModel(w, true, form), { ...opts, enableProfiling: true, profileFilePrefix: prefix });
  const reps = Math.max(2, steps);
  const time = async (label: string, fn: () => unknown | Promise<unknown>) => {
    await fn();
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) await fn();
    const ms = (performance.now() - t0) / reps;
    console.log(`  ${label.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms`);
    return ms;
  };
  console.log(`\nort step, part by part (${reps} repetitions each):`);
  const yNoise = split(gumbelNoise(0, 0, 0, y.length * K));
  const zNoise = split(gumbelNoise(0, 1, 0, z.length * K));
  await time('Gumbel noise (y and z, TS)', () => { gumbelNoise(0, 0, 1, y.length * K); gumbelNoise(0, 1, 1, z.length * K); });
  const zr = relaxWithSlope(z, medians, 0.9, method, params, zNoise);
  await time('relax z + slope (TS)', () => relaxWithSlope(z, medians, 0.9, method, params, zNoise));
  const means = (await meansS.run({ [MEANS_IN]: t(zr.value, zShape) })).means.data as Float32Array;
  await time('means graph (h_s)', () => meansS.run({ [MEANS_IN]: t(zr.value, zShape) }));
  const yr = relaxWithSlope(y, means, 0.9, method, params, yNoise);
  await time('relax y + slope (TS)', () => relaxWithSlope(y, means, 0.9, method, params, yNoise));
  const feeds = {
    [REFINE_IN.z]: t(zr.value, zShape), [REFINE_IN.y]: t(yr.value, yShape), [REFINE_IN.dMeans]: t(yr.slope.map((s) => 1 - s), yShape),
    [REFINE_IN.x]: t(x, [1, H, W, 3]), [REFINE_IN.lambda]: t(Float32Array.of(model.card.lambda), [1]),
    [REFINE_IN.cropHeight]: t(Float32Array.of(H), [1]), [REFINE_IN.cropWidth]: t(Float32Array.of(W), [1]),
  };
  await time('loss + gradient graph', () => gradS.run(feeds));
  const adam = new Adam([y.length, z.length], 0.005);
  const yy = y.slice();
  const zz = z.slice();
  await time('Adam (TS)', () => adam.step([yy, zz], [yr.slope, zr.slope]));
  gradS.endProfiling();
  const base = `sgai-refine-profile-${process.pid}`;
  const found = readdirSync(tmpdir()).filter((f) => f.startsWith(base));
  if (!found.length) throw new Error(`no ORT profile file ${prefix}*.json`);
  const file = join(tmpdir(), found[0]);
  const events = JSON.parse(readFileSync(file, 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string; output_type_shape?: unknown[]; activation_size?: string } }[];
  rmSync(file, { force: true });
  const nodes = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
  const byOp = new Map<string, number>();
  const byNode = new Map<string, { us: number; op: string; shape: string }>();
  for (const e of nodes) {
    const op = e.args?.op_name ?? '?';
    byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
    const key = e.name.replace(/_kernel_time$/, '');
    const prev = byNode.get(key);
    byNode.set(key, { us: (prev?.us ?? 0) + e.dur, op, shape: JSON.stringify(e.args?.output_type_shape ?? []) });
  }
  const total = [...byOp.values()].reduce((a, b) => a + b, 0);
  const runs = reps + 1;
  console.log(`\ngradient graph, ORT profile (${runs} runs, ${(total / runs / 1000).toFixed(1)} ms/run in kernels), by operator:`);
  for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${op.padEnd(16)} ${(us / runs / 1000).toFixed(1).padStart(8)} ms  ${((100 * us) / total).toFixed(1).padStart(5)} %`);
  console.log('the 15 costliest nodes:');
  for (const [name, n] of [...byNode].sort((a, b) => b[1].us - a[1].us).slice(0, 15)) {
    console.log(`  ${(n.us / runs / 1000).toFixed(1).padStart(8)} ms  ${n.op.padEnd(14)} ${name.padEnd(22)} out ${n.shape}`);
  }
  await meansS.release();
  await gradS.release();
}
