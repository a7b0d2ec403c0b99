/** Small photo-like test pictures for the batch engine tests (fast to encode with the test model). */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import sharp from 'sharp';

/** A smooth gradient with texture; `seed` changes the content so each photo encodes differently. */
export async function makePhoto(path: string, opts: { w?: number; h?: number; seed?: number; exifDate?: string } = {}): Promise<void> {
  const { w = 128, h = 96, seed = 0 } = opts;
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      px[i] = ((x + seed * 17) * 255) / (w + seed * 17);
      px[i + 1] = (y * 255) / h;
      px[i + 2] = 128 + 60 * Math.sin((x + seed) / 7) * Math.cos(y / (5 + seed));
    }
  }
  mkdirSync(dirname(path), { recursive: true });
  let img = sharp(px, { raw: { width: w, height: h, channels: 3 } });
  const lower = path.toLowerCase();
  img = lower.endsWith('.png') ? img.png() : lower.endsWith('.webp') ? img.webp({ quality: 95 }) : lower.endsWith('.tif') || lower.endsWith('.tiff') ? img.tiff() : img.jpeg({ quality: 95 });
  if (opts.exifDate) img = img.withExif({ IFD2: { DateTimeOriginal: opts.exifDate } });
  await img.toFile(path);
}
