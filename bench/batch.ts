/**
 * `npm run bench:batch`: the batch engine's throughput with 1 and with 2 encoder processes on the
 * same photos in one run (photos/s, MP/s, their ratio), the time to scan and plan a library of
 * many tiny files, and peak memory per encoder process and in total. Writes
 * bench/results/batch/<name>.json.
 *   npm run bench:batch -- [--photos 16] [--crop 0] [--files 10000] [--iters 0] [--model ID] [--backend auto] [--name NAME]
 * Photos: Kodak (../shared/datasets/kodak), centre crops of --crop px (0: whole), else generated.
 * The model: the trained default (or --model). Each run gets warm workers (start-up is timed
 * apart), so the ratio compares encoding, not process start.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { defaultModel, type LoadedModel, loadModel, packageRoot, resolveModel } from '../src/core';
import { chooseWorkers, EncoderPool, type EncodeSettings, planBatch, runBatch } from '../src/engine';

const { values } = parseArgs({
  options: {
    photos: { type: 'string', default: '16' },
    crop: { type: 'string', default: '0' },
    files: { type: 'string', default: '10000' },
    iters: { type: 'string', default: '0' },
    model: { type: 'string' },
    backend: { type: 'string', default: 'auto' },
    name: { type: 'string', default: new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-') },
  },
});
const nPhotos = Number(values.photos);
const crop = Number(values.crop);
const nFiles = Number(values.files);
const iters = Number(values.iters);
const root = packageRoot();
const KODAK = join(root, '..', 'shared', 'datasets', 'kodak');
const work = mkdtempSync(join(tmpdir(), 'sgai-bench-batch-'));
const MB = (kb: number) => Math.round(kb / 1024);

/** The photos: Kodak centre crops, or generated gradients with texture when Kodak is absent. */
async function makeLibrary(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const fromKodak = existsSync(join(KODAK, 'kodim01.png'));
  for (let i = 0; i < nPhotos; i++) {
    const out = join(dir, `photo-${String(i + 1).padStart(2, '0')}.png`);
    if (fromKodak) {
      const src = sharp(readFileSync(join(KODAK, `kodim${String((i % 24) + 1).padStart(2, '0')}.png`)));
      const { width = 0, height = 0 } = await src.metadata();
      const [w, h] = crop ? [Math.min(crop, width), Math.min(crop, height)] : [width, height];
      await src.extract({ left: (width - w) >> 1, top: (height - h) >> 1, width: w, height: h }).png().toFile(out);
    } else {
      const side = crop || 768;
      const px = Buffer.alloc(side * side * 3);
      for (let p = 0; p < side * side; p++) {
        const x = p % side;
        const y = Math.floor(p / side);
        px[3 * p] = (x * 255) / side;
        px[3 * p + 1] = (y * 255) / side;
        px[3 * p + 2] = 128 + 90 * Math.sin((x + 13 * i) / 9) * Math.cos(y / (7 + i));
      }
      await sharp(px, { raw: { width: side, height: side, channels: 3 } }).png().toFile(out);
    }
  }
  return fromKodak ? `Kodak, ${crop ? `centre ${crop}x${crop} crops` : 'whole images'}` : `generated ${crop || 768}x${crop || 768}`;
}

interface Run {
  workers: number;
  startupS: number;
  seconds: number;
  photosPerS: number;
  megapixelsPerS: number;
  /** Peak RSS of each encoder process, MB. */
  workerPeakRssMb: number[];
  backend: string;
}

async function timeBatch(lib: string, model: LoadedModel, workers: number): Promise<Run & { out: string }> {
  const out = join(work, `out-${workers}`);
  let backend = '';
  const pool = new EncoderPool({ workers, model, backend: values.backend, onEvent: (e) => e.type === 'worker:ready' && (backend = e.backend) });
  const t0 = performance.now();
  await pool.warmUp();
  const startupS = (performance.now() - t0) / 1000;
  const settings: EncodeSettings = { model, refine: iters ? { method: 'ssl', iterations: iters } : undefined };
  const plan = await planBatch({ inputs: [lib], outRoot: out, preset: model.card.id });
  const t1 = performance.now();
  const sum = await runBatch(plan, { settings, pool });
  const seconds = (performance.now() - t1) / 1000;
  const workerPeakRssMb = pool.workers().map((w) => MB(w.peakRssKb));
  await pool.close();
  if (sum.failed || sum.encoded !== nPhotos) throw new Error(`the ${workers}-worker run encoded ${sum.encoded} of ${nPhotos} photos (${sum.firstError?.message ?? ''})`);
  return { workers, startupS, seconds, photosPerS: sum.encoded / seconds, megapixelsPerS: sum.megapixels / seconds, workerPeakRssMb, backend, out };
}

