/**
 * `npm run validate -- --model <id|path.safetensors> [...more]`: the validation split
 * (training/validation-split.txt: 40 photos of the training folder that training never reads)
 * through the real TypeScript codec: encode to .sgai bytes, decode, measure. Model selection and
 * training choices are made on these numbers; Kodak stays the reported test set.
 *
 * Prints per model: mean file bpp (preview included, as users get it), mean PSNR (8-bit RGB), and
 * the rate-distortion loss λ·255²·MSE + bpp at the given --lambda (default: the model's own), so
 * two checkpoints of one λ can be ranked by one number. --json writes the per-photo results.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { decode, encode, initBackend, mse, packageRoot, readImage, resolveModel } from '../src/core';

const { values } = parseArgs({
  options: {
    model: { type: 'string', multiple: true },
    lambda: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'string' },
    datasets: { type: 'string', default: process.env.SGAI_DATASETS ?? join(packageRoot(), '..', 'shared', 'datasets') },
  },
});
if (!values.model?.length) {
  process.stderr.write('usage: npm run validate -- --model <id|path.safetensors> [--model ...] [--lambda L] [--limit K] [--json out.json]\n');
  process.exit(2);
}

const split = readFileSync(join(packageRoot(), 'training', 'validation-split.txt'), 'utf8')
  .split('\n').filter((l) => l.trim() && !l.startsWith('#')).map((l) => l.trim().split(/\s+/)[1]);
const photos = split.slice(0, values.limit ? Number(values.limit) : split.length);
await initBackend('wasm');

const report: Record<string, unknown> = {};
for (const spec of values.model) {
  const model = resolveModel({ model: spec.endsWith('.safetensors') ? resolve(spec) : spec });
  const lambda = values.lambda ? Number(values.lambda) : model.card.lambda;
  const rows: { photo: string; pixels: number; bytes: number; bpp: number; mse: number; psnr: number }[] = [];
  const t0 = performance.now();
  for (const p of photos) {
    const { image } = await readImage(join(values.datasets, 'train', p), { frames: 'first' });
    const enc = await encode(image, { model });
    const dec = await decode(enc.bytes, { model });
    const e = mse(image, dec.image); // on the 0..1 scale
    const pixels = image.width * image.height;
    rows.push({ photo: p, pixels, bytes: enc.bytes.length, bpp: (enc.bytes.length * 8) / pixels, mse: e, psnr: -10 * Math.log10(e) });
  }
  const mean = (f: (r: (typeof rows)[number]) => number) => rows.reduce((a, r) => a + f(r), 0) / rows.length;
  const summary = {
    model: model.card.id, weights: model.weights.sha256, photos: rows.length, lambda,
    bpp: mean((r) => r.bpp), psnr: mean((r) => r.psnr), loss: mean((r) => lambda * 255 * 255 * r.mse + r.bpp),
    seconds: (performance.now() - t0) / 1000,
  };
  report[spec] = { ...summary, perPhoto: rows };
  process.stdout.write(`${summary.model} (${spec}): ${summary.photos} validation photos, ${summary.bpp.toFixed(4)} bpp, ${summary.psnr.toFixed(3)} dB, loss@${lambda} ${summary.loss.toFixed(4)}  [${summary.seconds.toFixed(0)} s]\n`);
}
if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 1)}\n`);
