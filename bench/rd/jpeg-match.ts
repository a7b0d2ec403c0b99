/**
 * "The JPEG of the same size": the highest JPEG quality whose file is no larger than a target
 * byte count, by binary search over quality 1..100. The viewer uses it to show sgai next to
 * a JPEG that costs the same bytes.
 *
 * JPEG size is not strictly monotone in quality (quantisation tables are rounded), so after the
 * search the qualities just above the answer are checked too and the best fitting one kept.
 */
import sharp from 'sharp';
import { type RasterImage, SgaiError } from '../../src/core';

export type JpegEncoderName = 'libjpeg-turbo' | 'mozjpeg';

export interface JpegMatchOptions {
  /** 'libjpeg-turbo'-style baseline (sharp, mozjpeg extensions off) or 'mozjpeg' (trellis etc.). Default libjpeg-turbo. */
  encoder?: JpegEncoderName;
  minQuality?: number;
  maxQuality?: number;
  /** Chroma subsampling; default '4:2:0' as most JPEGs in the wild. */
  chromaSubsampling?: '4:2:0' | '4:4:4';
}

export interface JpegMatch {
  quality: number;
  bytes: Uint8Array;
  /** false when even the lowest quality is larger than the target (bytes then holds that file). */
  fits: boolean;
  /** Encodes performed, for callers that care about cost. */
  encodes: number;
}

/** One JPEG encode of an 8-bit RGB raster. */
export async function encodeJpeg(image: RasterImage, quality: number, opts: JpegMatchOptions = {}): Promise<Uint8Array> {
  if (image.bitDepth !== 8) throw new SgaiError('INVALID_ARGUMENT', 'JPEG matching works on 8-bit images');
  const raw = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  const out = await sharp(raw, { raw: { width: image.width, height: image.height, channels: 3 } })
    .jpeg({ quality, mozjpeg: opts.encoder === 'mozjpeg', chromaSubsampling: opts.chromaSubsampling ?? '4:2:0' })
    .toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** The highest quality whose JPEG is at most `targetBytes` long. */
export async function findJpegAtSize(image: RasterImage, targetBytes: number, opts: JpegMatchOptions = {}): Promise<JpegMatch> {
  const lo0 = opts.minQuality ?? 1;
  const hi0 = opts.maxQuality ?? 100;
  if (!(targetBytes > 0)) throw new SgaiError('INVALID_ARGUMENT', `target size must be > 0 bytes, got ${targetBytes}`);
  if (!Number.isInteger(lo0) || !Number.isInteger(hi0) || lo0 < 1 || hi0 > 100 || lo0 > hi0) {
    throw new SgaiError('INVALID_ARGUMENT', `quality range must be whole numbers within 1..100, got ${lo0}..${hi0}`);
  }
  const memo = new Map<number, Uint8Array>();
  const at = async (q: number): Promise<Uint8Array> => {
    let b = memo.get(q);
    if (!b) {
      b = await encodeJpeg(image, q, opts);
      memo.set(q, b);
    }
    return b;
  };
  const first = await at(lo0);
  if (first.length > targetBytes) return { quality: lo0, bytes: first, fits: false, encodes: memo.size };
  // Invariant: size(lo) <= target; search for the last such quality assuming monotone size.
  let lo = lo0;
  let hi = hi0;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if ((await at(mid)).length <= targetBytes) lo = mid;
    else hi = mid - 1;
  }
  // Guard against small non-monotonic steps just above the answer.
  for (let q = lo + 1; q <= Math.min(hi0, lo + 2); q++) if ((await at(q)).length <= targetBytes) lo = q;
  return { quality: lo, bytes: await at(lo), fits: true, encodes: memo.size };
}