/** A library of `n` tiny JPEGs in 100 folders: what scanning and planning cost per file. */
async function timeScanAndPlan(n: number): Promise<{ files: number; scanPlanS: number; sizingS: number; filesPerS: number }> {
  const dir = join(work, 'many');
  const tiny = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 120, g: 90, b: 60 } } }).jpeg().toBuffer();
  for (let i = 0; i < n; i++) {
    const folder = join(dir, `folder-${String(i % 100).padStart(3, '0')}`);
    if (i < 100) mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `IMG_${String(i).padStart(5, '0')}.jpg`), tiny);
  }
  const t0 = performance.now();
  const plan = await planBatch({ inputs: [dir], outRoot: join(work, 'many-out'), preset: 'bench' });
  const scanPlanS = (performance.now() - t0) / 1000;
  if (plan.jobs.length !== n) throw new Error(`planned ${plan.jobs.length} of ${n} files`);
  // What `sgai batch` adds before encoding when it chooses the number of workers: every header read.
  const t1 = performance.now();
  await chooseWorkers(plan);
  const sizingS = (performance.now() - t1) / 1000;
  return { files: n, scanPlanS, sizingS, filesPerS: n / scanPlanS };
}

const sameOutputs = (a: string, b: string, names: string[]) => names.every((f) => readFileSync(join(a, f)).equals(readFileSync(join(b, f))));

try {
  const installed = values.model ? undefined : defaultModel();
  const model = installed ? loadModel(installed.model) : resolveModel({ model: values.model });
  const lib = join(work, 'photos');
  const photos = await makeLibrary(lib);
  console.error(`model ${model.card.id}${installed?.isTestModel ? ' (UNTRAINED TEST MODEL: no trained weights installed)' : ''}; ${nPhotos} photos (${photos}); ${iters ? `SGA+ ssl ${iters} iterations` : 'no refinement'}`);

  const one = await timeBatch(lib, model, 1);
  const two = await timeBatch(lib, model, 2);
  const names = Array.from({ length: nPhotos }, (_, i) => `photo-${String(i + 1).padStart(2, '0')}.sgai`);
  const identical = sameOutputs(one.out, two.out, names);
  const scan = await timeScanAndPlan(nFiles);
  const parentPeakRssMb = MB(process.resourceUsage().maxRSS);

  const result = {
    name: values.name,
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model ?? '?', cores: availableParallelism(), totalMemGb: +(totalmem() / 1e9).toFixed(1), node: process.version },
    model: model.card.id,
    backend: two.backend,
    photos: { count: nPhotos, source: photos, refineIterations: iters },
    runs: [one, two].map(({ out: _out, ...r }) => r),
    ratio2to1: { photosPerS: two.photosPerS / one.photosPerS, megapixelsPerS: two.megapixelsPerS / one.megapixelsPerS },
    outputsIdentical: identical,
    scanAndPlan: scan,
    peakRssMb: {
      batchProcess: parentPeakRssMb,
      perWorker: { 1: one.workerPeakRssMb, 2: two.workerPeakRssMb },
      // Peaks of different processes need not coincide: an upper bound of the whole at any moment.
      totalWith2Workers: parentPeakRssMb + two.workerPeakRssMb.reduce((a, b) => a + b, 0),
    },
  };

  const f = (v: number, d = 2) => v.toFixed(d);
  console.log(`backend ${result.backend}; ${result.machine.cores} cores (${result.machine.cpu})`);
  console.log('workers  start-up s  batch s  photos/s   MP/s   peak RSS per worker (MB)');
  for (const r of result.runs) {
    console.log(`${String(r.workers).padEnd(8)} ${f(r.startupS).padStart(10)} ${f(r.seconds).padStart(8)} ${f(r.photosPerS, 3).padStart(9)} ${f(r.megapixelsPerS, 3).padStart(6)}   ${r.workerPeakRssMb.join(', ')}`);
  }
  console.log(`2 workers / 1 worker: ${f(result.ratio2to1.photosPerS)}x photos/s, ${f(result.ratio2to1.megapixelsPerS)}x MP/s; outputs byte-identical: ${identical}`);
  console.log(`scan + plan of ${scan.files} files: ${f(scan.scanPlanS)} s (${Math.round(scan.filesPerS)} files/s); choosing workers (header reads): ${f(scan.sizingS)} s`);
  console.log(`peak RSS: batch process ${parentPeakRssMb} MB; total with 2 workers <= ${result.peakRssMb.totalWith2Workers} MB`);

  const dir = join(root, 'bench', 'results', 'batch');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${values.name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${join('bench', 'results', 'batch', `${values.name}.json`)}`);
  if (!identical) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
