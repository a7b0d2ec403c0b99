/** PSNR, and MS-SSIM where the image is big enough for its five scales, of an image against a reference. */
import { MSSSIM_MIN_SIDE, msssimRgb, psnr, type RasterImage } from '../../../core';

export interface Metrics {
  psnr: number;
  /** null where the image is too small for MS-SSIM's five scales. */
  msssim: number | null;
}

export function measurePair(img: RasterImage, reference: RasterImage): Metrics {
  const small = Math.min(img.width, img.height) < MSSSIM_MIN_SIDE;
  return { psnr: psnr(img, reference), msssim: small ? null : msssimRgb(img, reference) };
}
