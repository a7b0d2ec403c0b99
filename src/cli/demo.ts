/**
 * `npm run demo [photo]`: encode and decode one photo with the default model and print what a
 * photographer would ask first: file size, bits per pixel and PSNR. Without an argument it uses
 * the sample photo shipped in resources/sample, so it works from a fresh clone.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The shipped sample (Unsplash License; see resources/sample/README.md). */
const SAMPLE = join('resources', 'sample', 'mike-castro-demaria-94BUerwdFP8-unsplash.jpg');

async function main(): Promise<void> {
  // Loaded here rather than imported at the top so that a failure while loading the backend
  // libraries is reported as one line like any other error.
  const {
    describeBackend, initBackend, decode, encodeFile, resolveModel, writeImageFile, readImage, psnr, defaultModel, packageRoot,
  } = await import('../core');

  const photo = resolve(process.argv[2] ?? join(packageRoot(), SAMPLE));
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
  const dec = await decode(enc.bytes, { model });
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
}

/**
 * One line, whatever failed: an uncaught error would make Node print the throwing source line,
 * which inside the minified tfjs bundle is a screenful of code.
 */
function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const first = msg.split('\n').map((l) => l.trim()).find(Boolean) ?? 'unknown error';
  return first.length > 300 ? `${first.slice(0, 300)}…` : first;
}

try {
  await main();
} catch (e) {
  console.error(`demo: ${oneLine(e)}`);
  process.exitCode = 1;
}
