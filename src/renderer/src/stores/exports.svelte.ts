/**
 * Exports of .sgai files to PNG or JPEG (started from the viewer or the Library's selection): what
 * each one has done so far, from export:start's answer and the export:state events. The event is
 * subscribed to once for the app's life, whichever view starts an export first or shows the card.
 * The progress card may be mounted in more than one place; `host` makes only one of them show.
 */
import type { ExportSettings, ExportState } from '../../../ipc/schemas';
import { api } from '../lib/api';
import { newerState } from '../lib/export-state';
import { toasts } from './toasts.svelte';

export interface ExportEntry {
  state: ExportState;
  /** The folder asked for, when this window started the export. */
  folder?: string;
  cancelAsked: boolean;
}

class ExportsStore {
  /** Newest last. */
  entries = $state<ExportEntry[]>([]);
  private hosts = $state<symbol[]>([]);
  private listening = false;

  /** Subscribes to export:state (once; later calls do nothing). */
  listen(): void {
    if (this.listening || !api.transport) return;
    this.listening = true;
    api.on('export:state', (s) => this.onState(s));
  }

  /** Starts an export; throws (the dialog shows why) when the engine refuses it. */
  async start(files: string[], settings: ExportSettings): Promise<ExportState> {
    this.listen();
    const s = await api.exportStart({ files, settings });
    this.onState(s, settings.folder);
    return s;
  }

  async cancel(exportId: string): Promise<void> {
    const e = this.entries.find((x) => x.state.exportId === exportId);
    if (!e) return;
    e.cancelAsked = true;
    try {
      await api.exportCancel({ exportId });
    } catch (err) {
      e.cancelAsked = false;
      toasts.error(err);
    }
  }

  dismiss(exportId: string): void {
    this.entries = this.entries.filter((e) => e.state.exportId !== exportId);
  }

  onState(s: ExportState, folder?: string): void {
    const e = this.entries.find((x) => x.state.exportId === s.exportId);
    if (!e) {
      this.entries.push({ state: s, folder, cancelAsked: false });
      return;
    }
    e.state = newerState(e.state, s);
    if (folder) e.folder = folder;
  }

  // ---- which mounted card shows (the first one mounted that is still there)

  claim(): symbol {
    const me = Symbol('export-card');
    this.hosts.push(me);
    return me;
  }

  release(me: symbol): void {
    this.hosts = this.hosts.filter((h) => h !== me);
  }

  shows(me: symbol): boolean {
    return this.hosts[0] === me;
  }
}

export const exportRuns = new ExportsStore();
