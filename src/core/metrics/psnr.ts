/** PSNR on 8- or 16-bit RGB rasters, over all channels (the usual "PSNR-RGB"). */
import { SgaiError } from '../errors';
import type { RasterImage } from '../image/raster';

export function mse(a: RasterImage, b: RasterImage): number {
  if (a.width !== b.width || a.height !== b.height) {
    throw new SgaiError('INVALID_ARGUMENT', `cannot compare ${a.width}x${a.height} with ${b.width}x${b.height}`);
  }
  // Compare on a common [0,1] scale so 8- and 16-bit images can be compared.
  const sa = 1 / (a.bitDepth === 16 ? 65535 : 255);
  const sb = 1 / (b.bitDepth === 16 ? 65535 : 255);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i] * sa - b.data[i] * sb;
    sum += d * d;
  }
  return sum / a.data.length;
}

/** PSNR in dB with peak 1.0 (i.e. 255 for 8-bit); Infinity for identical images. */
export function psnr(a: RasterImage, b: RasterImage): number {
  const m = mse(a, b);
  return m === 0 ? Infinity : -10 * Math.log10(m);
}

export function bitsPerPixel(bytes: number, width: number, height: number): number {
  return (bytes * 8) / (width * height);
}
