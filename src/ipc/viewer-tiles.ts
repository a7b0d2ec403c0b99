/**
 * How the viewer addresses pixels, shared by the renderer (which asks for tiles) and the engine
 * (which decodes them), so the two cannot disagree. Plain functions, no zod, no Node.
 *
 * A view tile is VIEW_TILE × VIEW_TILE display pixels at a level L: level 0 is true pixels (100 %),
 * level L shows the image at scale 1 / 2^L, so one level-L tile covers VIEW_TILE · 2^L source
 * pixels a side. Tiles at the right and bottom edges are smaller. The renderer picks the level
 * whose scale is the smallest one at or above the zoom (so the browser only ever shrinks a tile)
 * and stretches level-0 tiles without smoothing past 100 %.
 */
export const VIEW_TILE = 512;
/** Levels go up until the whole image fits in one tile. */
export function maxLevel(width: number, height: number): number {
  let l = 0;
  while (Math.max(width, height) > VIEW_TILE * 2 ** l) l++;
  return l;
}

/** The level to request for a zoom factor (display px per image px, already times devicePixelRatio). */
export function levelForZoom(zoom: number, width: number, height: number): number {
  if (!(zoom > 0) || zoom >= 1) return 0;
  return Math.min(maxLevel(width, height), Math.max(0, Math.floor(Math.log2(1 / zoom) + 1e-9)));
}

export interface TileRect {
  /** Source rectangle, in image pixels. */
  x: number; y: number; width: number; height: number;
  /** The tile's own size in display pixels at its level (ceil of the source size / 2^L). */
  outWidth: number; outHeight: number;
}

export function tilesAcross(width: number, height: number, level: number): { cols: number; rows: number } {
  const span = VIEW_TILE * 2 ** level;
  return { cols: Math.ceil(width / span), rows: Math.ceil(height / span) };
}

/** The source rectangle of tile (tx, ty) at `level`; null when it lies outside the image. */
export function tileRect(width: number, height: number, level: number, tx: number, ty: number): TileRect | null {
  const span = VIEW_TILE * 2 ** level;
  const x = tx * span;
  const y = ty * span;
  if (!Number.isInteger(tx) || !Number.isInteger(ty) || tx < 0 || ty < 0 || x >= width || y >= height) return null;
  const w = Math.min(span, width - x);
  const h = Math.min(span, height - y);
  return { x, y, width: w, height: h, outWidth: Math.ceil(w / 2 ** level), outHeight: Math.ceil(h / 2 ** level) };
}

/** Tiles of `level` that intersect a source-pixel rectangle (the visible part of the image), centre first. */
export function tilesFor(width: number, height: number, level: number, view: { x: number; y: number; width: number; height: number }): Array<{ tx: number; ty: number }> {
  const span = VIEW_TILE * 2 ** level;
  const { cols, rows } = tilesAcross(width, height, level);
  const x0 = Math.max(0, Math.floor(view.x / span));
  const y0 = Math.max(0, Math.floor(view.y / span));
  const x1 = Math.min(cols - 1, Math.floor((view.x + view.width - 1) / span));
  const y1 = Math.min(rows - 1, Math.floor((view.y + view.height - 1) / span));
  const out: Array<{ tx: number; ty: number }> = [];
  for (let ty = y0; ty <= y1; ty++) for (let tx = x0; tx <= x1; tx++) out.push({ tx, ty });
  const cx = view.x + view.width / 2;
  const cy = view.y + view.height / 2;
  const d = (t: { tx: number; ty: number }) => Math.hypot((t.tx + 0.5) * span - cx, (t.ty + 0.5) * span - cy);
  return out.sort((a, b) => d(a) - d(b));
}

/**
 * The error heatmap: per pixel, the mean absolute difference over R, G and B between the decoded
 * .sgai and the original, in 8-bit levels, mapped through these colour stops (linear between
 * them, clamped at the last). The legend is drawn from the same table.
 */
export const HEAT_STOPS: ReadonlyArray<{ levels: number; rgb: readonly [number, number, number] }> = [
  { levels: 0, rgb: [0, 0, 0] },
  { levels: 2, rgb: [40, 20, 110] },
  { levels: 6, rgb: [150, 30, 140] },
  { levels: 12, rgb: [230, 80, 60] },
  { levels: 24, rgb: [250, 190, 40] },
  { levels: 48, rgb: [255, 255, 230] },
];

export function heatColour(levels: number): [number, number, number] {
  const s = HEAT_STOPS;
  if (levels <= s[0].levels) return [...s[0].rgb];
  for (let i = 1; i < s.length; i++) {
    if (levels <= s[i].levels) {
      const t = (levels - s[i - 1].levels) / (s[i].levels - s[i - 1].levels);
      return [0, 1, 2].map((c) => Math.round(s[i - 1].rgb[c] + t * (s[i].rgb[c] - s[i - 1].rgb[c]))) as [number, number, number];
    }
  }
  return [...s[s.length - 1].rgb];
}
