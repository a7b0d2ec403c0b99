/**
 * The library: the folders the photographer added, which one is selected, and their live scan
 * counts. The photo rows themselves are not kept here (a folder can hold 100k): the photo list
 * pages them in from library:photos; `rowsVersion` tells it when they may have changed.
 */
import type { EventPayload } from '../../../ipc/contract';
import type { Estimate, LibraryFolder, OutputSettings, ScanCounts } from '../../../ipc/schemas';
import { api } from '../lib/api';
import { baseName } from '../lib/format';
import { toasts } from './toasts.svelte';
import { ui } from './ui.svelte';

export type ScanLive = EventPayload<'library:scan'>;

export interface ScanView {
  scanning: boolean;
  counts: ScanCounts;
  bytes: number;
  error?: string;
  never: boolean;
}

class LibraryStore {
  folders = $state<LibraryFolder[]>([]);
  loaded = $state(false);
  selectedId = $state<string | null>(null);
  /** Latest library:scan event per folder while a scan runs. */
  live = $state<Record<string, ScanLive>>({});
  /** Bumped per folder when its photos' states may have changed. */
  rowsVersion = $state<Record<string, number>>({});
  adding = $state(false);
  /** The last estimate per folder, with the settings it was made under (to say when it is stale). */
  estimates = $state<Record<string, { value: Estimate; settings: OutputSettings }>>({});

  selected = $derived(this.folders.find((f) => f.id === this.selectedId) ?? null);

  async load(): Promise<void> {
    this.folders = await api.libraryList({});
    this.loaded = true;
    if (!this.selected) this.selectedId = this.folders[0]?.id ?? null;
  }

  scanView(f: LibraryFolder): ScanView {
    const live = this.live[f.id];
    if (live && !live.done) return { scanning: true, counts: live.counts, bytes: live.bytes, never: false };
    // The scan's last event is newer than a record still saying "scanning".
    if (live?.done && f.scan.state === 'scanning') return { scanning: false, counts: live.counts, bytes: live.bytes, error: live.error, never: false };
    return {
      scanning: f.scan.state === 'scanning',
      counts: f.scan.counts,
      bytes: f.scan.bytes,
      error: f.scan.error ?? live?.error,
      never: f.scan.state === 'never',
    };
  }

  /** Photos a batch would take: new, out of date, and those that failed before. */
  todo(f: LibraryFolder): number {
    return (f.states.new ?? 0) + (f.states['out-of-date'] ?? 0) + (f.states.failed ?? 0);
  }

  /** Adds a folder and selects it; throws (the caller shows why, inline or as a toast). */
  async add(path: string): Promise<LibraryFolder> {
    this.adding = true;
    try {
      const f = await api.libraryAdd({ path });
      // A small folder's scan can finish (library:changed) before this answer arrives; the event's record is the newer one.
      if (!this.folders.some((x) => x.id === f.id)) this.upsert(f);
      this.selectedId = f.id;
      ui.view = 'library';
      return f;
    } finally {
      this.adding = false;
    }
  }

  /** Electron: the native folder dialog, then add. In a browser the dialog is not available (the caller shows a path field). */
  async pickAndAdd(): Promise<void> {
    try {
      const { path } = await api.pickFolder({ purpose: 'library' });
      if (path) await this.add(path);
    } catch (e) {
      toasts.error(e);
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await api.libraryRemove({ folderId: id });
      const i = this.folders.findIndex((f) => f.id === id);
      this.folders = this.folders.filter((f) => f.id !== id);
      if (this.selectedId === id) this.selectedId = this.folders[Math.min(i, this.folders.length - 1)]?.id ?? null;
    } catch (e) {
      toasts.error(e);
    }
  }

  /** Saves a folder's output settings; throws so the panel can show why inline. */
  async update(id: string, output: OutputSettings): Promise<LibraryFolder> {
    const f = await api.libraryUpdate({ folderId: id, output });
    this.upsert(f);
    return f;
  }

  async rescan(id: string): Promise<void> {
    try {
      await api.libraryScan({ folderId: id });
    } catch (e) {
      toasts.error(e);
    }
  }

  onScan(ev: ScanLive): void {
    this.live[ev.folderId] = ev;
    if (ev.done) this.bump(ev.folderId);
  }

  onChanged(f: LibraryFolder): void {
    this.upsert(f);
    this.bump(f.id);
  }

  nameOf(f: LibraryFolder): string {
    return baseName(f.path);
  }

  private bump(id: string): void {
    this.rowsVersion[id] = (this.rowsVersion[id] ?? 0) + 1;
  }

  private upsert(f: LibraryFolder): void {
    const i = this.folders.findIndex((x) => x.id === f.id);
    if (i < 0) this.folders.push(f);
    else this.folders[i] = f;
  }
}

export const library = new LibraryStore();
