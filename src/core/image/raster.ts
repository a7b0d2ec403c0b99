/**
 * In-memory raster shared by the image I/O layer and the codec, plus the float conversions the
 * codec needs per tile. Everything here is synchronous and allocation-light on purpose: these
 * functions run once per tile on 50 MP photos.
 */
import { SgaiError } from '../errors';

/** Upright sRGB pixels, interleaved RGB, 3 channels. 8-bit → Uint8Array, 16-bit → Uint16Array. */
export interface RasterImage {
  width: number;
  height: number;
  bitDepth: 8 | 16;
  data: Uint8Array | Uint16Array;
}

/** What readImage learned about the source file besides its pixels. */
export interface ImageMetadata {
  /** Decoder name: 'jpeg', 'png', 'webp', 'tiff', 'heif', 'avif', 'gif'. */
  format: string;
  bitDepth: 8 | 16;
  /** The source had an alpha channel (even a fully opaque one); pixels were flattened over white. */
  hadAlpha: boolean;
  /** EXIF orientation 1..8 as found in the file (1 when absent); the pixels are already upright. */
  orientation: number;
  /** The original embedded ICC profile, byte for byte. */
  icc?: Uint8Array;
  /** Raw EXIF: TIFF header onwards (no "Exif\0\0" prefix), as the metadata policy lets it through (still has the old Orientation). */
  exif?: Uint8Array;
  /** Raw XMP packet bytes, as the metadata policy lets them through. */
  xmp?: Uint8Array;
  /** The ICC profile's description tag, e.g. "Display P3", when readable. */
  iccDescription?: string;
}

/** Throws INVALID_ARGUMENT unless img is a consistent RasterImage. */
export function assertRaster(img: RasterImage, what = 'image'): void {
  if (!img || typeof img !== 'object') throw new SgaiError('INVALID_ARGUMENT', `The ${what} is missing.`);
  const { width, height, bitDepth, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new SgaiError('INVALID_ARGUMENT', `The ${what} has an invalid size ${String(width)}×${String(height)}.`);
  }
  if (bitDepth !== 8 && bitDepth !== 16) {
    throw new SgaiError('INVALID_ARGUMENT', `The ${what} has bit depth ${String(bitDepth)}; only 8 and 16 are supported.`);
  }
  const okType = bitDepth === 8 ? data instanceof Uint8Array : data instanceof Uint16Array;
  if (!okType) {
    throw new SgaiError(
      'INVALID_ARGUMENT',
      `The ${what} is ${bitDepth}-bit but its pixels are not a ${bitDepth === 8 ? 'Uint8Array' : 'Uint16Array'}.`,
    );
  }
  if (data.length !== width * height * 3) {
    throw new SgaiError(
      'INVALID_ARGUMENT',
      `The ${what} should hold ${width * height * 3} samples (${width}×${height} RGB) but holds ${data.length}.`,
    );
  }
}

function assertInt(v: number, name: string, min = -Infinity): void {
  if (!Number.isInteger(v) || v < min) {
    throw new SgaiError('INVALID_ARGUMENT', `${name} must be an integer${min > -Infinity ? ` ≥ ${min}` : ''}, got ${String(v)}.`);
  }
}

// Lookup tables turn the per-sample division into one load; the 16-bit table (256 KiB) is built
// on first use only.
const LUT8 = new Float32Array(256).map((_, i) => i / 255);
let lut16: Float32Array | undefined;
function lutFor(bitDepth: 8 | 16): Float32Array {
  if (bitDepth === 8) return LUT8;
  if (!lut16) {
    lut16 = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) lut16[i] = i / 65535;
  }
  return lut16;
}

/**
 * HWC float32 in [0,1] of the region (x, y, w, h). Coordinates outside the image are filled by
 * edge replication (clamp), so regions may lie partly or wholly outside. If `out` is given it must
 * hold at least w*h*3 floats; the returned array is `out` (or its first w*h*3 floats).
 */
