/**
 * Tiled analysis (g_a, h_a) and synthesis (g_s). Tiles overlap by more than each transform's
 * receptive field and only their centres are kept, so tiled results equal whole-image results
 * up to float rounding and show no seams, while memory stays bounded by one tile's features.
 * Each runs on tfjs (the active tfjs backend) or ONNX Runtime; the tiling is the same for both.
 */
import { activeTransformEngine, type TransformEngine } from '../backend';
import { checkpoint } from '../cancel';
import { pasteRegion, rasterToFloatRegion, type RasterImage } from '../image/raster';
import {
  ANALYSIS_HALO_PX, SYNTHESIS_HALO_Y, Y_STRIDE, intersect, tileLatentRect,
  type LatentGrid, type Rect,
} from '../latent-grid';
import { runLayers, type FeatureMap } from '../model/network';
import type { HyperpriorWeights, Layer } from '../model/weights';
import { runLayersOrt } from '../ort/runtime';

export type Progress = (stage: string, done: number, total: number) => void;

/** One layer stack on one feature map, on the given engine. */
export function runNet(input: FeatureMap, layers: Layer[], engine: TransformEngine): Promise<FeatureMap> {
  return engine === 'ort' ? runLayersOrt(input, layers) : Promise.resolve(runLayers(input, layers));
}

/** y = g_a(x) for the whole padded image, computed tile by tile. Returns HWC float32 [yh, yw, M]. */
export async function analyse(
  w: HyperpriorWeights, img: RasterImage, g: LatentGrid, onProgress?: Progress, signal?: AbortSignal,
  engine: TransformEngine = activeTransformEngine(),
): Promise<Float32Array> {
  const M = w.M;
  const y = new Float32Array(g.yh * g.yw * M);
  const total = g.tilesX * g.tilesY;
  for (let t = 0; t < total; t++) {
    await checkpoint(signal);
    const r = tileLatentRect(g, t);
    // Pixel window with halo, clipped to the padded image: outside it the whole-image
    // convolution sees zero padding too, so clipping keeps tiled == whole.
    const px0 = Math.max(0, r.x * Y_STRIDE - ANALYSIS_HALO_PX);
    const py0 = Math.max(0, r.y * Y_STRIDE - ANALYSIS_HALO_PX);
    const px1 = Math.min(g.paddedWidth, (r.x + r.width) * Y_STRIDE + ANALYSIS_HALO_PX);
    const py1 = Math.min(g.paddedHeight, (r.y + r.height) * Y_STRIDE + ANALYSIS_HALO_PX);
    // Pixels beyond the photo (padding to 64) are edge-replicated by rasterToFloatRegion.
    const x = rasterToFloatRegion(img, px0, py0, px1 - px0, py1 - py0);
    const out = await runNet({ data: x, height: py1 - py0, width: px1 - px0, channels: 3 }, w.gA, engine);
    const oy = r.y - py0 / Y_STRIDE;
    const ox = r.x - px0 / Y_STRIDE;
    for (let row = 0; row < r.height; row++) {
      const src = ((oy + row) * out.width + ox) * M;
      y.set(out.data.subarray(src, src + r.width * M), ((r.y + row) * g.yw + r.x) * M);
    }
    onProgress?.('analysis', t + 1, total);
  }
  return y;
}

/** z = h_a(y) on the active tfjs backend. z is 1/64 of the image, so it is computed in one piece. */
export function hyperAnalyse(w: HyperpriorWeights, y: Float32Array, g: LatentGrid): Float32Array {
  return runLayers({ data: y, height: g.yh, width: g.yw, channels: w.M }, w.hA).data;
}

/** z = h_a(y) on the given engine (the active one by default), as the encoder computes it. */
export async function hyperAnalyseOn(
  w: HyperpriorWeights, y: Float32Array, g: LatentGrid, engine: TransformEngine = activeTransformEngine(),
): Promise<Float32Array> {
  return (await runNet({ data: y, height: g.yh, width: g.yw, channels: w.M }, w.hA, engine)).data;
}

/**
 * x^ = g_s(y^) for the tiles listed, pasted into `out` (which covers `region` of the image).
 * Latents of neighbouring tiles must already be present in yHat where the halo reaches.
 */
export async function synthesise(
  w: HyperpriorWeights, yHat: Float32Array, g: LatentGrid, tiles: number[], region: Rect, out: RasterImage,
  onProgress?: Progress, signal?: AbortSignal, engine: TransformEngine = activeTransformEngine(),
): Promise<void> {
  const M = w.M;
  const image: Rect = { x: 0, y: 0, width: g.width, height: g.height };
  for (const [i, t] of tiles.entries()) {
    await checkpoint(signal);
    const r = tileLatentRect(g, t);
    const tilePixels: Rect = { x: r.x * Y_STRIDE, y: r.y * Y_STRIDE, width: r.width * Y_STRIDE, height: r.height * Y_STRIDE };
    const inImage = intersect(image, tilePixels);
    const keep = inImage && intersect(inImage, region);
    if (!keep) continue;
    const cx0 = Math.max(0, r.x - SYNTHESIS_HALO_Y);
    const cy0 = Math.max(0, r.y - SYNTHESIS_HALO_Y);
    const cx1 = Math.min(g.yw, r.x + r.width + SYNTHESIS_HALO_Y);
    const cy1 = Math.min(g.yh, r.y + r.height + SYNTHESIS_HALO_Y);
    const cw = cx1 - cx0;
    const ch = cy1 - cy0;
    const crop = new Float32Array(cw * ch * M);
    for (let row = 0; row < ch; row++) {
      const src = ((cy0 + row) * g.yw + cx0) * M;
      crop.set(yHat.subarray(src, src + cw * M), row * cw * M);
    }
    const x = await runNet({ data: crop, height: ch, width: cw, channels: M }, w.gS, engine);
    pasteRegion(out, x.data, x.width, x.height,
      keep.x - cx0 * Y_STRIDE, keep.y - cy0 * Y_STRIDE, keep.width, keep.height,
      keep.x - region.x, keep.y - region.y);
    onProgress?.('synthesis', i + 1, tiles.length);
  }
}
