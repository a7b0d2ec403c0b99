/**
 * `npx tsx bench/fuzz.ts --mutations 100000 [--seed N] [--max-pixels 4000000]`: the big fuzz
 * run of the reader and decoder (the CI-sized one lives in test/codec-fuzz.test.ts).
 *
 * Builds a few tiny real .sgai files with the test model (several tiles, preview, ICC, EXIF,
 * XMP), applies seeded mutations (bit flips, byte sets, insertions, deletions, truncations,
 * chunk-length edits, huge header dimensions, damage behind recomputed CRCs so it reaches the
 * entropy decoder) and for each one checks: inspectSgai never throws; decode, plain and with
 * --salvage, returns or throws an SgaiError and nothing else; no case is slow; memory stays
 * bounded. Prints a summary and exits 1 on any crash, hang or memory overrun.
 *
 * Decoding is a pure function of the parsed file, so a parsed file already decoded (same
 * header, streams and lost tiles) reuses its outcome: most salvage cases lose the same tile
 * and would only re-run g_s on identical latents.
 */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { crc32, type DecodedSgai, decodeParsed, decodeSgai, encode, initBackend, inspectSgai, listChunks, loadModelFromPath, packageRoot, readImage, SgaiError } from '../src/core';
import { mulberry32 } from '../test/seeded-random';

const { values } = parseArgs({
  options: {
    mutations: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '1' },
    'max-pixels': { type: 'string', default: '4000000' },
    'slow-ms': { type: 'string', default: '10000' },
    'max-mb': { type: 'string', default: '1500' },
  },
});
const MUTATIONS = Number(values.mutations);
const MAX_PIXELS = Number(values['max-pixels']);
const SLOW_MS = Number(values['slow-ms']);
const MAX_BYTES = Number(values['max-mb']) * 1e6;

const r = mulberry32(Number(values.seed));
const pick = (n: number): number => Math.floor(r() * n);

// ---------------------------------------------------------------- sample files
await initBackend('wasm');
const root = packageRoot();
const model = loadModelFromPath(join(root, 'test', 'fixtures', 'models', 'sgai-test-n32m48.safetensors'));
const { image: kodak } = await readImage(join(root, '..', 'shared', 'datasets', 'kodak', 'kodim07.png'));
const crop = (x: number, y: number, w: number, h: number) => {
  const data = new Uint8Array(w * h * 3);
  for (let j = 0; j < h; j++) data.set(kodak.data.subarray(((y + j) * kodak.width + x) * 3, ((y + j) * kodak.width + x + w) * 3) as Uint8Array, j * w * 3);
  return { width: w, height: h, bitDepth: 8 as const, data };
};
const exif = Uint8Array.of(0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 0);
const icc = Uint8Array.from({ length: 200 }, (_, i) => (i * 13) & 0xff);
const xmp = new TextEncoder().encode('<x:xmpmeta xmlns:x="adobe:ns:meta/"/>');
const samples: Uint8Array[] = [
  (await encode(crop(300, 200, 128, 96), { model, tileSize: 64, metadata: { icc, exif, xmp } })).bytes, // 2 x 2 tiles
  (await encode(crop(100, 100, 150, 50), { model, tileSize: 64, preview: false, metadata: { exif } })).bytes, // 3 x 1
  (await encode(crop(400, 300, 64, 64), { model, tileSize: 64 })).bytes, // 1 tile
];

// ---------------------------------------------------------------- mutations
function fixCrcs(b: Uint8Array): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (const c of listChunks(b).chunks) dv.setUint32(c.offset + 8 + c.length, crc32(b.subarray(c.offset, c.offset + 8 + c.length)), true);
}
function splice(b: Uint8Array, at: number, del: number, ins: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(b.length - del + ins.length);
  out.set(b.subarray(0, at));
  out.set(ins, at);
  out.set(b.subarray(at + del), at + ins.length);
  return out;
}
const KINDS = ['bit flip', 'byte set', 'insert', 'delete', 'truncate', 'length edit', 'huge dimensions', 'behind CRC: stream', 'behind CRC: header', 'several'] as const;
type Kind = (typeof KINDS)[number];

