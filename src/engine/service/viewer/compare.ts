/**
 * The viewer's comparisons of an open .sgai: the original photo, a mozjpeg JPEG of the same byte
 * size, and the error heatmap, each served as view tiles, plus PSNR and MS-SSIM of the .sgai and
 * the JPEG against the original. The images live in memory (8-bit RGB) while the file is open,
 * for at most two files; everything is made once and shared by concurrent requests.
 */
import sharp from 'sharp';
import { DEFAULT_MAX_PIXELS, readImage, SgaiError } from '../../../core';
import { ApiError } from '../../../ipc/result';
import type { CompareSide, ViewerFileInfo } from '../../../ipc/schemas';
import { tileRect, type TileRect } from '../../../ipc/viewer-tiles';
import type { ViewerFilesLike } from './files';
import { heatPixels } from './heatmap';
import { searchJpeg } from './jpeg-search';
import type { Metrics } from './measure';
import { measureOffThread } from './metrics-thread';
import { crop, rasterTile, rgbPng, toRgb8, type Rgb8 } from './raster-tiles';

/** Files whose comparison images are kept (the one on screen and the one before it). */
const KEEP_FILES = 2;

export const NO_ORIGINAL_MESSAGE =
  'The original photo was not found beside the file or through its batch manifest, so there is nothing to compare with';

interface Original {
  image: Rgb8;
  bytes: number;
  /** Decoder name from readImage ('jpeg', 'png', ...). */
  format: string;
}

interface SameSizeJpeg {
  image: Rgb8;
  bytes: number;
  quality: number;
}

/** One open file's comparison state; promises so concurrent requests share the work. */
interface Entry {
  abort: AbortController;
  info?: Promise<ViewerFileInfo>;
  original?: Promise<Original>;
  jpeg?: Promise<SameSizeJpeg>;
  /** The whole decoded .sgai. */
  sgai?: Promise<Rgb8>;
  sgaiMetrics?: Promise<Metrics>;
  jpegMetrics?: Promise<Metrics>;
}

const FORMAT_NAMES: Record<string, string> = { jpeg: 'JPEG', png: 'PNG', tiff: 'TIFF', webp: 'WebP', heif: 'HEIF', avif: 'AVIF', gif: 'GIF' };

const bpp = (bytes: number, info: { width: number; height: number }) => (8 * bytes) / (info.width * info.height);

