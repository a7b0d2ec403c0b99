/**
 * Geometry shared by encoder and decoder: the padded image, the latent sizes and the tile grid.
 * Everything is derived from (width, height, tileSize) in the file header, so both sides agree.
 */
export const PAD_MULTIPLE = 64; // total downsampling of z
export const Y_STRIDE = 16; // y is at 1/16 resolution
/** Extra pixels each side when running g_a on a tile; its receptive field radius is 30 px. */
export const ANALYSIS_HALO_PX = 64;
/** Extra latents each side when running g_s on a tile; its receptive field radius is under 2. */
export const SYNTHESIS_HALO_Y = 4;

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LatentGrid {
  width: number;
  height: number;
  paddedWidth: number;
  paddedHeight: number;
  tileSize: number;
  tilesX: number;
  tilesY: number;
  /** y size */
  yh: number;
  yw: number;
  /** z size */
  zh: number;
  zw: number;
}

export function latentGrid(width: number, height: number, tileSize: number): LatentGrid {
  const paddedWidth = Math.ceil(width / PAD_MULTIPLE) * PAD_MULTIPLE;
  const paddedHeight = Math.ceil(height / PAD_MULTIPLE) * PAD_MULTIPLE;
  return {
    width, height, paddedWidth, paddedHeight, tileSize,
    tilesX: Math.ceil(paddedWidth / tileSize),
    tilesY: Math.ceil(paddedHeight / tileSize),
    yh: paddedHeight / Y_STRIDE, yw: paddedWidth / Y_STRIDE,
    zh: paddedHeight / PAD_MULTIPLE, zw: paddedWidth / PAD_MULTIPLE,
  };
}

/** The region of y (in latent units) that tile t owns. */
export function tileLatentRect(g: LatentGrid, t: number): Rect {
  const ts = g.tileSize / Y_STRIDE;
  const tx = t % g.tilesX;
  const ty = Math.floor(t / g.tilesX);
  const x = tx * ts;
  const y = ty * ts;
  return { x, y, width: Math.min(ts, g.yw - x), height: Math.min(ts, g.yh - y) };
}

/** Tiles whose pixels intersect a region of the (unpadded) image. */
export function tilesForRegion(g: LatentGrid, r: Rect): number[] {
  const out: number[] = [];
  const tx0 = Math.floor(r.x / g.tileSize);
  const ty0 = Math.floor(r.y / g.tileSize);
  const tx1 = Math.floor((r.x + r.width - 1) / g.tileSize);
  const ty1 = Math.floor((r.y + r.height - 1) / g.tileSize);
  for (let ty = ty0; ty <= ty1; ty++) for (let tx = tx0; tx <= tx1; tx++) out.push(ty * g.tilesX + tx);
  return out;
}

/** Tiles whose latents are needed to synthesise the given tiles (their halo reaches neighbours). */
export function tilesWithHalo(g: LatentGrid, tiles: number[]): number[] {
  const set = new Set<number>();
  const ts = g.tileSize / Y_STRIDE;
  for (const t of tiles) {
    const r = tileLatentRect(g, t);
    const tx0 = Math.floor(Math.max(0, r.x - SYNTHESIS_HALO_Y) / ts);
    const tx1 = Math.floor(Math.min(g.yw - 1, r.x + r.width - 1 + SYNTHESIS_HALO_Y) / ts);
    const ty0 = Math.floor(Math.max(0, r.y - SYNTHESIS_HALO_Y) / ts);
    const ty1 = Math.floor(Math.min(g.yh - 1, r.y + r.height - 1 + SYNTHESIS_HALO_Y) / ts);
    for (let ty = ty0; ty <= ty1; ty++) for (let tx = tx0; tx <= tx1; tx++) set.add(ty * g.tilesX + tx);
  }
  return [...set].sort((a, b) => a - b);
}

export function intersect(a: Rect, b: Rect): Rect | null {
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  return x1 > x && y1 > y ? { x, y, width: x1 - x, height: y1 - y } : null;
}
