/**
 * Small pixel helpers of the compare layers: 8-bit RGB in memory, view tiles cut from it as PNG
 * (the same lanczos3 downscale the 'sgai' layer uses, so a split view shows the codec, not the
 * resampler), and crops for the heatmap.
 */
import sharp from 'sharp';
import type { RasterImage } from '../../../core';
import type { TileRect } from '../../../ipc/viewer-tiles';

/** An 8-bit RGB raster (what every compare layer keeps in memory). */
export type Rgb8 = RasterImage & { bitDepth: 8; data: Uint8Array };

/** The same raster at 8 bits (16-bit samples rounded: v / 257). */
export function toRgb8(img: RasterImage): Rgb8 {
  if (img.bitDepth === 8) return img as Rgb8;
  const src = img.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = Math.round(src[i] / 257);
  return { width: img.width, height: img.height, bitDepth: 8, data: out };
}

/** The pixels of a rectangle of an 8-bit raster, copied row by row. */
export function crop(img: Rgb8, r: { x: number; y: number; width: number; height: number }): Uint8Array {
  if (r.x === 0 && r.y === 0 && r.width === img.width && r.height === img.height) return img.data;
  const out = new Uint8Array(r.width * r.height * 3);
  const row = r.width * 3;
  for (let y = 0; y < r.height; y++) {
    const s = ((r.y + y) * img.width + r.x) * 3;
    out.set(img.data.subarray(s, s + row), y * row);
  }
  return out;
}

/** Fast PNG: tiles are made on demand and thrown away, so speed beats a few percent of bytes. */
export function rgbPng(data: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  return sharp(data, { raw: { width, height, channels: 3 }, limitInputPixels: false })
    .png({ compressionLevel: 1 })
    .toBuffer()
    .then((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
}

/** One view tile of an in-memory image as PNG: the tile's source rectangle, shrunk to its level. */
export async function rasterTile(img: Rgb8, t: TileRect): Promise<Uint8Array> {
  let s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 }, limitInputPixels: false }).extract({
    left: t.x, top: t.y, width: t.width, height: t.height,
  });
  if (t.outWidth !== t.width || t.outHeight !== t.height) s = s.resize(t.outWidth, t.outHeight, { fit: 'fill', kernel: 'lanczos3' });
  const b = await s.png({ compressionLevel: 1 }).toBuffer();
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
