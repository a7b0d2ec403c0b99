/**
 * `npm run bench:codec`: encode/decode throughput (megapixels per second) and the time of g_a
 * and g_s, for tfjs-wasm and ONNX Runtime side by side in one run on the same Kodak images,
 * with ratios; the baseline row is the codec as it was before the WebAssembly h_s kernel
 * (tfjs-wasm with the pinned float64 h_s in JavaScript). The entropy coding with the pinned h_s,
 * which all rows share, is timed on its own with each h_s implementation; then the full decode
 * of a 24 MP photo (a Kodak image upscaled) on each row. Results: bench/results/codec/<name>.json.
 *   npm run bench:codec -- [--images 3] [--reps 2] [--model ID] [--backends wasm,ort] [--no-baseline]
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
  analyse, type BackendName, conv64WasmAvailable, decode, decodeLatents, describeBackend, encode, encodeLatents, type HyperKernel, hyperAnalyseOn,
  initBackend, latentGrid, packageRoot, type RasterImage, readImage, resolveModel, setHyperKernel, synthesise,
} from '../src/core';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '3' }, model: { type: 'string' }, backends: { type: 'string', default: 'wasm,ort' },
    'ort-threads': { type: 'string', default: '1' }, 'big-mp': { type: 'string', default: '24' }, name: { type: 'string' },
    reps: { type: 'string', default: '2' }, 'no-baseline': { type: 'boolean' },
  },
});
const root = packageRoot();
const kodak = join(root, '..', 'shared', 'datasets', 'kodak');
const names = Array.from({ length: Number(values.images) }, (_, i) => `kodim${String([1, 4, 23, 12, 7, 19][i % 6]).padStart(2, '0')}.png`);
const images = await Promise.all(names.map(async (n) => (await readImage(join(kodak, n))).image));
const model = resolveModel({ model: values.model });
const w = model.weights;
const mp = images.reduce((a, im) => a + im.width * im.height, 0) / 1e6;
const ortThreads = Number(values['ort-threads']);
if (!conv64WasmAvailable()) throw new Error('the WebAssembly h_s kernel does not load in this Node (SIMD missing?)');
/** A row: a backend for the transforms and an implementation of the pinned h_s. */
interface Variant { name: string; backend: BackendName; hs: HyperKernel }
const variants: Variant[] = [
  ...(values['no-baseline'] ? [] : [{ name: 'wasm, JS h_s', backend: 'wasm' as BackendName, hs: 'js' as HyperKernel }]),
  ...(values.backends.split(',') as BackendName[]).map((b) => ({ name: b, backend: b, hs: 'wasm' as HyperKernel })),
];
const use = async (v: Variant) => {
  setHyperKernel(v.hs);
  return initBackend(v.backend, { ortThreads });
};
const ms = async (f: () => unknown) => { const t = performance.now(); await f(); return performance.now() - t; };