function mutate(src: Uint8Array, kind: Kind): Uint8Array {
  let b: Uint8Array = src.slice();
  const chunks = kind === 'several' || KINDS.indexOf(kind) < 5 ? [] : listChunks(src).chunks; // only chunk-aware kinds, on intact files
  const payloadOf = (types: string[]) => {
    const cs = chunks.filter((c) => types.includes(c.type) && c.length > 0);
    return cs[pick(cs.length)];
  };
  switch (kind) {
    case 'bit flip':
      b[pick(b.length)] ^= 1 << pick(8);
      return b;
    case 'byte set':
      b[pick(b.length)] = pick(256);
      return b;
    case 'insert':
      return splice(b, pick(b.length + 1), 0, Uint8Array.from({ length: 1 + pick(16) }, () => pick(256)));
    case 'delete': {
      const at = pick(b.length);
      return splice(b, at, Math.min(b.length - at, 1 + pick(16)));
    }
    case 'truncate':
      return b.subarray(0, pick(b.length));
    case 'length edit': {
      const c = chunks[pick(chunks.length)];
      const v = [0, 1, 0xffffffff, 0x7fffffff, c.length + 1, c.length - 1, c.length + pick(64) - 32, b.length, pick(2 ** 32)][pick(9)] >>> 0;
      new DataView(b.buffer).setUint32(c.offset + 4, v, true);
      if (r() < 0.5) fixCrcs(b);
      return b;
    }
    case 'huge dimensions': {
      const h = chunks[0];
      const at = h.offset + 8 + 1 + b[h.offset + 8] + 32;
      const dv = new DataView(b.buffer);
      const dims = [65535, 65535, 10000, 30000, 4096, 1, 64, 2 ** 32 - 1];
      if (r() < 0.7) dv.setUint32(at, dims[pick(dims.length)], true);
      if (r() < 0.7) dv.setUint32(at + 4, dims[pick(dims.length)], true);
      if (r() < 0.3) dv.setUint32(at + 8, [64, 128, 8192, 0, 100][pick(5)], true); // tile size
      fixCrcs(b);
      return b;
    }
    case 'behind CRC: stream': {
      const c = payloadOf(['ZSTR', 'YTIL', 'YTIL', 'YTIL']);
      const n = 1 + pick(3);
      for (let i = 0; i < n; i++) {
        const at = c.offset + 8 + pick(c.length);
        if (r() < 0.5) b[at] ^= 1 << pick(8);
        else b[at] = pick(256);
      }
      fixCrcs(b);
      return b;
    }
    case 'behind CRC: header': {
      const c = payloadOf(['HEAD', 'prev', 'exif', 'iccp', 'xmpm']);
      b[c.offset + 8 + pick(c.length)] = [0, 1, 0xff, 0x40, 8, 16, pick(256)][pick(7)];
      fixCrcs(b);
      return b;
    }
    case 'several': {
      // A chunk-aware edit of the intact file first, then raw damage on top.
      b = mutate(src, KINDS[5 + pick(4)]);
      const n = 1 + pick(3);
      for (let i = 0; i < n && b.length > 0; i++) b = mutate(b, KINDS[pick(5)]);
      return b;
    }
  }
}

// ---------------------------------------------------------------- run
const outcomes = new Map<string, number>();
const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
const cache = new Map<string, string>();
const failures: string[] = [];
let slowest = { ms: 0, what: '' };
let peakRss = 0;
let peakArrayBuffers = 0;
let decodes = 0;
let cached = 0;

