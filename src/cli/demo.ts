/**
 * `npm run demo`: encode and decode one Kodak photo with the default model and print what a
 * photographer would ask first: file size, bits per pixel and PSNR.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describeBackend, initBackend } from '../core/backend';
import { decode, encodeFile, resolveModel } from '../core/codec';
import { writeImageFile } from '../core/image/export';
import { readImage } from '../core/image/read';
import { psnr } from '../core/metrics/psnr';
import { defaultModel, packageRoot } from '../core/model/registry';

const photo = resolve(process.argv[2] ?? join(packageRoot(), '..', 'shared', 'datasets', 'kodak', 'kodim23.png'));
const outDir = join(packageRoot(), 'out', 'demo');

const backend = await initBackend((process.env.SGAI_BACKEND as 'auto') ?? 'auto');
const { isTestModel } = defaultModel();
const model = resolveModel({});
console.log(`backend: ${describeBackend(backend)}`);
console.log(`model:   ${model.card.id} (N=${model.card.N}, M=${model.card.M}, lambda=${model.card.lambda})${isTestModel ? '  [untrained test model: no trained weights installed]' : ''}`);
console.log(`photo:   ${photo}`);

const t0 = performance.now();
const enc = await encodeFile(photo, { model });
const t1 = performance.now();
const dec = decode(enc.bytes, { model });
const t2 = performance.now();
const { image: original } = await readImage(photo);
const s = enc.stats;

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'demo.sgai'), enc.bytes);
await writeImageFile(join(outDir, 'demo.png'), dec.image, { format: 'png' });

console.log(`size:    ${s.bytes} bytes (streams ${s.streamBytes} B + header/metadata/preview ${s.overheadBytes} B)`);
console.log(`bpp:     ${s.bpp.toFixed(4)}`);
console.log(`PSNR:    ${psnr(original, dec.image).toFixed(2)} dB (RGB, 8-bit)`);
console.log(`time:    encode ${((t1 - t0) / 1000).toFixed(2)} s, decode ${((t2 - t1) / 1000).toFixed(2)} s`);
console.log(`wrote:   ${join(outDir, 'demo.sgai')} and demo.png`);
