/**
 * `npm run bench:width`: standard vs compact model at one quality (lambda) when both get the
 * same SGA+ CPU time per image. On a CPU each SGA+ iteration costs roughly in proportion to the
 * model's width squared, so a compact model gets several times more iterations in the same time;
 * this measures which gives the better file. Real .sgai files (encode, write, read, decode).
 *
 *   npm run bench:width -- [--lambda 0.0067] [--images 6] [--crop 384x256|full] [--budgets 0,15,60]
 *                          [--method ssl] [--out bench/results/width-equal-time]
 *
 * Budgets are seconds of refinement per image. The iterations that fit a budget are found per model
 * from a timed calibration on the first image (the full annealing schedule then runs for that many
 * iterations; a run cut off by a time limit would stop before the temperature anneals). The
 * refinement time each file actually took is recorded next to its budget.
 * Results: <out>/lambda-<λ>.json, read by `python3 -m sgai_train.models_doc` for docs/models.md.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type BackendName, decode, encode, floatToRaster, initBackend, listModels, type LoadedModel, loadModel, mse, packageRoot, type RasterImage, rasterToFloatRegion, readImage, type RefineMethod, TEST_MODELS_DIR } from '../src/core';

const { values } = parseArgs({
  options: {
    lambda: { type: 'string', default: '0.0067' },
    images: { type: 'string', default: '6' },
    crop: { type: 'string', default: '384x256' },
    budgets: { type: 'string', default: '0,15,60' },
    method: { type: 'string', default: 'ssl' },
    backend: { type: 'string', default: 'wasm' },
    dataset: { type: 'string' },
    out: { type: 'string' },
  },
});

const root = packageRoot();
const lambda = Number(values.lambda);
const budgets = values.budgets.split(',').map(Number);
if (!budgets.every((b) => Number.isFinite(b) && b >= 0)) throw new Error('--budgets wants seconds ≥ 0, e.g. 0,15,60');
const method = values.method as RefineMethod;
const dataset = values.dataset ?? join(root, '..', 'shared', 'datasets', 'kodak');
const outDir = resolve(root, values.out ?? join('bench', 'results', 'width-equal-time'));
const seed = 0;

const models: LoadedModel[] = listModels()
  .filter((m) => resolve(m.dir) !== resolve(TEST_MODELS_DIR) && Math.abs(m.card.lambda / lambda - 1) < 0.02)
  .sort((a, b) => a.card.N - b.card.N)
  .map(loadModel);
const widths = new Set(models.map((m) => `${m.card.N}/${m.card.M}`));
if (widths.size < 2) {
  console.error(`bench:width: need models of at least two widths at λ=${lambda}; installed: ${models.map((m) => m.card.id).join(', ') || 'none'}`);
  process.exit(1);
}

async function loadImages(): Promise<{ name: string; image: RasterImage }[]> {
  const n = Number(values.images);
  const names = Array.from({ length: n }, (_, i) => `kodim${String(i + 1).padStart(2, '0')}.png`);
  const out: { name: string; image: RasterImage }[] = [];
  for (const name of names) {
    const { image } = await readImage(join(dataset, name));
    if (values.crop === 'full') {
      out.push({ name, image });
      continue;
    }
    // Centre crop, in the image's own orientation (portrait Kodak images get the crop turned).
    let [cw, ch] = values.crop.split('x').map(Number);
    if (image.height > image.width) [cw, ch] = [ch, cw];
    const left = Math.floor((image.width - cw) / 2);
    const top = Math.floor((image.height - ch) / 2);
    out.push({ name, image: floatToRaster(rasterToFloatRegion(image, left, top, cw, ch), cw, ch, 8) });
  }
  return out;
}

interface FileResult {
  image: string;
  iterations: number;
  refineSeconds: number;
  bytes: number;
  bpp: number;
  /** Coded streams only (ZSTR + YTIL): leaves out the header, preview and the ~200-byte refn record. */
  streamBpp: number;
  psnr: number;
  loss: number;
}

