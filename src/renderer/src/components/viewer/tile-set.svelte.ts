/**
 * The tile scheduler (lib/viewer/tiles.ts) made reactive for one open file: the canvas tells it
 * what the view needs, each tile <img> reports its end, and the layers re-read their tiles.
 */
import type { ViewerLayer } from '../../../../ipc/schemas';
import { TileScheduler, type Tile, type TileEntry } from '../../lib/viewer/tiles';

export class TileSet {
  #version = $state(0);
  readonly #scheduler: TileScheduler;

  constructor(limit = 4) {
    this.#scheduler = new TileScheduler(limit);
  }

  want(tiles: Tile[]): void {
    this.#scheduler.want(tiles);
    this.#version++;
  }

  settle(key: string, ok: boolean): void {
    this.#scheduler.settle(key, ok);
    this.#version++;
  }

  /** The layer's tiles now: fresh objects, so a changed status re-renders its <img>. */
  entries(layer: ViewerLayer): TileEntry[] {
    void this.#version;
    return this.#scheduler.list().filter((e) => e.tile.layer === layer).map((e) => ({ ...e }));
  }

  /** Some tile the view needs is still on its way. */
  get busy(): boolean {
    void this.#version;
    return !this.#scheduler.settled;
  }
}