/** Outcome of one decode mode, through the same parse + decodeParsed that decode() uses. */
async function tryDecode(bytes: Uint8Array, salvage: boolean): Promise<string> {
  let f: DecodedSgai;
  try {
    f = decodeSgai(bytes, { salvage, maxPixels: MAX_PIXELS });
  } catch (e) {
    if (!(e instanceof SgaiError)) throw e;
    return e.code;
  }
  const parts = [f.header.width, f.header.height, f.header.tileSize, f.header.channelsN, f.header.channelsM, crc32(f.zStream), ...f.yStreams.map((s) => crc32(s)), 'lost', ...f.damagedTiles];
  const key = `${salvage}:${parts.join(',')}`;
  const hit = cache.get(key);
  if (hit) {
    cached++;
    return hit;
  }
  let out: string;
  try {
    decodes++;
    const res = await decodeParsed(f, { model, salvage, maxPixels: MAX_PIXELS });
    out = res.skipped.some((s) => s.chunk !== 'prev') ? 'ok (salvaged)' : 'ok';
  } catch (e) {
    if (!(e instanceof SgaiError)) throw e;
    out = e.code;
  }
  cache.set(key, out);
  return out;
}

const t0 = performance.now();
for (let i = 0; i < MUTATIONS; i++) {
  const kind = KINDS[i % KINDS.length];
  const bytes = mutate(samples[pick(samples.length)], kind);
  const what = `case ${i} (${kind}, ${bytes.length} bytes)`;
  const t = performance.now();
  try {
    const info = inspectSgai(bytes);
    count(`inspect: ${info.decodable}`);
    count(`plain: ${await tryDecode(bytes, false)}`);
    count(`salvage: ${await tryDecode(bytes, true)}`);
  } catch (e) {
    failures.push(`${what}: crash: ${(e as Error).stack ?? String(e)}`);
    count('CRASH');
  }
  const ms = performance.now() - t;
  if (ms > slowest.ms) slowest = { ms, what };
  if (ms > SLOW_MS) failures.push(`${what}: took ${ms.toFixed(0)} ms`);
  const rss = process.memoryUsage.rss();
  if (rss > peakRss) peakRss = rss;
  if (i % 50 === 0) peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers);
  if (rss > MAX_BYTES) {
    failures.push(`${what}: RSS ${(rss / 1e6).toFixed(0)} MB over the ${MAX_BYTES / 1e6} MB bound`);
    break;
  }
  if (failures.length > 20) break;
  if (i > 0 && i % 10000 === 0) console.error(`${i} cases, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
const seconds = (performance.now() - t0) / 1000;

// ---------------------------------------------------------------- report
console.log(`fuzz: ${MUTATIONS} mutations of ${samples.length} files (${samples.map((s) => s.length).join(', ')} bytes), seed ${values.seed}, max ${MAX_PIXELS / 1e6} MP, ${seconds.toFixed(0)} s`);
console.log(`decodes run ${decodes}, reused ${cached} (same parsed file)`);
const rows = [...outcomes].sort((a, b) => a[0].localeCompare(b[0]));
const wid = Math.max(...rows.map(([k]) => k.length));
for (const [k, v] of rows) console.log(`  ${k.padEnd(wid)}  ${String(v).padStart(7)}`);
const refused = (outcomes.get('plain: IMAGE_TOO_LARGE') ?? 0) + (outcomes.get('salvage: IMAGE_TOO_LARGE') ?? 0);
console.log(`refused by the pixel limit (IMAGE_TOO_LARGE): ${refused}`);
console.log(`slowest case: ${slowest.ms.toFixed(1)} ms (${slowest.what})`);
console.log(`peak RSS ${(peakRss / 1e6).toFixed(0)} MB, peak arrayBuffers ${(peakArrayBuffers / 1e6).toFixed(0)} MB (bound ${MAX_BYTES / 1e6} MB)`);
if (failures.length) {
  console.log(`FAILED: ${failures.length} problem(s)`);
  for (const f of failures) console.log(`  ${f}`);
  process.exit(1);
}
console.log('no crash, hang or memory overrun');
