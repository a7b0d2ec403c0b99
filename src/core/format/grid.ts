import { SgaiError } from '../errors';
import type { SgaiHeader, TileGrid } from './types';

/** The codec works on images padded to a multiple of 64 (the total downsampling of z). */
export const PAD_MULTIPLE = 64;

/**
 * Tile grid implied by the header; it is derived, never stored, so the two cannot disagree.
 * paddedW = ceil(width/64)*64, tilesX = ceil(paddedW/tileSize), and likewise for height.
 */
export function tileGrid(h: Pick<SgaiHeader, 'width' | 'height' | 'tileSize'>): TileGrid {
  for (const k of ['width', 'height', 'tileSize'] as const) {
    const v = h[k];
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new SgaiError('INVALID_ARGUMENT', `tile grid needs a positive whole-number ${k} (got ${String(v)})`);
    }
  }
  const paddedWidth = Math.ceil(h.width / PAD_MULTIPLE) * PAD_MULTIPLE;
  const paddedHeight = Math.ceil(h.height / PAD_MULTIPLE) * PAD_MULTIPLE;
  return {
    tilesX: Math.ceil(paddedWidth / h.tileSize),
    tilesY: Math.ceil(paddedHeight / h.tileSize),
    paddedWidth,
    paddedHeight,
  };
}