export function rasterToFloatRegion(
  img: RasterImage,
  x: number,
  y: number,
  w: number,
  h: number,
  out?: Float32Array,
): Float32Array {
  assertRaster(img);
  assertInt(x, 'x');
  assertInt(y, 'y');
  assertInt(w, 'w', 1);
  assertInt(h, 'h', 1);
  const n = w * h * 3;
  let dst: Float32Array;
  if (out) {
    if (!(out instanceof Float32Array) || out.length < n) {
      throw new SgaiError('INVALID_ARGUMENT', `The output buffer must be a Float32Array of at least ${n} floats.`);
    }
    dst = out.length === n ? out : out.subarray(0, n);
  } else {
    dst = new Float32Array(n);
  }
  const lut = lutFor(img.bitDepth);
  const { width: W, height: H, data } = img;
  // Split every row into [left padding | inside the image | right padding].
  const nLeft = Math.min(w, Math.max(0, -x));
  const nRight = Math.min(w - nLeft, Math.max(0, x + w - W));
  const nIn = w - nLeft - nRight;
  const inStart = x + nLeft; // first source column of the inside run
  const rowLen = w * 3;
  let prevSy = -1;
  for (let r = 0; r < h; r++) {
    const o = r * rowLen;
    const sy = Math.min(H - 1, Math.max(0, y + r));
    if (sy === prevSy) {
      // Halo rows above/below the image repeat the same source row: copy the finished row.
      dst.copyWithin(o, o - rowLen, o);
      continue;
    }
    prevSy = sy;
    const rowBase = sy * W * 3;
    let d = o;
    if (nLeft > 0) {
      const s = rowBase; // column 0
      const c0 = lut[data[s]], c1 = lut[data[s + 1]], c2 = lut[data[s + 2]];
      for (let i = 0; i < nLeft; i++, d += 3) {
        dst[d] = c0;
        dst[d + 1] = c1;
        dst[d + 2] = c2;
      }
    }
    if (nIn > 0) {
      let s = rowBase + inStart * 3;
      const end = d + nIn * 3;
      while (d < end) dst[d++] = lut[data[s++]];
    }
    if (nRight > 0) {
      const s = rowBase + (W - 1) * 3;
      const c0 = lut[data[s]], c1 = lut[data[s + 1]], c2 = lut[data[s + 2]];
      for (let i = 0; i < nRight; i++, d += 3) {
        dst[d] = c0;
        dst[d + 1] = c1;
        dst[d + 2] = c2;
      }
    }
  }
  return dst;
}

/*
 * Quantisation used everywhere floats become integers: clamp to [0,1] (NaN → 0), then round half
 * up, i.e. floor(v * max + 0.5). `| 0` is floor here because the operand is never negative.
 */

/** Float HWC RGB in [0,1] → raster. Values are clamped to [0,1] (NaN → 0) and rounded half up: floor(v*255 + 0.5) or floor(v*65535 + 0.5). */
export function floatToRaster(data: Float32Array, w: number, h: number, bitDepth: 8 | 16): RasterImage {
  assertInt(w, 'w', 1);
  assertInt(h, 'h', 1);
  if (bitDepth !== 8 && bitDepth !== 16) throw new SgaiError('INVALID_ARGUMENT', `bitDepth must be 8 or 16, got ${String(bitDepth)}.`);
  const n = w * h * 3;
  if (!(data instanceof Float32Array) || data.length < n) {
    throw new SgaiError('INVALID_ARGUMENT', `Expected at least ${n} floats for a ${w}×${h} RGB image, got ${data?.length ?? 0}.`);
  }
  const max = bitDepth === 8 ? 255 : 65535;
  const out = bitDepth === 8 ? new Uint8Array(n) : new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const v = data[i];
    out[i] = ((v > 0 ? (v < 1 ? v : 1) : 0) * max + 0.5) | 0;
  }
  return { width: w, height: h, bitDepth, data: out };
}

/**
 * Copies the window (sx, sy, w, h) of a float HWC RGB tile of size srcW×srcH into dst at (dx, dy),
 * clamping and rounding like floatToRaster. The window must lie inside both the tile and dst
 * (INVALID_ARGUMENT otherwise): clipping is the caller's job, so an off-by-one in tiling fails loudly.
 */
export function pasteRegion(
  dst: RasterImage,
  src: Float32Array,
  srcW: number,
  srcH: number,
  sx: number,
  sy: number,
  w: number,
  h: number,
  dx: number,
  dy: number,
): void {
  assertRaster(dst, 'destination image');
  assertInt(srcW, 'srcW', 1);
  assertInt(srcH, 'srcH', 1);
  assertInt(sx, 'sx', 0);
  assertInt(sy, 'sy', 0);
  assertInt(w, 'w', 0);
  assertInt(h, 'h', 0);
  assertInt(dx, 'dx', 0);
  assertInt(dy, 'dy', 0);
  if (!(src instanceof Float32Array) || src.length < srcW * srcH * 3) {
    throw new SgaiError('INVALID_ARGUMENT', `The tile must be a Float32Array of at least ${srcW * srcH * 3} floats (${srcW}×${srcH} RGB).`);
  }
  if (sx + w > srcW || sy + h > srcH) {
    throw new SgaiError('INVALID_ARGUMENT', `Window ${w}×${h} at (${sx},${sy}) does not fit in the ${srcW}×${srcH} tile.`);
  }
  if (dx + w > dst.width || dy + h > dst.height) {
    throw new SgaiError('INVALID_ARGUMENT', `Window ${w}×${h} at (${dx},${dy}) does not fit in the ${dst.width}×${dst.height} image.`);
  }
  const max = dst.bitDepth === 8 ? 255 : 65535;
  const out = dst.data;
  const n = w * 3;
  for (let r = 0; r < h; r++) {
    let s = ((sy + r) * srcW + sx) * 3;
    let d = ((dy + r) * dst.width + dx) * 3;
    const end = d + n;
    while (d < end) {
      const v = src[s++];
      out[d++] = ((v > 0 ? (v < 1 ? v : 1) : 0) * max + 0.5) | 0;
    }
  }
}
