/**
 * The error heatmap layer: per pixel, the mean absolute difference over R, G and B between the
 * decoded .sgai and the original in 8-bit levels, averaged over each display pixel's block of
 * source pixels (an error map is an area quantity: averaging the errors, not the colours, keeps a
 * zoomed-out tile's colour meaning "this much error here"), then coloured through the shared
 * HEAT_STOPS table so the renderer's legend matches.
 */
import { heatColour } from '../../../ipc/viewer-tiles';

/** Colours for every sum of the three absolute differences (0..765), so a pixel costs one lookup. */
const LUT: Uint8Array = (() => {
  const t = new Uint8Array(766 * 3);
  for (let s = 0; s <= 765; s++) t.set(heatColour(s / 3), s * 3);
  return t;
})();

/**
 * Heatmap pixels (8-bit RGB) of two same-sized 8-bit RGB regions, downscaled by `factor`
 * (2^level): output pixel (i, j) averages the error of source pixels [i·f, i·f+f) × [j·f, j·f+f),
 * clipped at the region's edge, so the output is ceil(width/f) × ceil(height/f).
 */
export function heatPixels(
  decoded: Uint8Array,
  original: Uint8Array,
  width: number,
  height: number,
  factor = 1,
): { data: Uint8Array; width: number; height: number } {
  if (decoded.length !== width * height * 3 || original.length !== decoded.length) {
    throw new RangeError(`heatPixels: both regions must hold ${width}×${height} RGB pixels`);
  }
  if (!Number.isInteger(factor) || factor < 1) throw new RangeError(`heatPixels: factor must be a positive integer, got ${factor}`);
  const ow = Math.ceil(width / factor);
  const oh = Math.ceil(height / factor);
  const out = new Uint8Array(ow * oh * 3);
  if (factor === 1) {
    for (let p = 0, i = 0; p < width * height; p++, i += 3) {
      const s = Math.abs(decoded[i] - original[i]) + Math.abs(decoded[i + 1] - original[i + 1]) + Math.abs(decoded[i + 2] - original[i + 2]);
      out[i] = LUT[s * 3];
      out[i + 1] = LUT[s * 3 + 1];
      out[i + 2] = LUT[s * 3 + 2];
    }
    return { data: out, width: ow, height: oh };
  }
  // Sum of |differences| per output pixel, one source row at a time.
  const sums = new Float64Array(ow);
  for (let oy = 0; oy < oh; oy++) {
    sums.fill(0);
    const y0 = oy * factor;
    const y1 = Math.min(height, y0 + factor);
    for (let y = y0; y < y1; y++) {
      let i = y * width * 3;
      for (let x = 0; x < width; x++, i += 3) {
        sums[(x / factor) | 0] +=
          Math.abs(decoded[i] - original[i]) + Math.abs(decoded[i + 1] - original[i + 1]) + Math.abs(decoded[i + 2] - original[i + 2]);
      }
    }
    const rows = y1 - y0;
    for (let ox = 0; ox < ow; ox++) {
      const cols = Math.min(width, ox * factor + factor) - ox * factor;
      // Exact mean (not the table): a block's mean is rarely a whole third of a level.
      out.set(heatColour(sums[ox] / (rows * cols) / 3), (oy * ow + ox) * 3);
    }
  }
  return { data: out, width: ow, height: oh };
}
