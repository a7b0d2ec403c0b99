/**
 * SGA+ results report, TS-vs-PyTorch agreement (docs/sgaplus-results.md): the TS engine
 * (refineLatents on the wasm backend) on the same inputs as the PyTorch reference.
 *
 *   . training/env.sh && /usr/bin/python3 -m sgai_train.sgaplus_experiment ts-inputs
 *   npx tsx bench/sgaplus-check.ts [--dir training/runs/exp-sweep/ts-check] [--bd-only]
 *
 * Each input JSON (written by `sgaplus_experiment ts-inputs`) holds x (the Kodak image downscaled
 * by 4, HWC in [0,1]), y0 = g_a(x) and z0 = h_a(y0) computed by PyTorch (HWC), the model file, lambda,
 * seed, iterations and the PyTorch refine.refine() true-loss history for ssl and sga. The TS engine
 * starts from the same y0/z0 (not its own g_a), so the comparison isolates the refinement loop.
 * Writes ts-result.json next to the inputs and prints the relative differences of the true loss.
 *
 * If the sweep's summary.json exists (`sgaplus_experiment report`), the BD-rate / BD-PSNR of every
 * method and budget are recomputed with src/core/metrics/bd.ts from the same mean R-D points and
 * compared with the Python values (cross-check of the Python PCHIP BD).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bdQuality, bdRate, initBackend, loadModelFromPath, packageRoot, refineLatents, type RefineMethod } from '../src/core';

interface PyEval {
  t: number;
  loss: number;
  bpp: number;
  psnr: number;
}
interface Input {
  image: string;
  height: number;
  width: number;
  model: string;
  lambda: number;
  seed: number;
  iters: number;
  eval_every: number;
  x: number[];
  y0: number[];
  z0: number[];
  pytorch: Record<string, { true_history: PyEval[]; best_t: number; best_loss: number; ms_per_it: number }>;
}

const root = packageRoot();
const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: join(root, 'training', 'runs', 'exp-sweep', 'ts-check') },
    family: { type: 'string', default: join(root, 'training', 'runs', 'exp-family') },
    'bd-only': { type: 'boolean', default: false },
  },
});
const backend = await initBackend('wasm');
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
const resultPath = join(values.dir, 'ts-result.json');
// --bd-only: keep the refinement rows of the last run and only redo the BD cross-check.
const rows: Record<string, unknown>[] = values['bd-only'] ? (JSON.parse(readFileSync(resultPath, 'utf8')) as { rows: Record<string, unknown>[] }).rows : [];
const inputs = values['bd-only'] ? [] : readdirSync(values.dir).filter((n) => /^kodim\d+\.json$/.test(n)).sort();
for (const f of inputs) {
  const inp = JSON.parse(readFileSync(join(values.dir, f), 'utf8')) as Input;
  const model = loadModelFromPath(join(values.family, inp.model));
  const x = Float32Array.from(inp.x);
  const y0 = Float32Array.from(inp.y0);
  const z0 = Float32Array.from(inp.z0);
  for (const method of Object.keys(inp.pytorch) as RefineMethod[]) {
    const py = inp.pytorch[method];
    const t0 = performance.now();
    const r = await refineLatents(model.weights, { x, height: inp.height, width: inp.width }, y0, z0, inp.lambda, {
      method, iterations: inp.iters, seed: inp.seed, evalEvery: inp.eval_every,
    });
    const seconds = (performance.now() - t0) / 1000;
    const pyAt = (t: number) => py.true_history.find((e) => e.t === t)!;
    const tsLast = r.trueHistory.at(-1)!;
    const pyLast = pyAt(tsLast.iteration);
    // Largest relative difference of the true loss over all evaluations (t = 0, 10, ..., 100).
    let worst = 0;
    for (const e of r.trueHistory) worst = Math.max(worst, rel(e.loss, pyAt(e.iteration).loss));
    const row = {
      image: inp.image, method, iterations: r.iterations,
      ts: { initial: r.initial.loss, last: tsLast.loss, lastBpp: tsLast.bpp, lastPsnr: tsLast.psnr, best: r.best.loss, bestT: r.best.iteration },
      pytorch: { initial: pyAt(0).loss, last: pyLast.loss, lastBpp: pyLast.bpp, lastPsnr: pyLast.psnr, best: py.best_loss, bestT: py.best_t },
      relInitial: rel(r.initial.loss, pyAt(0).loss),
      relLast: rel(tsLast.loss, pyLast.loss),
      relBest: rel(r.best.loss, py.best_loss),
      worstRelOverEvaluations: worst,
      tsMsPerIteration: (1000 * seconds) / inp.iters,
      pytorchMsPerIteration: py.ms_per_it,
    };
    rows.push(row);
    console.log(
      `${inp.image} ${method.padEnd(4)} true loss @${tsLast.iteration}: TS ${tsLast.loss.toFixed(5)} PyTorch ${pyLast.loss.toFixed(5)} ` +
        `(rel ${(100 * row.relLast).toFixed(3)} %); best TS ${r.best.loss.toFixed(5)} (t=${r.best.iteration}) PyTorch ${py.best_loss.toFixed(5)} ` +
        `(t=${py.best_t}); worst over evaluations ${(100 * worst).toFixed(3)} %; ${row.tsMsPerIteration.toFixed(0)} ms/it TS vs ${py.ms_per_it.toFixed(0)} PyTorch`,
    );
  }
}

interface Summary {
  sweep: { anchor: [number, number][]; methods: Record<string, Record<string, { curve: [number, number][]; bd_rate: number | null; bd_psnr: number | null }>> };
}
const bd: Record<string, unknown>[] = [];
const summaryPath = join(values.dir, '..', 'summary.json');
if (existsSync(summaryPath)) {
  const s = (JSON.parse(readFileSync(summaryPath, 'utf8')) as Summary).sweep;
  const pts = (c: [number, number][]) => c.map(([rate, quality]) => ({ rate, quality }));
  let worstRate = 0;
  let worstPsnr = 0;
  let mismatchedDefined = 0;
  for (const [method, budgets] of Object.entries(s.methods)) {
    for (const [budget, v] of Object.entries(budgets)) {
      // No overlap of the two curves: bd.ts throws, the Python side wrote null; both mean "undefined".
      const orNull = (f: () => number) => {
        try {
          return f();
        } catch {
          return null;
        }
      };
      const r = orNull(() => bdRate(pts(s.anchor), pts(v.curve)));
      const q = orNull(() => bdQuality(pts(s.anchor), pts(v.curve)));
      if ((r === null) !== (v.bd_rate === null) || (q === null) !== (v.bd_psnr === null)) mismatchedDefined++;
      if (r !== null && v.bd_rate !== null) worstRate = Math.max(worstRate, Math.abs(r - v.bd_rate));
      if (q !== null && v.bd_psnr !== null) worstPsnr = Math.max(worstPsnr, Math.abs(q - v.bd_psnr));
      bd.push({ method, budget: Number(budget), tsBdRate: r, pyBdRate: v.bd_rate, tsBdPsnr: q, pyBdPsnr: v.bd_psnr });
    }
  }
  console.log(`BD cross-check over ${bd.length} (method, budget) pairs: largest |TS - Python| BD-rate ${worstRate.toExponential(2)} %-points, BD-PSNR ${worstPsnr.toExponential(2)} dB; pairs defined on one side only: ${mismatchedDefined}`);
}
const out = resultPath;
writeFileSync(out, JSON.stringify({ backend: backend.name, node: process.version, rows, bd }, null, 1) + '\n');
console.log(`backend ${backend.name}; wrote ${out}`);
