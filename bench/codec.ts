/**
 * `npm run bench:codec`: encode/decode throughput (megapixels per second) and forward time of
 * g_a and g_s, for the wasm and cpu backends side by side in one run, as ratios to wasm.
 *   npm run bench:codec -- [--images 3] [--model ID] [--backends wasm,cpu]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { analyse, type BackendName, decode, encode, initBackend, latentGrid, packageRoot, readImage, resolveModel, synthesise } from '../src/core';

const { values } = parseArgs({ options: { images: { type: 'string', default: '3' }, model: { type: 'string' }, backends: { type: 'string', default: 'wasm,cpu' } } });
const kodak = join(packageRoot(), '..', 'shared', 'datasets', 'kodak');
const names = Array.from({ length: Number(values.images) }, (_, i) => `kodim${String([1, 4, 23, 12, 7, 19][i % 6]).padStart(2, '0')}.png`);
const images = await Promise.all(names.map(async (n) => (await readImage(join(kodak, n))).image));
const model = resolveModel({ model: values.model });
const mp = images.reduce((a, im) => a + im.width * im.height, 0) / 1e6;

interface Row { backend: string; encMPs: number; decMPs: number; gaMs: number; gsMs: number }
const rows: Row[] = [];
const time = async (f: () => Promise<unknown>) => { const t = performance.now(); await f(); return performance.now() - t; };

for (const b of values.backends.split(',') as BackendName[]) {
  await initBackend(b);
  // Warm up: the first call compiles kernels and uploads weights.
  const warm = await encode(images[0], { model, preview: false });
  await decode(warm.bytes, { model, exact: false });
  let encMs = 0;
  let decMs = 0;
  for (const im of images) {
    const t0 = performance.now();
    const r = await encode(im, { model });
    encMs += performance.now() - t0;
    decMs += await time(() => decode(r.bytes, { model, exact: false })); // exact decodes would all run on wasm
  }
  const im = images[0];
  const g = latentGrid(im.width, im.height, 1024);
  let y: Float32Array = new Float32Array(0);
  const gaMs = await time(async () => { y = await analyse(model.weights, im, g); });
  const out = { width: im.width, height: im.height, bitDepth: 8 as const, data: new Uint8Array(im.width * im.height * 3) };
  const gsMs = await time(() => synthesise(model.weights, y, g, [0], { x: 0, y: 0, width: im.width, height: im.height }, out));
  rows.push({ backend: b, encMPs: mp / (encMs / 1000), decMPs: mp / (decMs / 1000), gaMs, gsMs });
}

const base = rows[0];
console.log(`model ${model.card.id} (N=${model.card.N}, M=${model.card.M}); ${images.length} Kodak images, ${mp.toFixed(2)} MP; g_a/g_s timed on ${images[0].width}x${images[0].height}, one tile`);
console.log(`ratios are relative to ${base.backend} (>1 = faster for throughput, slower for times)`);
console.log('backend   encode MP/s (ratio)   decode MP/s (ratio)   g_a ms (ratio)    g_s ms (ratio)');
for (const r of rows) {
  const f = (v: number, ref: number) => `${v.toFixed(v < 10 ? 3 : 0).padStart(8)} (${(v / ref).toFixed(2)}x)`;
  console.log(`${r.backend.padEnd(9)} ${f(r.encMPs, base.encMPs)}      ${f(r.decMPs, base.decMPs)}      ${f(r.gaMs, base.gaMs)}   ${f(r.gsMs, base.gsMs)}`);
}
