/**
 * The viewer benchmark's photo: a 6000×4000 (24 MP) mosaic of Kodak crops, written as a camera
 * would (JPEG with an EXIF block and an sRGB ICC profile), and its .sgai, encoded once with the
 * default model and cached under bench/.cache/viewer/ (git-ignored) so reruns skip the encode.
 * The cache key is the model's weights hash and the recipe, so a new model or recipe re-encodes.
 * The original sits beside its .sgai under the same stem, as in a library, so viewer:open finds it.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeSgai, encodeFile, type LoadedModel } from '../../src/core';

export const MOSAIC = { width: 6000, height: 4000, cols: 8, rows: 8, cropW: 750, cropH: 500 } as const;

/** Everything that decides the photo's pixels and metadata; part of the cache key. */
const RECIPE = {
  version: 1,
  ...MOSAIC,
  order: 'round-robin over kodim01..24; portrait images turned to landscape; crop offset moves with each pass',
  jpegQuality: 95,
  exif: {
    IFD0: { Make: 'SgaiCam', Model: 'Mosaic 24', Software: 'sgai bench:viewer', Copyright: 'Kodak test images (public domain)' },
    IFD2: { DateTimeOriginal: '2026:12:02 10:30:00', ExposureTime: '1/250', FNumber: '56/10', ISOSpeedRatings: '200', FocalLength: '35/1', LensModel: 'Sgai 35mm F1.8' },
    IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '52/1 31/1 1200/100', GPSLongitudeRef: 'E', GPSLongitude: '13/1 24/1 3600/100' },
  },
};

export interface BenchPhoto {
  /** The camera-like original (JPEG) and the .sgai beside it. */
  original: string;
  sgai: string;
  /** Seconds the encode took, when this run encoded it; null when it came from the cache. */
  encodeSeconds: number | null;
  key: string;
}

function kodakFiles(kodak: string): string[] {
  if (!existsSync(kodak)) {
    throw new Error(`bench:viewer builds its 24 MP photo from the Kodak set, which is not here (${kodak}). ` +
      'Put the 24 kodimNN.png files there (../shared/datasets/kodak beside the checkout) and run it again.');
  }
  const files = readdirSync(kodak).filter((f) => /^kodim\d\d\.png$/.test(f)).sort();
  if (files.length !== 24) throw new Error(`bench:viewer needs the 24 Kodak images in ${kodak}; found ${files.length}`);
  return files.map((f) => join(kodak, f));
}

/** The mosaic as 8-bit RGB: 8 × 8 crops of 750 × 500, taken round-robin from the 24 images. */
async function mosaicPixels(files: string[]): Promise<Buffer> {
  const { width, height, cols, rows, cropW, cropH } = MOSAIC;
  const out = Buffer.alloc(width * height * 3);
  for (let i = 0; i < cols * rows; i++) {
    let img = sharp(files[i % files.length]);
    if (((await img.metadata()).height ?? 0) > ((await img.metadata()).width ?? 0)) img = sharp(await img.rotate(90).toBuffer());
    // The second and third pass take another part of the same image, so no two cells are identical.
    const pass = Math.floor(i / files.length);
    const crop = await img.extract({ left: pass * 9, top: pass * 6, width: cropW, height: cropH }).removeAlpha().raw().toBuffer();
    const x0 = (i % cols) * cropW;
    const y0 = Math.floor(i / cols) * cropH;
    for (let y = 0; y < cropH; y++) crop.copy(out, ((y0 + y) * width + x0) * 3, y * cropW * 3, (y + 1) * cropW * 3);
  }
  return out;
}

function writeAtomically(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.partial`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

/** The cached original and .sgai, building and encoding them when missing (≈ 80 s on ort for the encode). */
export async function benchPhoto(o: { kodak: string; cacheDir: string; model: LoadedModel; log: (line: string) => void }): Promise<BenchPhoto> {
  const files = kodakFiles(o.kodak);
  const key = createHash('sha256').update(o.model.weights.sha256).update(JSON.stringify(RECIPE)).digest('hex').slice(0, 16);
  mkdirSync(o.cacheDir, { recursive: true });
  const original = join(o.cacheDir, `mosaic-${key}.jpg`);
  const sgai = join(o.cacheDir, `mosaic-${key}.sgai`);
  if (existsSync(original) && existsSync(sgai)) {
    // Every chunk's CRC: a cached file damaged since is rebuilt, not measured.
    try {
      decodeSgai(readFileSync(sgai));
      return { original, sgai, encodeSeconds: null, key };
    } catch (e) {
      o.log(`cached ${sgai} is unreadable (${(e as Error).message}); building it again`);
    }
  }
  o.log(`building the ${MOSAIC.width}×${MOSAIC.height} Kodak mosaic into ${o.cacheDir}`);
  const raw = await mosaicPixels(files);
  const jpeg = await sharp(raw, { raw: { width: MOSAIC.width, height: MOSAIC.height, channels: 3 } })
    .withIccProfile('srgb')
    .withExif(RECIPE.exif)
    .jpeg({ quality: RECIPE.jpegQuality })
    .toBuffer();
  writeAtomically(original, jpeg);
  o.log(`encoding it with ${o.model.card.id} (once; cached for later runs)`);
  const t = performance.now();
  let shown = -1;
  const r = await encodeFile(original, {
    model: o.model,
    onProgress: (stage, done, total) => {
      const pct = Math.floor((100 * done) / Math.max(1, total) / 25) * 25;
      if (stage !== 'refine' && pct !== shown) {
        shown = pct;
        o.log(`  ${stage} ${pct} %`);
      }
    },
  });
  const encodeSeconds = (performance.now() - t) / 1000;
  writeAtomically(sgai, r.bytes);
  o.log(`encoded in ${encodeSeconds.toFixed(1)} s: ${r.stats.bytes} bytes, ${r.stats.bpp.toFixed(3)} bpp`);
  return { original, sgai, encodeSeconds, key };
}

/** A small second photo (one Kodak image) whose first tile starts the engine's decoder, so the measures start from a running one. */
export async function warmUpPhoto(o: { kodak: string; cacheDir: string; model: LoadedModel }): Promise<string> {
  const files = kodakFiles(o.kodak);
  const key = createHash('sha256').update(o.model.weights.sha256).update('warm-up kodim23 v1').digest('hex').slice(0, 16);
  const sgai = join(o.cacheDir, `warm-up-${key}.sgai`);
  if (existsSync(sgai)) return sgai;
  mkdirSync(o.cacheDir, { recursive: true });
  const r = await encodeFile(files[22], { model: o.model });
  writeAtomically(sgai, r.bytes);
  return sgai;
}
