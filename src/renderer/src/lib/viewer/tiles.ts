/**
 * Which view tiles the viewer asks for, and when. The addressing (levels, tile rectangles, centre
 * first) is src/ipc/viewer-tiles.ts, shared with the engine; this adds what the window needs on
 * top: the tiles one layer needs for a view, and a scheduler that keeps a few requests in flight,
 * forgets queued ones the view moved away from, and keeps a coarser level on screen until the new
 * level has covered the view (so zooming never flashes to grey).
 */
import type { ViewerLayer } from '../../../../ipc/schemas';
import { levelForZoom, tileRect, tilesFor, type TileRect } from '../../../../ipc/viewer-tiles';
import { visibleRect, type Size, type View } from './zoom';

export interface Tile {
  key: string;
  layer: ViewerLayer;
  level: number;
  tx: number;
  ty: number;
  /** Where it goes, in image pixels (and its own size at its level). */
  rect: TileRect;
}

export const tileKey = (layer: ViewerLayer, level: number, tx: number, ty: number) => `${layer}/${level}/${tx}/${ty}`;

/** The level a view needs: device pixels count, so a 2× screen at 50 % asks for full-resolution tiles. */
export function levelFor(view: View, image: Size, devicePixelRatio: number): number {
  return levelForZoom(view.zoom * (devicePixelRatio > 0 ? devicePixelRatio : 1), image.width, image.height);
}

/**
 * The tiles of `layer` the view shows, centre first. `span` limits it to a horizontal stretch of
 * the viewport in CSS pixels (each side of a split shows only its part).
 */
export function wantedTiles(
  layer: ViewerLayer,
  image: Size,
  view: View,
  viewport: Size,
  devicePixelRatio: number,
  span?: { from: number; to: number },
): Tile[] {
  const shown = visibleRect(view, image, viewport);
  if (!shown) return [];
  let { x, width } = shown;
  if (span) {
    const left = Math.max(x, (span.from - view.x) / view.zoom);
    const right = Math.min(x + width, (span.to - view.x) / view.zoom);
    if (!(right > left)) return [];
    x = left;
    width = right - left;
  }
  const level = levelFor(view, image, devicePixelRatio);
  const out: Tile[] = [];
  for (const { tx, ty } of tilesFor(image.width, image.height, level, { x, y: shown.y, width, height: shown.height })) {
    const rect = tileRect(image.width, image.height, level, tx, ty);
    if (rect) out.push({ key: tileKey(layer, level, tx, ty), layer, level, tx, ty, rect });
  }
  return out;
}

export type TileStatus = 'running' | 'loaded' | 'failed';
export interface TileEntry {
  tile: Tile;
  status: TileStatus;
  /** Start order, for dropping the oldest first. */
  seq: number;
}

/**
 * Holds every tile that is loading, loaded or failed, and a queue of the ones wanted next. Pure
 * bookkeeping: the caller starts what `want` and `settle` hand back (an <img> per tile) and
 * reports each end with `settle`. A failed tile is not asked for again until its level was left
 * and pruned, so a broken file does not hammer the engine.
 */
export class TileScheduler {
  private readonly entries = new Map<string, TileEntry>();
  private queue: Tile[] = [];
  private wanted: Tile[] = [];
  private seq = 0;

  constructor(
    /** Requests in flight at once (the engine decodes them; more would only queue there). */
    readonly limit = 4,
    /** Finished tiles kept beyond those the view needs. */
    readonly keep = 48,
  ) {}

  /** The view now needs these, most urgent first. Queued tiles not among them are dropped. Returns the tiles to start now. */
  want(tiles: Tile[]): Tile[] {
    this.wanted = tiles;
    this.queue = tiles.filter((t) => !this.entries.has(t.key));
    this.prune();
    return this.fill();
  }

  /** A tile finished loading (ok) or failed. Returns the tiles to start next. */
  settle(key: string, ok: boolean): Tile[] {
    const e = this.entries.get(key);
    if (e && e.status === 'running') e.status = ok ? 'loaded' : 'failed';
    this.prune();
    return this.fill();
  }

  status(key: string): TileStatus | 'queued' | null {
    const e = this.entries.get(key);
    if (e) return e.status;
    return this.queue.some((t) => t.key === key) ? 'queued' : null;
  }

  list(): TileEntry[] {
    return [...this.entries.values()];
  }

  get running(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.status === 'running') n++;
    return n;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Whether every tile the view needs has finished (loaded or failed). */
  get settled(): boolean {
    return this.wanted.every((t) => {
      const s = this.entries.get(t.key)?.status;
      return s === 'loaded' || s === 'failed';
    });
  }

  private fill(): Tile[] {
    const started: Tile[] = [];
    while (this.running < this.limit && this.queue.length) {
      const t = this.queue.shift()!;
      if (this.entries.has(t.key)) continue;
      this.entries.set(t.key, { tile: t, status: 'running', seq: this.seq++ });
      started.push(t);
    }
    return started;
  }

  /**
   * Drops finished tiles the view can do without: those of a layer no longer shown, those of
   * other levels once the layer's wanted level has covered the view, and beyond `keep`, the oldest
   * unneeded ones. Tiles still loading are never dropped (their answers are on the way).
   */
  private prune(): void {
    const wantedKeys = new Set(this.wanted.map((t) => t.key));
    const levelOf = new Map<ViewerLayer, number>();
    for (const t of this.wanted) if (!levelOf.has(t.layer)) levelOf.set(t.layer, t.level);
    const covered = new Map<ViewerLayer, boolean>();
    for (const t of this.wanted) {
      const s = this.entries.get(t.key)?.status;
      const done = s === 'loaded' || s === 'failed';
      covered.set(t.layer, (covered.get(t.layer) ?? true) && done);
    }
    for (const [key, e] of this.entries) {
      if (e.status === 'running') continue;
      const level = levelOf.get(e.tile.layer);
      if (level === undefined || (e.tile.level !== level && covered.get(e.tile.layer))) this.entries.delete(key);
    }
    const spare = [...this.entries.values()].filter((e) => e.status !== 'running' && !wantedKeys.has(e.tile.key));
    let over = spare.length - this.keep;
    if (over <= 0) return;
    spare.sort((a, b) => a.seq - b.seq);
    for (const e of spare) {
      if (over-- <= 0) break;
      this.entries.delete(e.tile.key);
    }
  }
}

/**
 * Drawing order for one layer: the wanted level last (on top), the others below it, the farthest
 * level first, so a finer old tile never hides a fresh one and coarse ones fill the gaps.
 */
export function paintOrder(entries: TileEntry[], level: number): TileEntry[] {
  return [...entries].sort((a, b) => Math.abs(b.tile.level - level) - Math.abs(a.tile.level - level) || a.seq - b.seq);
}
