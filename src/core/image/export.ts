/**
 * Writing photos back out: PNG (8/16-bit) or JPEG, in the photo's original colour profile with
 * its EXIF/XMP carried over, written through the safe writer (src/core/io); plus the small WebP previews the UI shows.
 * See docs/image-handling.md.
 */
import sharp from 'sharp';
import { SgaiError } from '../errors';
import { preflightOutput, writeFileSafely, type OutputTarget } from '../io/safe-write';
import { verifyImage } from '../io/verify';
import { convertPixels, parseIcc, sameRgbModel, SRGB, type RgbModel, type Samples } from './icc';
import { patchExif, patchXmp, spliceJpeg, splicePng } from './metadata';
import { assertRaster, type RasterImage } from './raster';

export interface ExportOptions {
  format: 'png' | 'jpeg';
  /** PNG only; defaults to the image's bit depth. JPEG is always 8-bit. */
  bitDepth?: 8 | 16;
  /** JPEG quality 1..100, default 92. */
  quality?: number;
  /** Original ICC profile: pixels are converted from sRGB into it and it is embedded. */
  icc?: Uint8Array;
  /** Original raw EXIF (TIFF bytes, with or without "Exif\0\0"); written with Orientation = 1. */
  exif?: Uint8Array;
  /** Original XMP packet; written with tiff:Orientation = 1. */
  xmp?: Uint8Array;
}

export const DEFAULT_JPEG_QUALITY = 92;

let srgbIcc: Promise<Uint8Array> | undefined;

/** libvips' built-in sRGB profile, embedded when the photo has no usable profile of its own. */
function srgbProfile(): Promise<Uint8Array> {
  srgbIcc ??= (async () => {
    const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .withIccProfile('srgb')
      .png()
      .toBuffer();
    const { icc } = await sharp(png).metadata();
    if (!icc) throw new Error('sharp did not provide its sRGB profile');
    return new Uint8Array(icc);
  })().catch((e: unknown) => {
    srgbIcc = undefined;
    throw e;
  });
  return srgbIcc;
}

function checkOptions(opts: ExportOptions): { outBitsPng?: 8 | 16; quality: number } {
  if (!opts || (opts.format !== 'png' && opts.format !== 'jpeg')) {
    throw new SgaiError('INVALID_ARGUMENT', `Export format must be 'png' or 'jpeg', got ${String(opts?.format)}.`);
  }
  if (opts.bitDepth !== undefined && opts.bitDepth !== 8 && opts.bitDepth !== 16) {
    throw new SgaiError('INVALID_ARGUMENT', `bitDepth must be 8 or 16, got ${String(opts.bitDepth)}.`);
  }
  if (opts.format === 'jpeg' && opts.bitDepth === 16) {
    throw new SgaiError('INVALID_ARGUMENT', 'JPEG cannot store 16-bit images; export PNG for 16-bit output.');
  }
  const quality = opts.quality ?? DEFAULT_JPEG_QUALITY;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new SgaiError('INVALID_ARGUMENT', `JPEG quality must be a whole number from 1 to 100, got ${String(opts.quality)}.`);
  }
  for (const k of ['icc', 'exif', 'xmp'] as const) {
    const v = opts[k];
    if (v !== undefined && !(v instanceof Uint8Array)) throw new SgaiError('INVALID_ARGUMENT', `${k} must be a Uint8Array.`);
  }
  return { outBitsPng: opts.bitDepth, quality };
}

/**
 * Encodes an sRGB raster as PNG or JPEG. With `icc`, the pixels are converted into that profile
 * when it is an RGB matrix/TRC profile (sRGB, Display P3, Adobe RGB, ProPhoto, …) and it is
 * embedded; any other profile (gray, CMYK, LUT-based) cannot describe these pixels faithfully, so
 * the file is then written as sRGB with the sRGB profile embedded, as it is without `icc`.
 */