export class Comparisons {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly o: { files: ViewerFilesLike; log: (line: string) => void }) {}

  /** Prepares the other side and measures both sides against the original. */
  async compare(path: string, against: 'original' | 'jpeg'): Promise<{ sgai: CompareSide; other: CompareSide }> {
    const e = this.entry(path);
    const info = await this.info(path, e);
    const original = await this.original(path, e);
    // The JPEG search (on sharp's threads) runs alongside the .sgai's decode and measurement.
    const jpegReady = against === 'jpeg' ? this.jpeg(path, e, info) : undefined;
    const sgaiMetrics = (e.sgaiMetrics ??= this.keep(e, 'sgaiMetrics', (async () => this.measure(await this.sgai(path, e, info), original.image, e))()));
    const sgai: CompareSide = {
      layer: 'sgai', label: `sgai · ${info.model.id}`, bytes: info.bytes, bpp: bpp(info.bytes, info), ...(await sgaiMetrics),
    };
    if (against === 'original') {
      const fmt = FORMAT_NAMES[original.format] ?? original.format.toUpperCase();
      return {
        sgai,
        other: { layer: 'original', label: `Original · ${fmt}`, bytes: original.bytes, bpp: bpp(original.bytes, info), psnr: null, msssim: null },
      };
    }
    const jpeg = await jpegReady!;
    const jpegMetrics = (e.jpegMetrics ??= this.keep(e, 'jpegMetrics', this.measure(jpeg.image, original.image, e)));
    return {
      sgai,
      other: {
        layer: 'jpeg', label: `JPEG · mozjpeg q ${jpeg.quality}`, bytes: jpeg.bytes, bpp: bpp(jpeg.bytes, info), ...(await jpegMetrics), jpegQuality: jpeg.quality,
      },
    };
  }

  /** One view tile of a compare layer, as PNG. */
  async tile(path: string, layer: 'original' | 'jpeg' | 'heat', level: number, tx: number, ty: number): Promise<Uint8Array> {
    const e = this.entry(path);
    const info = await this.info(path, e);
    const t = tileRect(info.width, info.height, level, tx, ty);
    if (!t) throw new SgaiError('INVALID_ARGUMENT', `tile ${tx},${ty} at level ${level} lies outside the ${info.width}×${info.height} image`);
    if (layer === 'original') return rasterTile((await this.original(path, e)).image, t);
    if (layer === 'jpeg') return rasterTile((await this.jpeg(path, e, info)).image, t);
    return this.heatTile(path, e, info, t, level);
  }

  /** The files whose comparison state is held, least recently used first (diagnostics, tests). */
  heldFiles(): string[] {
    return [...this.entries.keys()];
  }

  close(path: string): void {
    const e = this.entries.get(path);
    if (!e) return;
    e.abort.abort();
    this.entries.delete(path);
  }

  private async heatTile(path: string, e: Entry, info: ViewerFileInfo, t: TileRect, level: number): Promise<Uint8Array> {
    const original = (await this.original(path, e)).image;
    let decoded: Uint8Array;
    // A tile covering a good part of the image (zoomed out) would decode most of it anyway: decode
    // it all once and keep it; a 100 % tile decodes just its own rectangle.
    if (e.sgai || t.width * t.height * 4 >= info.width * info.height) {
      decoded = crop(await this.sgai(path, e, info), t);
    } else {
      decoded = toRgb8(await this.o.files.region(path, { x: t.x, y: t.y, width: t.width, height: t.height }, e.abort.signal)).data;
    }
    const heat = heatPixels(decoded, crop(original, t), t.width, t.height, 2 ** level);
    return rgbPng(heat.data, heat.width, heat.height);
  }

  /** The entry of a file, made most recently used; the least recently used beyond KEEP_FILES is dropped. */
  private entry(path: string): Entry {
    let e = this.entries.get(path);
    if (e) this.entries.delete(path);
    else e = { abort: new AbortController() };
    this.entries.set(path, e);
    while (this.entries.size > KEEP_FILES) {
      const [oldest] = this.entries.keys();
      this.close(oldest);
    }
    return e;
  }

  /** Keeps a promise in the entry, but forgets it when it fails so the next request tries again. */
  private keep<K extends 'info' | 'original' | 'jpeg' | 'sgai' | 'sgaiMetrics' | 'jpegMetrics'>(e: Entry, key: K, p: NonNullable<Entry[K]>): NonNullable<Entry[K]> {
    (p as Promise<unknown>).catch(() => {
      if (e[key] === p) e[key] = undefined;
    });
    return p;
  }

  /** PSNR and MS-SSIM against the original, on a worker thread: tens of seconds for a big photo. */
  private measure(img: Rgb8, original: Rgb8, e: Entry): Promise<Metrics> {
    return measureOffThread(img, original, { log: this.o.log, signal: e.abort.signal });
  }

  private info(path: string, e: Entry): Promise<ViewerFileInfo> {
    return (e.info ??= this.keep(e, 'info', this.o.files.open(path)));
  }

  private original(path: string, e: Entry): Promise<Original> {
    return (e.original ??= this.keep(e, 'original', (async () => {
      const info = await this.info(path, e);
      // The lookup viewer:open started (or one started now): only a photo whose SHA-256 it proved is read.
      const { original: found } = await this.o.files.original(path);
      if (!found) throw new ApiError({ code: 'NOT_FOUND', message: NO_ORIGINAL_MESSAGE });
      // core's reader, as the encoder used it: the same upright sRGB pixels the .sgai was made from.
      const { image, meta } = await readImage(found.path, {
        alpha: 'flatten', frames: 'first', maxPixels: Math.max(DEFAULT_MAX_PIXELS, info.width * info.height),
      });
      if (image.width !== info.width || image.height !== info.height) {
        throw new SgaiError(
          'UNSUPPORTED_IMAGE',
          `The original photo ${found.path} is ${image.width}×${image.height} but this .sgai is ${info.width}×${info.height}, so the two cannot be compared pixel for pixel.`,
        );
      }
      return { image: toRgb8(image), bytes: found.bytes, format: meta.format };
    })()));
  }

  private sgai(path: string, e: Entry, info: ViewerFileInfo): Promise<Rgb8> {
    return (e.sgai ??= this.keep(e, 'sgai', (async () =>
      toRgb8(await this.o.files.region(path, { x: 0, y: 0, width: info.width, height: info.height }, e.abort.signal)))()));
  }

  private jpeg(path: string, e: Entry, info: ViewerFileInfo): Promise<SameSizeJpeg> {
    return (e.jpeg ??= this.keep(e, 'jpeg', (async () => {
      const original = await this.original(path, e);
      const m = await searchJpeg(original.image, info.bytes, e.abort.signal);
      this.o.log(
        `same-size JPEG for ${path}: ${m.bytes} bytes for ${info.bytes} (${(100 * m.error).toFixed(1)} %), mozjpeg q ${m.quality} ` +
          `${m.variant.chromaSubsampling} table ${m.variant.quantisationTable}, ${m.tries} encodes`,
      );
      const { data, info: out } = await sharp(m.data).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      const image: Rgb8 = { width: out.width, height: out.height, bitDepth: 8, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
      return { image, bytes: m.bytes, quality: m.quality };
    })()));
  }
}
