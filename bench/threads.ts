/**
 * `npm run bench:threads`: how to spend the cores - ONNX Runtime intra-op threads or encoder
 * processes. In one run on the same photos: a batch through the engine's EncoderPool with
 * 1 worker x 1 thread, 1 x 2, 2 x 1 and 2 x 2 (workers x SGAI_ORT_THREADS), each timed warm
 * (start-up apart); then the latency of one encode and one decode in this process with 1 and
 * 2 threads (what the CLI's single file and the viewer see). Meant for an otherwise idle machine
 * (pause other jobs); the defaults in src/core/ort/runtime.ts and src/engine/sizing.ts follow
 * from it (docs/benchmarks.md, "Threads"). Writes bench/results/threads/<name>.json.
 *   npm run bench:threads -- [--photos 8] [--threads 1,2] [--workers 1,2] [--name NAME]
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decode, encode, initBackend, loadModel, defaultModel, packageRoot, readImage } from '../src/core';
import { EncoderPool, planBatch, runBatch } from '../src/engine';

const { values } = parseArgs({
  options: {
    photos: { type: 'string', default: '8' },
    threads: { type: 'string', default: '1,2' },
    workers: { type: 'string', default: '1,2' },
    name: { type: 'string', default: `threads-${new Date().toISOString().slice(0, 10)}` },
  },
});
const root = packageRoot();
const KODAK = join(root, '..', 'shared', 'datasets', 'kodak');
if (!existsSync(join(KODAK, 'kodim01.png'))) throw new Error(`bench:threads needs the Kodak images in ${KODAK}`);
const nPhotos = Number(values.photos);
const threadCounts = values.threads.split(',').map(Number);
const workerCounts = values.workers.split(',').map(Number);
const installed = defaultModel();
if (!installed || installed.isTestModel) throw new Error('bench:threads needs the trained default model in resources/models');
const model = loadModel(installed.model);
const work = mkdtempSync(join(tmpdir(), 'sgai-bench-threads-'));
const ms = async (f: () => unknown) => { const t = performance.now(); await f(); return performance.now() - t; };
const load0 = loadavg()[0];

interface BatchRow { workers: number; threads: number; startupS: number; seconds: number; photosPerS: number; megapixelsPerS: number }
interface LatencyRow { threads: number; encodeS: number; decodeS: number }

try {
  const lib = join(work, 'photos');
  mkdirSync(lib);
  for (let i = 0; i < nPhotos; i++) {
    const src = join(KODAK, `kodim${String((i % 24) + 1).padStart(2, '0')}.png`);
    await sharp(readFileSync(src)).png().toFile(join(lib, `photo-${i + 1}.png`));
  }

  const batches: BatchRow[] = [];
  const outputs: Record<string, string> = {};
  for (const workers of workerCounts)
    for (const threads of threadCounts) {
      // Workers read SGAI_ORT_THREADS when they initialise ORT (they inherit this environment).
      process.env.SGAI_ORT_THREADS = String(threads);
      const out = join(work, `out-${workers}x${threads}`);
      const pool = new EncoderPool({ workers, model, backend: 'ort' });
      const t0 = performance.now();
      await pool.warmUp();
      const startupS = (performance.now() - t0) / 1000;
      const plan = await planBatch({ inputs: [lib], outRoot: out, preset: model.card.id });
      const t1 = performance.now();
      const sum = await runBatch(plan, { settings: { model }, pool });
      const seconds = (performance.now() - t1) / 1000;
      await pool.close();
      if (sum.encoded !== nPhotos) throw new Error(`${workers} x ${threads}: encoded ${sum.encoded} of ${nPhotos} (${sum.firstError?.message ?? ''})`);
      batches.push({ workers, threads, startupS, seconds, photosPerS: nPhotos / seconds, megapixelsPerS: sum.megapixels / seconds });
      outputs[`${workers}x${threads}`] = out;
      console.error(`${workers} worker(s) x ${threads} thread(s): ${seconds.toFixed(1)} s`);
    }
  delete process.env.SGAI_ORT_THREADS;
  // ORT may split a convolution's sums differently with more threads; the files are compared, not assumed equal.
  const names = Array.from({ length: nPhotos }, (_, i) => `photo-${i + 1}.sgai`);
  const keys = Object.keys(outputs);
  const identical = keys.every((k) => names.every((f) => readFileSync(join(outputs[k], f)).equals(readFileSync(join(outputs[keys[0]], f)))));

  // One photo at a time in this process: what a single `sgai encode` or the viewer's decoder waits for.
  const { image } = await readImage(join(KODAK, 'kodim01.png'));
  const latency: LatencyRow[] = [];
  for (const threads of threadCounts) {
    await initBackend('ort', { ortThreads: threads });
    const warm = await encode(image, { model, preview: false });
    await decode(warm.bytes, { model, exact: false });
    let [enc, dec] = [Infinity, Infinity];
    for (let r = 0; r < 2; r++) {
      let bytes: Uint8Array = new Uint8Array();
      enc = Math.min(enc, await ms(async () => { bytes = (await encode(image, { model, preview: false })).bytes; }));
      dec = Math.min(dec, await ms(() => decode(bytes, { model, exact: false })));
    }
    latency.push({ threads, encodeS: enc / 1000, decodeS: dec / 1000 });
  }

  const f = (v: number, d = 2) => v.toFixed(d);
  const base = batches[0];
  console.log(`model ${model.card.id}; ${nPhotos} whole Kodak photos; ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}); load average at start ${f(load0)}`);
  console.log('workers x threads   batch s   photos/s    MP/s   vs first');
  for (const b of batches) console.log(`${`${b.workers} x ${b.threads}`.padEnd(18)} ${f(b.seconds, 1).padStart(8)} ${f(b.photosPerS, 3).padStart(10)} ${f(b.megapixelsPerS, 3).padStart(7)}   ${f(b.photosPerS / base.photosPerS)}x`);
  console.log(`files identical across configurations: ${identical}`);
  console.log('one photo (kodim01) in one process: threads  encode s  decode s (fast)');
  for (const l of latency) console.log(`${String(l.threads).padStart(45)} ${f(l.encodeS).padStart(9)} ${f(l.decodeS).padStart(9)}`);
  const dir = join(root, 'bench', 'results', 'threads');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${values.name}.json`), `${JSON.stringify({
    date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: availableParallelism(), node: process.version, loadAverageAtStart: load0,
    model: model.card.id, photos: nPhotos, batches, filesIdentical: identical, latency,
  }, null, 2)}\n`);
  console.log(`wrote bench/results/threads/${values.name}.json`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
