/**
 * `npm run bench:rd -- [options]`: rate-distortion and speed of every codec over a folder of
 * images. Results go to bench/results/<dataset>/, plots to docs/plots/, and the dataset's
 * section of docs/benchmarks.md is regenerated. Finished points are cached, so a killed run
 * resumes where it stopped.
 *
 *   --dataset DIR        images to use (default ../shared/datasets/kodak from the repo root)
 *   --name NAME          dataset name for outputs (default: the folder's name)
 *   --codecs a,b         codec ids (default: all); --list shows them and whether they can run
 *   --settings ID=v,v    override one codec's sweep, e.g. jpeg=10,50,90 (repeatable)
 *   --images N           only the first N images
 *   --speed-images N     images timed in the speed pass (default 3, 0 = none)
 *   --models a,b         sgai model ids (default: every installed model)
 *   --model-dir DIR      extra model folder (repeatable)
 *   --test-model yes|no|auto   include the seeded test model as 'sgai-test' (auto: only if no trained model)
 *   --anchors a,b        BD anchors (default jpeg,sgai,sgai-test where present)
 *   --backend wasm|cpu|auto    tfjs backend for sgai (default wasm)
 *   --out DIR  --cache DIR  --plots DIR|none  --docs FILE|none
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type BackendName, isSgaiError, packageRoot } from '../src/core';
import { buildCodecs, runBench, type BenchOptions } from './rd/harness';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string' },
    name: { type: 'string' },
    codecs: { type: 'string' },
    settings: { type: 'string', multiple: true },
    images: { type: 'string' },
    'speed-images': { type: 'string' },
    models: { type: 'string' },
    'model-dir': { type: 'string', multiple: true },
    'test-model': { type: 'string', default: 'auto' },
    anchors: { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    out: { type: 'string' },
    cache: { type: 'string' },
    plots: { type: 'string' },
    docs: { type: 'string' },
    list: { type: 'boolean', default: false },
  },
  allowPositionals: false,
});

const root = packageRoot();
const list = (v: string | undefined) => (v ? v.split(',').map((x) => x.trim()).filter(Boolean) : undefined);
const intOf = (v: string | undefined, what: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${what} must be a whole number ≥ 0`);
  return n;
};
const settings: Record<string, string[]> = {};
for (const s of values.settings ?? []) {
  const [id, vals] = s.split('=');
  if (!id || !vals) throw new Error(`--settings wants ID=v1,v2 (got "${s}")`);
  settings[id] = vals.split(',').filter(Boolean);
}
const testModel = values['test-model'];
if (testModel !== 'yes' && testModel !== 'no' && testModel !== 'auto') throw new Error('--test-model must be yes, no or auto');
const opts: BenchOptions = {
  root,
  dataset: values.dataset ?? join(root, '..', 'shared', 'datasets', 'kodak'),
  name: values.name,
  codecs: list(values.codecs),
  settings,
  maxImages: intOf(values.images, 'images'),
  speedImages: intOf(values['speed-images'], 'speed-images') ?? 3,
  models: list(values.models),
  modelDirs: (values['model-dir'] ?? []).map((d) => resolve(d)),
  testModel,
  anchors: list(values.anchors),
  backend: values.backend as BackendName,
  outDir: values.out,
  cacheDir: values.cache,
  plotsDir: values.plots === 'none' ? null : values.plots,
  docsPath: values.docs === 'none' ? null : values.docs,
  command: `npm run bench:rd${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
};

try {
  if (values.list) {
    for (const c of buildCodecs(opts)) {
      const p = await c.probe();
      console.log(`${c.id.padEnd(14)} ${c.label.padEnd(60)} ${p.ok ? Object.entries(p.versions).map(([k, v]) => `${k} ${v}`).join('; ') : `unavailable: ${p.reason}`}`);
    }
  } else {
    const s = await runBench(opts);
    for (const a of s.anchors) {
      console.log(`BD-rate vs ${a} (PSNR-RGB, PCHIP):`);
      for (const b of s.bd.filter((x) => x.anchor === a && x.metric === 'psnrRgb' && x.method === 'pchip')) {
        console.log(`  ${b.test.padEnd(14)} ${b.bdRate === null ? `n/a (${b.reason})` : `${b.bdRate.toFixed(2)} %  (BD-PSNR ${b.bdQuality?.toFixed(3)} dB)`}`);
      }
    }
  }
} catch (e) {
  console.error(isSgaiError(e) ? `bench:rd: ${e.message}` : e);
  process.exitCode = 1;
}
