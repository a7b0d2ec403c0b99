/**
 * The Library's selection for export, for the folder shown: either rows ticked one by one (their
 * .sgai paths are known from the rows), or "all done" minus the rows unticked since (the paths are
 * collected from library:photos when Export… is pressed, since most of them were never loaded).
 */
import { SvelteMap, SvelteSet } from 'svelte/reactivity';
import type { PhotoRow } from '../../../ipc/schemas';
import { api } from '../lib/api';
import { collectDone, EXPORT_CAP, exportable, type Collected } from '../lib/export-selection';

class ExportSelection {
  folderId = $state<string | null>(null);
  /** "Select all done" is on: every exportable row is in, but those in `excluded`. */
  allDone = $state(false);
  /** Rows ticked one by one (rel → .sgai path). */
  readonly picked = new SvelteMap<string, string>();
  readonly excluded = new SvelteSet<string>();
  /** While the files behind "all done" are being listed. */
  collecting = $state<{ found: number; want: number } | null>(null);
  private generation = 0;

  /** The list now shows this folder: a selection never carries over to another one. */
  forFolder(id: string | null): void {
    if (id === this.folderId) return;
    this.clear();
    this.folderId = id;
  }

  clear(): void {
    this.generation++;
    this.allDone = false;
    this.picked.clear();
    this.excluded.clear();
    this.collecting = null;
  }

  has(row: PhotoRow): boolean {
    if (!exportable(row)) return false;
    return this.allDone ? !this.excluded.has(row.rel) : this.picked.has(row.rel);
  }

  toggle(row: PhotoRow): void {
    if (!exportable(row)) return;
    if (this.allDone) {
      if (this.excluded.has(row.rel)) this.excluded.delete(row.rel);
      else this.excluded.add(row.rel);
    } else if (this.picked.has(row.rel)) this.picked.delete(row.rel);
    else this.picked.set(row.rel, row.outputPath);
  }

  selectAllDone(): void {
    this.picked.clear();
    this.excluded.clear();
    this.allDone = true;
  }

  /** How many are selected, given the folder's count of done photos. */
  count(done: number): number {
    return this.allDone ? Math.max(0, done - this.excluded.size) : this.picked.size;
  }

  /**
   * The .sgai paths selected, collected page by page for "all done"; null when the selection
   * changed meanwhile (another folder, Clear); throws when the list cannot be read.
   */
  async files(folderId: string, done: number): Promise<Collected | null> {
    if (!this.allDone) {
      const all = [...this.picked.values()];
      return { files: all.slice(0, EXPORT_CAP), all: all.length, capped: all.length > EXPORT_CAP };
    }
    const generation = ++this.generation;
    const excluded = new Set(this.excluded);
    this.collecting = { found: 0, want: Math.min(EXPORT_CAP, this.count(done)) };
    try {
      const got = await collectDone((offset, limit) => api.libraryPhotos({ folderId, offset, limit, filter: 'done' }), {
        excluded,
        stopped: () => generation !== this.generation,
        onProgress: (found, _scanned, total) => {
          if (generation === this.generation) this.collecting = { found, want: Math.min(EXPORT_CAP, Math.max(0, total - excluded.size)) };
        },
      });
      return generation === this.generation ? got : null;
    } finally {
      if (generation === this.generation) this.collecting = null;
    }
  }
}

export const selection = new ExportSelection();
