/**
 * Batches and their photos. BatchInfo (totals, ETA) comes from jobs:list and batch:state; a
 * batch's per-photo rows are paged in by the queue view from jobs:rows, and job:state /
 * job:progress events are laid over them here, each with a sequence number so a page fetched
 * before an event cannot hide it, and one fetched after it wins.
 */
import type { EventPayload } from '../../../ipc/contract';
import { SvelteSet } from 'svelte/reactivity';
import type { BatchInfo, JobRow } from '../../../ipc/schemas';
import { api } from '../lib/api';
import { perFrame } from '../lib/debounce';
import { notifyBatchFinished } from '../lib/notify';
import { settings } from './settings.svelte';
import { toasts } from './toasts.svelte';

export type JobProgress = EventPayload<'job:progress'>;

const ACTIVE: BatchInfo['state'][] = ['queued', 'running', 'paused', 'cancelling'];
export const isActive = (b: BatchInfo) => ACTIVE.includes(b.state);
export const isFinished = (b: BatchInfo) => !isActive(b);
/** Photos a batch is through with, whatever the outcome. */
export const finishedCount = (b: BatchInfo) => b.totals.done + b.totals.skipped + b.totals.failed + b.totals.cancelled;

interface Overlay {
  row: JobRow;
  seq: number;
}

class JobsStore {
  batches = $state<BatchInfo[]>([]);
  paused = $state(false);
  /** Bumped (at most once a frame) when rows or progress changed; the queue view re-reads. */
  rowsTick = $state(0);
  /**
   * Photos whose Cancel was clicked while they wait: the engine drops them only when the queue
   * reaches them (later still while paused), so the row says so until then.
   */
  private cancelAsked = new SvelteSet<string>();

  private seq = 0;
  private overlays = new Map<string, Map<string, Overlay>>();
  private progress = new Map<string, Map<string, JobProgress>>();
  private tick = perFrame(() => this.rowsTick++);

  /** The batch the queue bar shows: the one running (or paused), else the next waiting, else the latest finished. */
  current = $derived.by((): BatchInfo | null => {
    const running = this.batches.find((b) => b.state === 'running' || b.state === 'paused' || b.state === 'cancelling');
    if (running) return running;
    const queued = this.batches.find((b) => b.state === 'queued');
    if (queued) return queued;
    return [...this.batches].sort((a, b) => (b.finishedAt ?? b.startedAt) - (a.finishedAt ?? a.startedAt))[0] ?? null;
  });

  waiting = $derived(this.batches.filter((b) => b.state === 'queued').length);

  async load(): Promise<void> {
    this.batches = await api.jobsList({});
  }

  byId(batchId: string): BatchInfo | null {
    return this.batches.find((b) => b.batchId === batchId) ?? null;
  }

  /** A batch of this folder that has not finished, if any. */
  activeFor(folderId: string): BatchInfo | null {
    return this.batches.find((b) => b.folderId === folderId && isActive(b)) ?? null;
  }

  onBatch(b: BatchInfo): void {
    const i = this.batches.findIndex((x) => x.batchId === b.batchId);
    const before = i >= 0 ? this.batches[i] : null;
    if (i >= 0) this.batches[i] = b;
    else this.batches.push(b);
    if (before && isActive(before) && isFinished(b) && settings.value?.notify && api.transport === 'http') notifyBatchFinished(b);
  }

  onJobState(ev: EventPayload<'job:state'>): void {
    const { batchId, ...row } = ev;
    let rows = this.overlays.get(batchId);
    if (!rows) this.overlays.set(batchId, (rows = new Map()));
    rows.set(row.id, { row, seq: ++this.seq });
    if (row.state !== 'running') this.progress.get(batchId)?.delete(row.id);
    this.tick();
  }

  onJobProgress(ev: JobProgress): void {
    let map = this.progress.get(ev.batchId);
    if (!map) this.progress.set(ev.batchId, (map = new Map()));
    map.set(ev.id, ev);
    this.tick();
  }

  onQueue(paused: boolean): void {
    this.paused = paused;
  }

  /** Fetches a page of a batch's rows; events newer than the request keep precedence over it. */
  async rows(batchId: string, offset: number, limit: number): Promise<{ total: number; rows: JobRow[] }> {
    const asked = this.seq;
    const page = await api.jobsRows({ batchId, offset, limit });
    const overlay = this.overlays.get(batchId);
    if (overlay) for (const r of page.rows) if ((overlay.get(r.id)?.seq ?? Infinity) <= asked) overlay.delete(r.id);
    return page;
  }

  /** A row as it is now: the page's copy, or a newer one from an event. */
  rowNow(batchId: string, row: JobRow): JobRow {
    return this.overlays.get(batchId)?.get(row.id)?.row ?? row;
  }

  progressOf(batchId: string, id: string): JobProgress | null {
    return this.progress.get(batchId)?.get(id) ?? null;
  }

  async start(folderId: string): Promise<BatchInfo | null> {
    try {
      const b = await api.jobsStart({ folderId });
      this.onBatch(b);
      return b;
    } catch (e) {
      toasts.error(e);
      return null;
    }
  }

  async togglePause(): Promise<void> {
    try {
      const r = this.paused ? await api.jobsResume({}) : await api.jobsPause({});
      this.paused = r.paused;
    } catch (e) {
      toasts.error(e);
    }
  }

  cancelRequested(batchId: string, id: string): boolean {
    return this.cancelAsked.has(`${batchId}\n${id}`);
  }

  async cancel(batchId: string, id?: string): Promise<void> {
    try {
      const r = await api.jobsCancel(id === undefined ? { batchId } : { batchId, id });
      if (id !== undefined && r.cancelled) this.cancelAsked.add(`${batchId}\n${id}`);
    } catch (e) {
      toasts.error(e);
    }
  }

  async retry(batchId: string): Promise<BatchInfo | null> {
    try {
      const b = await api.jobsRetry({ batchId });
      this.onBatch(b);
      return b;
    } catch (e) {
      toasts.error(e);
      return null;
    }
  }
}

export const jobs = new JobsStore();
