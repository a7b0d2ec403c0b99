/**
 * A JPEG of the same byte size as a .sgai, for a fair side-by-side: mozjpeg through sharp, no
 * metadata (the .sgai's bytes are mostly pixels too). Quality alone moves the size in steps that
 * can be wider than the 2 % we aim for (at low qualities especially), so after a binary search
 * over quality the neighbouring qualities are tried with the other chroma subsampling and
 * mozjpeg's other quantisation tables, which fill in sizes between those steps.
 */
import sharp from 'sharp';
import { SgaiError } from '../../../core';

/** How close (relative) the JPEG's size must come to the target. */
export const JPEG_SIZE_TOLERANCE = 0.02;

export interface JpegVariant {
  chromaSubsampling: '4:2:0' | '4:4:4';
  /** mozjpeg quantisation table 0..8 (3 is mozjpeg's default). */
  quantisationTable: number;
}

export interface JpegMatch {
  data: Buffer;
  bytes: number;
  quality: number;
  variant: JpegVariant;
  /** (bytes − target) / target. */
  error: number;
  /** Encodes it took. */
  tries: number;
}

export interface RgbPixels {
  width: number;
  height: number;
  /** Interleaved 8-bit RGB. */
  data: Uint8Array;
}

const BASE: JpegVariant = { chromaSubsampling: '4:2:0', quantisationTable: 3 };

/** The base first, then the other subsampling, then every other table with each subsampling. */
function variantsToTry(): JpegVariant[] {
  const out: JpegVariant[] = [{ chromaSubsampling: '4:4:4', quantisationTable: 3 }];
  for (const chromaSubsampling of ['4:2:0', '4:4:4'] as const) {
    for (let t = 0; t <= 8; t++) if (t !== 3) out.push({ chromaSubsampling, quantisationTable: t });
  }
  return out;
}

export function encodeJpeg(img: RgbPixels, quality: number, v: JpegVariant): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 }, limitInputPixels: false })
    .jpeg({ quality, mozjpeg: true, chromaSubsampling: v.chromaSubsampling, quantisationTable: v.quantisationTable })
    .toBuffer();
}

/**
 * Searches for the JPEG whose size is closest to `targetBytes`: the closest one not larger when
 * one lies within 2 %, else the closest of all tried.
 */
export async function searchJpeg(img: RgbPixels, targetBytes: number, signal?: AbortSignal): Promise<JpegMatch> {
  if (!(targetBytes > 0)) throw new SgaiError('INVALID_ARGUMENT', `the target size must be positive, got ${targetBytes}`);
  const tried = new Map<string, JpegMatch>();
  const encode = async (quality: number, variant: JpegVariant): Promise<JpegMatch> => {
    const key = `${quality}|${variant.chromaSubsampling}|${variant.quantisationTable}`;
    const seen = tried.get(key);
    if (seen) return seen;
    if (signal?.aborted) throw new SgaiError('CANCELLED', 'the same-size JPEG was no longer needed');
    const data = await encodeJpeg(img, quality, variant);
    const m: JpegMatch = { data, bytes: data.length, quality, variant, error: (data.length - targetBytes) / targetBytes, tries: 0 };
    tried.set(key, m);
    return m;
  };
  const good = (m: JpegMatch) => m.bytes <= targetBytes && -m.error <= JPEG_SIZE_TOLERANCE;
  const pick = (): JpegMatch => {
    const all = [...tried.values()];
    const under = all.filter(good).sort((a, b) => b.bytes - a.bytes);
    const best = under[0] ?? all.sort((a, b) => Math.abs(a.error) - Math.abs(b.error))[0];
    return { ...best, tries: tried.size };
  };

  // Binary search on the base variant for the highest quality that is not larger than the target.
  let lo = 1;
  let hi = 100;
  let fit = 0; // highest quality found not larger (0: none)
  while (lo <= hi) {
    const q = (lo + hi) >> 1;
    const m = await encode(q, BASE);
    if (m.bytes <= targetBytes) {
      fit = q;
      lo = q + 1;
    } else {
      hi = q - 1;
    }
  }
  if ([...tried.values()].some(good)) return pick();

  // Between two quality steps: each other variant, walked from the base's bracket to its own.
  const start = Math.max(1, fit);
  for (const v of variantsToTry()) {
    let q = start;
    const dir = (await encode(q, v)).bytes > targetBytes ? -1 : 1;
    // Walk until this variant's sizes cross the target (a few steps: the variants' sizes are near the base's).
    for (let steps = 0; steps < 6; steps++) {
      q += dir;
      if (q < 1 || q > 100) break;
      const crossed = (await encode(q, v)).bytes <= targetBytes;
      if (crossed === dir < 0) break;
    }
    if ([...tried.values()].some(good)) break;
  }
  return pick();
}
