/**
 * The decoder's pixel limit. A header may claim up to 65535 x 65535 pixels (about 4.3 GP), so
 * a 200-byte file could otherwise ask for tens of gigabytes; the limit is checked as soon as
 * the header is read, before anything sized by the image is allocated.
 */
import { SgaiError } from '../errors';
import type { SgaiHeader } from './types';

/**
 * Rough peak memory of decoding a whole image: the output raster (16-bit worst case), the
 * float32 y^ latents for the whole image (M/64 bytes a pixel), one band of h_s means and
 * scales (float64, 2048 px high, full width) and the runtime. To size the machine, not a promise.
 */
export function estimateDecodeMemoryBytes(h: Pick<SgaiHeader, 'width' | 'height' | 'channelsM'>): number {
  const pixels = h.width * h.height;
  const band = 2 * 8 * h.channelsM * (2048 / 16) * (Math.ceil(h.width / 64) * 4);
  return 0.5e9 + pixels * (6 + h.channelsM / 64) + band;
}

const mp = (px: number): string => `${(px / 1e6).toFixed(px < 1e6 ? 2 : px < 10e6 ? 1 : 0)} MP`;

export function checkMaxPixels(maxPixels: unknown): number {
  if (typeof maxPixels !== 'number' || !(maxPixels > 0)) {
    throw new SgaiError('INVALID_ARGUMENT', `maxPixels must be a positive number of pixels, got ${String(maxPixels)}`);
  }
  return maxPixels;
}

/**
 * IMAGE_TOO_LARGE when the header's width x height is over `maxPixels`. The whole image
 * counts even for a region decode: the decoder's latent buffers span the whole image.
 */
export function assertWithinPixelLimit(h: Pick<SgaiHeader, 'width' | 'height' | 'channelsM'>, maxPixels: number): void {
  const pixels = h.width * h.height;
  if (pixels <= maxPixels) return;
  const gb = estimateDecodeMemoryBytes(h) / 1e9;
  throw new SgaiError(
    'IMAGE_TOO_LARGE',
    `${h.width}x${h.height} is ${mp(pixels)}, over the ${mp(maxPixels)} limit of this decoder; ` +
      `pass --max-megapixels ${Math.ceil(pixels / 1e6)} to decode it (needs about ${gb.toFixed(gb < 10 ? 1 : 0)} GB of memory)`,
  );
}
