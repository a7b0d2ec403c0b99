/**
 * `npx tsx bench/exact-reference.ts [--record] [--images 1,2,3]`: the exact (wasm reference)
 * decoder must keep giving the same pixels. Each Kodak image is encoded on the wasm backend with
 * the default model (no preview, so the bytes do not depend on libvips) and decoded with
 * exact=true while the fastest backend (ort when present) is active; SHA-256 of the file and of
 * the pixels are compared with test/fixtures/ort/exact-reference.json, which --record wrote
 * with the decoder as it was before the ort backend existed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decode, encode, initBackend, packageRoot, readImage, resolveModel } from '../src/core';

const { values } = parseArgs({ options: { record: { type: 'boolean' }, images: { type: 'string' }, backend: { type: 'string', default: 'auto' } } });
const root = packageRoot();
const fixture = join(root, 'test', 'fixtures', 'ort', 'exact-reference.json');
const kodak = join(root, '..', 'shared', 'datasets', 'kodak');
const ids = values.images ? values.images.split(',').map(Number) : Array.from({ length: 24 }, (_, i) => i + 1);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const model = resolveModel({});

interface Entry { sgai: string; pixels: string }
const fresh = { model: model.card.id, weightsSha256: model.weights.sha256, images: {} as Record<string, Entry> };
let known: typeof fresh = existsSync(fixture) ? JSON.parse(readFileSync(fixture, 'utf8')) : fresh;
if (known.weightsSha256 !== model.weights.sha256) {
  // A new default model makes new files; --record starts the reference over with the wasm
  // decoder (the reference the exact path must keep matching), a check cannot go on.
  if (!values.record) throw new Error(`fixture was recorded with other weights of ${known.model}: re-record it with --record`);
  console.log(`the default's weights changed since ${known.model} ${known.weightsSha256.slice(0, 12)} was recorded: recording anew`);
  known = fresh;
}

let bad = 0;
for (const i of ids) {
  const name = `kodim${String(i).padStart(2, '0')}`;
  const { image } = await readImage(join(kodak, `${name}.png`));
  await initBackend('wasm');
  const enc = await encode(image, { model, preview: false });
  if (!values.record) await initBackend(values.backend as 'auto');
  const dec = await decode(enc.bytes, { model });
  const got: Entry = { sgai: sha(enc.bytes), pixels: sha(dec.image.data as Uint8Array) };
  if (values.record) {
    known.images[name] = got;
    console.log(`${name}: recorded ${got.pixels.slice(0, 16)}`);
  } else {
    const want = known.images[name];
    const ok = want && want.sgai === got.sgai && want.pixels === got.pixels;
    if (!ok) bad++;
    console.log(`${name}: file ${want?.sgai === got.sgai ? 'same' : 'DIFFERENT'}, exact pixels ${want?.pixels === got.pixels ? 'identical' : 'DIFFERENT'} (exact=${dec.exact})`);
  }
}
if (values.record) writeFileSync(fixture, `${JSON.stringify(known, null, 2)}\n`);
else {
  console.log(bad ? `${bad} of ${ids.length} images differ` : `all ${ids.length} images: files and exact pixels identical to the recorded reference`);
  process.exitCode = bad ? 1 : 0;
}