export async function encodeImage(img: RasterImage, opts: ExportOptions): Promise<Uint8Array> {
  assertRaster(img);
  const { outBitsPng, quality } = checkOptions(opts);
  const outBits: 8 | 16 = opts.format === 'jpeg' ? 8 : outBitsPng ?? img.bitDepth;

  let target: RgbModel | undefined;
  let icc: Uint8Array | undefined;
  let iccName: string | undefined;
  if (opts.icc) {
    const info = parseIcc(opts.icc);
    if (info?.model?.kind === 'rgb') {
      target = info.model;
      icc = opts.icc;
      iccName = info.description;
    }
  }
  if (!icc) {
    icc = await srgbProfile();
    iccName = 'sRGB';
  }
  const convert = target !== undefined && !sameRgbModel(target, SRGB);
  let pixels: Samples = img.data;
  if (convert || outBits !== img.bitDepth) {
    pixels = convertPixels({
      src: img.data,
      srcBits: img.bitDepth,
      channels: 3,
      from: convert ? SRGB : undefined,
      to: convert ? target : undefined,
      outBits,
    });
  }

  let encoded: Buffer;
  try {
    const s = sharp(pixels, { raw: { width: img.width, height: img.height, channels: 3 }, limitInputPixels: false });
    encoded =
      opts.format === 'jpeg'
        ? // 4:4:4 at high quality: chroma subsampling visibly smears fine colour detail in photos.
          await s.jpeg({ quality, chromaSubsampling: quality >= 90 ? '4:4:4' : '4:2:0' }).toBuffer()
        : outBits === 16
          ? await s.toColourspace('rgb16').png().toBuffer()
          : await s.png().toBuffer();
  } catch (e) {
    throw new SgaiError('INVALID_ARGUMENT', `Could not encode the image as ${opts.format.toUpperCase()}: ${(e as Error).message}`, { cause: e });
  }

  const exif = opts.exif ? patchExif(opts.exif, img.width, img.height) : undefined;
  const xmp = opts.xmp ? patchXmp(opts.xmp) : undefined;
  const view = new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  // Segments that do not fit a JPEG (EXIF/XMP over 64 KiB) are left out; see the docs.
  return opts.format === 'jpeg' ? spliceJpeg(view, { icc, exif, xmp }).data : splicePng(view, { icc, exif, xmp, iccName });
}

export interface WriteImageOptions extends ExportOptions {
  /** Replace an existing file. Default true for a plain path (the callers decide earlier), else the target's setting. */
  force?: boolean;
  /** Files the output must never be (e.g. the .sgai being decoded); checked by device+inode. */
  inputs?: readonly string[];
  signal?: AbortSignal;
}

/**
 * Encodes, then writes through writeFileSafely: the folder is checked before encoding, and only
 * a complete file that sharp reads back with the expected format and size is put in place.
 * `path` may be an OutputTarget from preflightOutput (checked before a long decode).
 */
export async function writeImageFile(path: string | OutputTarget, img: RasterImage, opts: WriteImageOptions): Promise<void> {
  if (typeof path === 'string' && path.length === 0) throw new SgaiError('INVALID_ARGUMENT', 'An output file path is required.');
  assertRaster(img);
  checkOptions(opts);
  const target = typeof path === 'string' ? await preflightOutput(path, { force: opts.force ?? true, inputs: opts.inputs }) : path;
  const data = await encodeImage(img, opts);
  const want = { format: opts.format, width: img.width, height: img.height };
  await writeFileSafely(target, data, { force: opts.force, inputs: opts.inputs, signal: opts.signal, verify: (b) => verifyImage(b, want) });
}

/**
 * Small WebP thumbnail (sRGB, no metadata) fitting maxSide × maxSide and at most maxBytes:
 * quality is lowered first, then the size, until it fits.
 */
export async function makePreview(
  img: RasterImage,
  maxSide = 256,
  maxBytes = 6000,
): Promise<{ width: number; height: number; mime: 'image/webp'; data: Uint8Array }> {
  assertRaster(img);
  if (!Number.isInteger(maxSide) || maxSide < 1) throw new SgaiError('INVALID_ARGUMENT', `maxSide must be a positive whole number, got ${String(maxSide)}.`);
  if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new SgaiError('INVALID_ARGUMENT', `maxBytes must be a positive whole number, got ${String(maxBytes)}.`);
  const rgb8 = img.bitDepth === 8 ? img.data : convertPixels({ src: img.data, srcBits: 16, channels: 3, outBits: 8 });
  const qualities = [80, 65, 50, 40, 30, 20, 10, 1];
  let side = Math.min(maxSide, Math.max(img.width, img.height));
  for (;;) {
    const scale = side / Math.max(img.width, img.height);
    const width = Math.max(1, Math.round(img.width * scale));
    const height = Math.max(1, Math.round(img.height * scale));
    const small =
      width === img.width && height === img.height
        ? rgb8
        : await sharp(rgb8, { raw: { width: img.width, height: img.height, channels: 3 }, limitInputPixels: false })
            .resize(width, height, { fit: 'fill' })
            .raw()
            .toBuffer();
    // The highest listed quality that fits, by bisection: WebP's size falls with quality, so this
    // finds what a scan from the top would, in 3-4 encodes instead of up to 8 (a preview was a
    // third of a fast encode's time).
    const webpAt = (quality: number) => sharp(small, { raw: { width, height, channels: 3 } }).webp({ quality }).toBuffer();
    let [lo, hi] = [0, qualities.length - 1];
    let fit: Buffer | null = null;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const webp = await webpAt(qualities[mid]);
      if (webp.length <= maxBytes) {
        fit = webp;
        hi = mid - 1;
      } else {
        lo = mid + 1;
      }
    }
    if (fit) return { width, height, mime: 'image/webp', data: new Uint8Array(fit.buffer, fit.byteOffset, fit.byteLength) };
    if (side <= 8) {
      throw new SgaiError('INVALID_ARGUMENT', `Cannot make a WebP preview of at most ${maxBytes} bytes; allow more bytes.`);
    }
    side = Math.max(8, Math.floor(side * 0.7));
  }
}