async function codeOne(model: LoadedModel, img: RasterImage, iterations: number): Promise<Omit<FileResult, 'image'>> {
  const r = await encode(img, { model, ...(iterations > 0 ? { refine: { method, iterations, seed } } : {}) });
  const file = join(scratch, 'probe.sgai');
  writeFileSync(file, r.bytes);
  const bytes = readFileSync(file);
  const d = await decode(bytes, { model });
  const e = mse(img, d.image); // on [0,1], the scale of the training loss
  const bpp = (bytes.length * 8) / (img.width * img.height);
  const streamBpp = (r.stats.streamBytes * 8) / (img.width * img.height);
  return { iterations, refineSeconds: r.refinement?.seconds ?? 0, bytes: bytes.length, bpp, streamBpp, psnr: -10 * Math.log10(e), loss: lambda * 255 ** 2 * e + bpp };
}

mkdirSync(outDir, { recursive: true });
const scratch = mkdtempSync(join(tmpdir(), 'sgai-width-'));
const backend = await initBackend(values.backend as BackendName);
const images = await loadImages();
const results: {
  model: string; N: number; M: number; secondsPerIteration: number; fixedSeconds: number;
  budgets: { budget: number; iterations: number; files: FileResult[]; mean: { bpp: number; streamBpp: number; psnr: number; loss: number; refineSeconds: number } }[];
}[] = [];

for (const model of models) {
  const first = images[0].image;
  await codeOne(model, first, 2); // warm-up: kernels, weight upload
  // Calibrate: the slope between 4 and 12 iterations leaves out the fixed cost.
  const a = await codeOne(model, first, 4);
  const b = await codeOne(model, first, 12);
  const perIt = Math.max(1e-3, (b.refineSeconds - a.refineSeconds) / 8);
  // Fixed cost of a refinement (true-loss evaluations at the start and end, setup).
  const fixed = Math.max(0, a.refineSeconds - 4 * perIt);
  console.error(`${model.card.id}: ${perIt.toFixed(3)} s per SGA+ iteration + ${fixed.toFixed(2)} s fixed on ${first.width}x${first.height} (${backend.name})`);
  const entry: (typeof results)[number] = { model: model.card.id, N: model.card.N, M: model.card.M, secondsPerIteration: perIt, fixedSeconds: fixed, budgets: [] };
  for (const budget of budgets) {
    const iterations = budget === 0 ? 0 : Math.max(1, Math.floor((budget - fixed) / perIt));
    const files: FileResult[] = [];
    for (const { name, image } of images) {
      const r = await codeOne(model, image, iterations);
      files.push({ image: name, ...r });
      console.error(`  ${budget} s (${iterations} it.) ${name}: ${r.bpp.toFixed(4)} bpp ${r.psnr.toFixed(2)} dB, refined ${r.refineSeconds.toFixed(1)} s`);
    }
    const mean = (f: (x: FileResult) => number) => files.reduce((s, x) => s + f(x), 0) / files.length;
    entry.budgets.push({ budget, iterations, files, mean: { bpp: mean((x) => x.bpp), streamBpp: mean((x) => x.streamBpp), psnr: mean((x) => x.psnr), loss: mean((x) => x.loss), refineSeconds: mean((x) => x.refineSeconds) } });
  }
  results.push(entry);
}

const summary = {
  generatedAt: new Date().toISOString(),
  command: `npm run bench:width -- ${process.argv.slice(2).join(' ')}`.trim(),
  lambda,
  method,
  seed,
  backend: backend.name,
  cpu: `${cpus()[0]?.model ?? 'unknown'} (${cpus().length} cores)`,
  images: images.map((i) => `${i.name} ${i.image.width}x${i.image.height}`),
  crop: values.crop,
  budgetsSeconds: budgets,
  results,
};
const outFile = join(outDir, `lambda-${values.lambda}.json`);
writeFileSync(outFile, `${JSON.stringify(summary, null, 1)}\n`);
console.log(`budget (s) | ${results.map((r) => `${r.model}: it. / bpp / PSNR / loss`).join(' | ')}`);
for (let i = 0; i < budgets.length; i++) {
  console.log(`${budgets[i]} | ${results.map((r) => { const b = r.budgets[i]; return `${b.iterations} / ${b.mean.bpp.toFixed(4)} / ${b.mean.psnr.toFixed(2)} / ${b.mean.loss.toFixed(4)}`; }).join(' | ')}`);
}
rmSync(scratch, { recursive: true, force: true });
console.log(`wrote ${outFile}`);