interface Row { name: string; backend: string; hs: HyperKernel; described: string; encMPs: number; decMPs: number; gaMs: number; gsMs: number; encMs: number; decMs: number }
const reps = Number(values.reps);
const described: Record<string, string> = {};
for (const v of variants) {
  described[v.name] = describeBackend(await use(v));
  // Warm up: the first call compiles kernels, uploads weights or builds the ONNX sessions.
  const warm = await encode(images[0], { model, preview: false });
  await decode(warm.bytes, { model, exact: false });
}
// Rows interleaved image by image, each measurement the best of `reps`: on a shared machine
// another job slows whatever runs at that moment, and this keeps it from favouring one row.
type Times = { enc: number; dec: number; ga: number; gs: number };
const best: Record<string, Times> = {};
for (const v of variants) best[v.name] = { enc: 0, dec: 0, ga: 0, gs: 0 };
for (const im of images) {
  const g = latentGrid(im.width, im.height, 512);
  const all = Array.from({ length: g.tilesX * g.tilesY }, (_, t) => t);
  const min: Record<string, Times> = {};
  for (let r = 0; r < reps; r++) {
    for (const v of variants) {
      await use(v);
      const m = (min[v.name] ??= { enc: Infinity, dec: Infinity, ga: Infinity, gs: Infinity });
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
  for (const v of variants) for (const k of ['enc', 'dec', 'ga', 'gs'] as const) best[v.name][k] += min[v.name][k];
}
const rows: Row[] = variants.map((v) => ({
  name: v.name, backend: v.backend, hs: v.hs, described: described[v.name], encMPs: mp / (best[v.name].enc / 1000), decMPs: mp / (best[v.name].dec / 1000),
  gaMs: best[v.name].ga, gsMs: best[v.name].gs, encMs: best[v.name].enc, decMs: best[v.name].dec,
}));

// What every row shares: h_a is tiny; the entropy coding with the pinned float64 h_s is not.
// Timed with each h_s implementation on the same latents.
const shared: Record<HyperKernel, { encMs: number; decMs: number }> = { js: { encMs: 0, decMs: 0 }, wasm: { encMs: 0, decMs: 0 } };
await initBackend(variants.at(-1)!.backend, { ortThreads });
for (const im of images) {
  const g = latentGrid(im.width, im.height, 512);
  const y = await analyse(w, im, g);
  const z = await hyperAnalyseOn(w, y, g);
  const all = Array.from({ length: g.tilesX * g.tilesY }, (_, t) => t);
  for (const hs of ['js', 'wasm'] as const) {
    setHyperKernel(hs);
    let lat: ReturnType<typeof encodeLatents> | null = null;
    let [e, d] = [Infinity, Infinity];
    for (let r = 0; r < reps; r++) {
      e = Math.min(e, await ms(() => { lat = encodeLatents(w, y, z, g); }));
      d = Math.min(d, await ms(() => decodeLatents(w, lat!.zStream, lat!.yStreams, g, all)));
    }
    shared[hs].encMs += e;
    shared[hs].decMs += d;
  }
}

// A large photo (24 MP by default): Kodak image 23 upscaled (Lanczos) to 3:2, encoded once, decoded on each row.
const bigMp = Number(values['big-mp']);
let big: { width: number; height: number; encodeRow: string; encodeS: number; decodeS: Record<string, number> } | null = null;
if (bigMp > 0) {
  const width = Math.round(Math.sqrt(bigMp * 1e6 * 1.5));
  const height = Math.round(width / 1.5);
  const data = new Uint8Array(await sharp(join(kodak, 'kodim23.png')).resize(width, height, { fit: 'fill', kernel: 'lanczos3' }).removeAlpha().raw().toBuffer());
  const photo: RasterImage = { width, height, bitDepth: 8, data };
  const fastest = variants.at(-1)!;
  await use(fastest);
  let bytes: Uint8Array = new Uint8Array();
  const encodeS = (await ms(async () => { bytes = (await encode(photo, { model, preview: false })).bytes; })) / 1000;
  const decodeS: Record<string, number> = {};
  for (const v of variants) {
    await use(v);
    decodeS[v.name] = (await ms(() => decode(bytes, { model, exact: false }))) / 1000;
    console.error(`${bigMp} MP decode on ${v.name}: ${decodeS[v.name].toFixed(1)} s`);
  }
  big = { width, height, encodeRow: fastest.name, encodeS, decodeS };
}

const f = (v: number, d = 2) => v.toFixed(d);
const x = (v: number) => `${f(v)}x`;
console.log(`model ${model.card.id} (N=${model.card.N}, M=${model.card.M}); ${images.length} Kodak images (${names.join(', ')}), ${f(mp)} MP; 512-px tiles; ${cpus()[0]?.model ?? 'CPU'}, ORT intra-op threads ${ortThreads}`);
console.log(`${'row'.padEnd(14)} encode MP/s  decode MP/s  g_a ms (sum)  g_s ms (sum)`);
for (const r of rows) console.log(`${r.name.padEnd(14)} ${f(r.encMPs, 3).padStart(11)}  ${f(r.decMPs, 3).padStart(11)}  ${f(r.gaMs, 0).padStart(12)}  ${f(r.gsMs, 0).padStart(12)}`);
// Speed-ups (>1 = faster): every row against every earlier row.
const ratios: { row: string; vs: string; encode: number; decode: number; gA: number; gS: number }[] = [];
for (let a = 0; a < rows.length; a++)
  for (let b = a + 1; b < rows.length; b++) {
    const [r, base] = [rows[b], rows[a]];
    ratios.push({ row: r.name, vs: base.name, encode: r.encMPs / base.encMPs, decode: r.decMPs / base.decMPs, gA: base.gaMs / r.gaMs, gS: base.gsMs / r.gsMs });
  }
for (const q of ratios) console.log(`${`${q.row} / ${q.vs}`.padEnd(26)} encode ${x(q.encode)}, decode ${x(q.decode)}, g_a ${x(q.gA)}, g_s ${x(q.gS)}`);
const last = rows.at(-1)!;
console.log(`shared by all rows: entropy coding with the pinned float64 h_s: encode ${f(shared.js.encMs, 0)} ms with h_s in JS, ${f(shared.wasm.encMs, 0)} ms with the WebAssembly kernel (${x(shared.js.encMs / shared.wasm.encMs)}); decode ${f(shared.js.decMs, 0)} / ${f(shared.wasm.decMs, 0)} ms (${x(shared.js.decMs / shared.wasm.decMs)}), ${f(100 * shared.wasm.decMs / last.decMs, 0)} % of the ${last.name} decode`);
if (big) {
  const parts = variants.map((v) => `${v.name} ${f(big.decodeS[v.name], 1)} s`).join(', ');
  const ratio = variants.length > 1 ? ` (${variants.at(-1)!.name} / ${variants[0].name} ${x(big.decodeS[variants[0].name] / big.decodeS[variants.at(-1)!.name])})` : '';
  console.log(`${f(big.width * big.height / 1e6, 1)} MP photo (${big.width}x${big.height}, kodim23 upscaled): full decode ${parts}${ratio}; encoded on ${big.encodeRow} in ${f(big.encodeS, 1)} s`);
}

const name = values.name ?? `codec-${new Date().toISOString().slice(0, 10)}`;
const dir = join(root, 'bench', 'results', 'codec');
mkdirSync(dir, { recursive: true });
const pkg = (p: string) => (JSON.parse(readFileSync(join(root, 'node_modules', p, 'package.json'), 'utf8')) as { version: string }).version;
writeFileSync(join(dir, `${name}.json`), `${JSON.stringify({
  model: model.card.id, N: model.card.N, M: model.card.M, images: names, megapixels: mp, tileSize: 512, ortThreads,
  cpu: cpus()[0]?.model, cores: cpus().length, node: process.version,
  versions: { onnxruntime: pkg('onnxruntime-node'), tfjs: pkg('@tensorflow/tfjs'), tfjsWasm: pkg('@tensorflow/tfjs-backend-wasm') },
  reps, rows, ratios, shared, big,
  note: 'best of reps per image, rows interleaved; decodes timed with exact=false (g_s on the backend under test); an exact decode runs g_s on wasm; the large photo is decoded once per row; "JS h_s" = the pinned float64 h_s in JavaScript (the codec before the WebAssembly kernel), both give the same bits',
}, null, 1)}\n`);
console.log(`wrote bench/results/codec/${name}.json`);
