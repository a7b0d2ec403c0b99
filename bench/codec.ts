/**
 * `npm run bench:codec`: encode/decode throughput (megapixels per second) and the time of g_a
 * and g_s, for tfjs-wasm and ONNX Runtime side by side in one run on the same Kodak images,
 * with ratios to the first backend; the entropy coding with the pinned float64 h_s, which both
 * share, is timed on its own; then the full decode of a 24 MP photo (a Kodak image upscaled)
 * on each backend. Results go to bench/results/codec/<name>.json.
 *   npm run bench:codec -- [--images 3] [--reps 2] [--model ID] [--backends wasm,ort]
 *                          [--ort-threads 1] [--big-mp 24] (0: skip the large photo) [--name NAME]
 * Decodes are timed as `--fast` (g_s on the backend under test); an exact decode always runs
 * g_s on wasm, so it costs what the wasm row's decode costs.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import {
  analyse, type BackendName, decode, decodeLatents, describeBackend, encode, encodeLatents, hyperAnalyseOn, initBackend, latentGrid,
  packageRoot, type RasterImage, readImage, resolveModel, synthesise,
} from '../src/core';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '3' }, model: { type: 'string' }, backends: { type: 'string', default: 'wasm,ort' },
    'ort-threads': { type: 'string', default: '1' }, 'big-mp': { type: 'string', default: '24' }, name: { type: 'string' },
    reps: { type: 'string', default: '2' },
  },
});
const root = packageRoot();
const kodak = join(root, '..', 'shared', 'datasets', 'kodak');
const names = Array.from({ length: Number(values.images) }, (_, i) => `kodim${String([1, 4, 23, 12, 7, 19][i % 6]).padStart(2, '0')}.png`);
const images = await Promise.all(names.map(async (n) => (await readImage(join(kodak, n))).image));
const model = resolveModel({ model: values.model });
const w = model.weights;
const mp = images.reduce((a, im) => a + im.width * im.height, 0) / 1e6;
const backends = values.backends.split(',') as BackendName[];
const ortThreads = Number(values['ort-threads']);
const ms = async (f: () => unknown) => { const t = performance.now(); await f(); return performance.now() - t; };

interface Row { backend: string; described: string; encMPs: number; decMPs: number; gaMs: number; gsMs: number; encMs: number; decMs: number }
const reps = Number(values.reps);
const described: Record<string, string> = {};
for (const b of backends) {
  described[b] = describeBackend(await initBackend(b, { ortThreads }));
  // Warm up: the first call compiles kernels, uploads weights or builds the ONNX sessions.
  const warm = await encode(images[0], { model, preview: false });
  await decode(warm.bytes, { model, exact: false });
}
// Backends interleaved image by image, each measurement the best of `reps`: on a shared machine
// another job slows whatever runs at that moment, and this keeps it from favouring one backend.
const best: Record<string, { enc: number; dec: number; ga: number; gs: number }> = {};
for (const b of backends) best[b] = { enc: 0, dec: 0, ga: 0, gs: 0 };
for (const im of images) {
  const g = latentGrid(im.width, im.height, 512);
  const all = Array.from({ length: g.tilesX * g.tilesY }, (_, t) => t);
  const min: Record<string, { enc: number; dec: number; ga: number; gs: number }> = {};
  for (let r = 0; r < reps; r++) {
    for (const b of backends) {
      await initBackend(b, { ortThreads });
      const m = (min[b] ??= { enc: Infinity, dec: Infinity, ga: Infinity, gs: Infinity });
      let bytes: Uint8Array = new Uint8Array();
      m.enc = Math.min(m.enc, await ms(async () => { bytes = (await encode(im, { model })).bytes; }));
      m.dec = Math.min(m.dec, await ms(() => decode(bytes, { model, exact: false })));
      // The transforms alone, tiled as the codec runs them.
      let y: Float32Array = new Float32Array();
      m.ga = Math.min(m.ga, await ms(async () => { y = await analyse(w, im, g); }));
      const out: RasterImage = { width: im.width, height: im.height, bitDepth: 8, data: new Uint8Array(im.width * im.height * 3) };
      const yHat = y.map(Math.round);
      m.gs = Math.min(m.gs, await ms(() => synthesise(w, yHat, g, all, { x: 0, y: 0, width: im.width, height: im.height }, out)));
    }
  }
  for (const b of backends) for (const k of ['enc', 'dec', 'ga', 'gs'] as const) best[b][k] += min[b][k];
}
const rows: Row[] = backends.map((b) => ({
  backend: b, described: described[b], encMPs: mp / (best[b].enc / 1000), decMPs: mp / (best[b].dec / 1000),
  gaMs: best[b].ga, gsMs: best[b].gs, encMs: best[b].enc, decMs: best[b].dec,
}));

// The part both backends share: h_a is tiny; entropy coding with the float64 h_s is not.
let entEncMs = 0;
let entDecMs = 0;
for (const im of images) {
  const g = latentGrid(im.width, im.height, 512);
  const y = await analyse(w, im, g);
  const z = await hyperAnalyseOn(w, y, g);
  let lat: ReturnType<typeof encodeLatents> | null = null;
  const all = Array.from({ length: g.tilesX * g.tilesY }, (_, t) => t);
  let [e, d] = [Infinity, Infinity];
  for (let r = 0; r < reps; r++) {
    e = Math.min(e, await ms(() => { lat = encodeLatents(w, y, z, g); }));
    d = Math.min(d, await ms(() => decodeLatents(w, lat!.zStream, lat!.yStreams, g, all)));
  }
  entEncMs += e;
  entDecMs += d;
}

// A large photo (24 MP by default): Kodak image 23 upscaled (Lanczos) to 3:2, encoded once, decoded on each backend.
const bigMp = Number(values['big-mp']);
let big: { width: number; height: number; encodeBackend: string; encodeS: number; decodeS: Record<string, number> } | null = null;
if (bigMp > 0) {
  const width = Math.round(Math.sqrt(bigMp * 1e6 * 1.5));
  const height = Math.round(width / 1.5);
  const data = new Uint8Array(await sharp(join(kodak, 'kodim23.png')).resize(width, height, { fit: 'fill', kernel: 'lanczos3' }).removeAlpha().raw().toBuffer());
  const photo: RasterImage = { width, height, bitDepth: 8, data };
  const fastest = backends[backends.length - 1];
  await initBackend(fastest, { ortThreads });
  let bytes: Uint8Array = new Uint8Array();
  const encodeS = (await ms(async () => { bytes = (await encode(photo, { model, preview: false })).bytes; })) / 1000;
  const decodeS: Record<string, number> = {};
  for (const b of backends) {
    await initBackend(b, { ortThreads });
    decodeS[b] = (await ms(() => decode(bytes, { model, exact: false }))) / 1000;
    console.error(`${bigMp} MP decode on ${b}: ${decodeS[b].toFixed(1)} s`);
  }
  big = { width, height, encodeBackend: fastest, encodeS, decodeS };
}

const base = rows[0];
const f = (v: number, d = 2) => v.toFixed(d);
console.log(`model ${model.card.id} (N=${model.card.N}, M=${model.card.M}); ${images.length} Kodak images (${names.join(', ')}), ${f(mp)} MP; 512-px tiles; ${cpus()[0]?.model ?? 'CPU'}, ORT intra-op threads ${ortThreads}`);
console.log('backend  encode MP/s  decode MP/s  g_a ms (sum)  g_s ms (sum)');
for (const r of rows) console.log(`${r.backend.padEnd(8)} ${f(r.encMPs, 3).padStart(11)}  ${f(r.decMPs, 3).padStart(11)}  ${f(r.gaMs, 0).padStart(12)}  ${f(r.gsMs, 0).padStart(12)}`);
for (const r of rows.slice(1)) {
  console.log(`${`${r.backend}/${base.backend}`.padEnd(8)} ${`${f(r.encMPs / base.encMPs)}x`.padStart(11)}  ${`${f(r.decMPs / base.decMPs)}x`.padStart(11)}  ${`${f(base.gaMs / r.gaMs)}x`.padStart(12)}  ${`${f(base.gsMs / r.gsMs)}x`.padStart(12)}   (speed-ups: >1 = faster)`);
}
console.log(`shared by both: entropy coding with the float64 h_s: encode ${f(entEncMs, 0)} ms, decode ${f(entDecMs, 0)} ms (${f(100 * entDecMs / (rows.at(-1)?.decMs ?? 1), 0)} % of the ${rows.at(-1)?.backend} decode)`);
if (big) {
  const parts = backends.map((b) => `${b} ${f(big.decodeS[b], 1)} s`).join(', ');
  const ratio = backends.length > 1 ? ` (${backends.at(-1)}/${backends[0]} ${f(big.decodeS[backends[0]] / big.decodeS[backends.at(-1)!])}x)` : '';
  console.log(`${f(big.width * big.height / 1e6, 1)} MP photo (${big.width}x${big.height}, kodim23 upscaled): full decode ${parts}${ratio}; encoded on ${big.encodeBackend} in ${f(big.encodeS, 1)} s`);
}

const name = values.name ?? `codec-${new Date().toISOString().slice(0, 10)}`;
const dir = join(root, 'bench', 'results', 'codec');
mkdirSync(dir, { recursive: true });
const pkg = (p: string) => (JSON.parse(readFileSync(join(root, 'node_modules', p, 'package.json'), 'utf8')) as { version: string }).version;
writeFileSync(join(dir, `${name}.json`), `${JSON.stringify({
  model: model.card.id, N: model.card.N, M: model.card.M, images: names, megapixels: mp, tileSize: 512, ortThreads,
  cpu: cpus()[0]?.model, cores: cpus().length, node: process.version,
  versions: { onnxruntime: pkg('onnxruntime-node'), tfjs: pkg('@tensorflow/tfjs'), tfjsWasm: pkg('@tensorflow/tfjs-backend-wasm') },
  reps, rows, ratios: rows.slice(1).map((r) => ({ backend: r.backend, vs: base.backend, encode: r.encMPs / base.encMPs, decode: r.decMPs / base.decMPs, gA: base.gaMs / r.gaMs, gS: base.gsMs / r.gsMs })),
  shared: { entropyEncodeMs: entEncMs, entropyDecodeMs: entDecMs }, big,
  note: 'best of reps per image, backends interleaved; decodes timed with exact=false (g_s on the backend under test); an exact decode runs g_s on wasm; the large photo is decoded once per backend',
}, null, 1)}\n`);
console.log(`wrote bench/results/codec/${name}.json`);
