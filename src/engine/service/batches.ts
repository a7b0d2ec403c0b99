/**
 * The app's batches: one runs at a time, the others wait in the order they were started. Each
 * is a runBatch over its folder's saved settings with the shared encoder pool; its job events
 * become contract events (job:state, job:progress, batch:state), its rows are kept for views
 * opened mid-run, and its report can be written at any time.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isSgaiError, SgaiError } from '../../core';
import { ApiError, failFrom } from '../../ipc/result';
import type { AppSettings, BatchInfo, JobRow } from '../../ipc/schemas';
import type { BatchEvent, BatchSummary } from '../events';
import { MANIFEST_DIR } from '../manifest';
import { planBatch } from '../plan';
import { ReportBuilder, writeReport } from '../report';
import { PhotoCancel, runBatch } from '../run';
import { BatchProgress, emptyTotals, jobRowOf } from './batch-progress';
import { shortId } from './ids';
import type { Emit, Library } from './library';
import { batchSpecFor, encodeSettingsFor, minSavingsOf, outRootOf } from './output-settings';
import type { SharedPool } from './shared-pool';
import { throttle, type Throttled } from './throttle';

/** batch:state for totals at most this often (state changes go at once). */
const TOTALS_EVENT_MS = 250;

interface Batch {
  id: string;
  folderId: string;
  progress: BatchProgress;
  ctrl: AbortController;
  photoCancel: PhotoCancel;
  rows: JobRow[];
  index: Map<string, number>;
  report?: ReportBuilder;
  totalsEvent: Throttled;
  /** Settles when the batch has finished (whatever its outcome). */
  finished: Promise<void>;
  settle: () => void;
}

const FINAL = new Set<BatchInfo['state']>(['done', 'cancelled', 'failed']);
const notFound = (m: string) => new ApiError({ code: 'NOT_FOUND', message: m });

export interface BatchDeps {
  library: Library;
  settings: () => AppSettings;
  pool: SharedPool;
  emit: Emit;
  /** The folder whose batch runs now, or null (the host resumes it after a crash). */
  onRunning: (folderId: string | null) => void;
  /** The engine's own backend, for --verify's decodes in this process. */
  ensureBackend: () => Promise<unknown>;
  log: (line: string) => void;
}

export class Batches {
  private readonly all: Batch[] = [];
  private readonly waiting: Batch[] = [];
  private running: Batch | undefined;
  private closing = false;

  constructor(private readonly d: BatchDeps) {}

  private find(batchId: string): Batch {
    const b = this.all.find((x) => x.id === batchId);
    if (!b) throw notFound(`no batch with id ${batchId} in this session`);
    return b;
  }

  private emitState(b: Batch): void {
    b.totalsEvent.cancel();
    this.d.emit('batch:state', b.progress.snapshot());
  }

  private setState(b: Batch, state: BatchInfo['state']): void {
    b.progress.info.state = state;
    if (state === 'running') b.progress.run();
    else b.progress.hold();
    this.emitState(b);
  }

  /** Queues the folder's batch (or returns the one already waiting or running for it). */
  start(folderId: string, o: { resumedAfterRestart?: boolean } = {}): BatchInfo {
    if (this.closing) throw new ApiError({ code: 'NOT_AVAILABLE', message: 'the engine is stopping; start the batch again once it is back' });
    const folder = this.d.library.stored(folderId);
    const active = [this.running, ...this.waiting].find((b) => b?.folderId === folderId);
    if (active) return active.progress.snapshot();
    let settle!: () => void;
    const finished = new Promise<void>((r) => (settle = r));
    const info: BatchInfo = {
      batchId: shortId(), folderId, folderPath: folder.path, outRoot: outRootOf(folder.path, folder.output), state: 'queued',
      totals: emptyTotals(), skippedReasons: {}, startedAt: Date.now(), ...(o.resumedAfterRestart ? { resumedAfterRestart: true } : {}),
    };
    const b: Batch = {
      id: info.batchId, folderId, progress: new BatchProgress(info), ctrl: new AbortController(), photoCancel: new PhotoCancel(),
      rows: [], index: new Map(), finished, settle, totalsEvent: throttle(() => this.d.emit('batch:state', b.progress.snapshot()), TOTALS_EVENT_MS),
    };
    this.all.push(b);
    this.waiting.push(b);
    this.emitState(b);
    this.pump();
    return b.progress.snapshot();
  }

  private pump(): void {
    if (this.running || this.closing || this.d.pool.isPaused) return;
    const next = this.waiting.shift();
    if (!next) return;
    this.running = next;
    void this.run(next);
  }

  private async run(b: Batch): Promise<void> {
    const info = b.progress.info;
    info.startedAt = Date.now();
    this.d.onRunning(b.folderId);
    this.setState(b, 'running');
    let summary: BatchSummary | undefined;
    try {
      const folder = this.d.library.stored(b.folderId);
      const signal = b.ctrl.signal;
      const plan = await planBatch(batchSpecFor(folder.path, folder.output, { signal }));
      info.outRoot = plan.outRoot;
      info.totals.total = plan.jobs.length;
      b.rows = plan.jobs.map((j) => ({ id: j.source.rel, state: 'queued' }));
      b.index = new Map(b.rows.map((r, i) => [r.id, i]));
      b.report = new ReportBuilder(plan.outRoot, plan.jobs.map((j) => j.source.rel));
      this.d.library.batchStarting(b.folderId);
      this.emitState(b);
      const { settings } = encodeSettingsFor(folder.output);
      if (folder.output.verify) await this.d.ensureBackend();
      if (signal.aborted) throw new SgaiError('CANCELLED', 'the batch was cancelled');
      const pool = await this.d.pool.forBatch(plan, settings, this.d.settings());
      summary = await runBatch(plan, {
        settings, signal, pool, verify: folder.output.verify, minSavings: minSavingsOf(folder.output), photoCancel: b.photoCancel,
        onEvent: (e) => this.onEvent(b, e, plan.outRoot),
      });
      b.progress.finish(summary);
      info.state = summary.cancelled ? 'cancelled' : 'done';
    } catch (e) {
      if (b.ctrl.signal.aborted || (isSgaiError(e) && e.code === 'CANCELLED')) {
        info.state = 'cancelled';
        b.progress.abandon();
      } else {
        const r = failFrom(e);
        info.state = 'failed';
        info.error = r.ok ? undefined : r.error;
        this.d.log(`batch ${b.id} (${info.folderPath}) failed: ${info.error?.message}`);
      }
    }
    info.finishedAt = Date.now();
    b.progress.hold();
    this.emitState(b);
    this.running = undefined;
    b.settle();
    await this.d.library.refreshStates(b.folderId);
    if (!this.waiting.length || this.closing || this.d.pool.isPaused) this.d.onRunning(null);
    this.pump();
  }

  private onEvent(b: Batch, e: BatchEvent, outRoot: string): void {
    b.report?.onEvent(e);
    if (e.type === 'job:state') {
      const i = b.index.get(e.id);
      const row = jobRowOf(e, i === undefined ? undefined : b.rows[i]);
      if (i !== undefined) b.rows[i] = row;
      b.progress.onJob(e);
      this.d.emit('job:state', { ...row, batchId: b.id });
      this.d.library.onJobState(b.folderId, outRoot, e);
      b.totalsEvent.call();
    } else if (e.type === 'job:progress') {
      const i = b.index.get(e.id);
      if (i !== undefined && b.rows[i].state === 'running') b.rows[i] = { ...b.rows[i], stage: e.stage, done: e.done, total: e.total };
      this.d.emit('job:progress', { batchId: b.id, id: e.id, stage: e.stage, done: e.done, total: e.total });
    }
    // Worker and queue events: the pool's own listener logs them; queue:state is the app's (pause/resume).
  }

  list(): BatchInfo[] {
    return this.all.map((b) => b.progress.snapshot());
  }

  rows(batchId: string, offset: number, limit: number): { total: number; rows: JobRow[] } {
    const b = this.find(batchId);
    return { total: b.rows.length, rows: b.rows.slice(offset, offset + limit) };
  }

  /** No new photo starts (running ones finish), and no waiting batch starts. */
  pause(): { paused: boolean } {
    this.d.pool.pause();
    if (this.running && this.running.progress.info.state === 'running') this.setState(this.running, 'paused');
    this.d.emit('queue:state', { paused: true });
    return { paused: true };
  }

  resume(): { paused: boolean } {
    this.d.pool.resume();
    if (this.running && this.running.progress.info.state === 'paused') this.setState(this.running, 'running');
    this.d.emit('queue:state', { paused: false });
    this.pump();
    return { paused: false };
  }

  /** The whole batch (nothing partial is left), or one photo of it while the rest goes on. */
  cancel(batchId: string, id?: string): { cancelled: boolean } {
    const b = this.find(batchId);
    const info = b.progress.info;
    const i = id === undefined ? undefined : b.index.get(id);
    // Rows exist once the batch is planned; before that, a photo is marked and never starts.
    if (id !== undefined && b.rows.length && i === undefined) throw notFound(`${id} is not a photo of this batch`);
    if (FINAL.has(info.state)) return { cancelled: false };
    if (id !== undefined) {
      if (i !== undefined && !['queued', 'running'].includes(b.rows[i].state)) return { cancelled: false };
      return { cancelled: b.photoCancel.cancel(id) };
    }
    const w = this.waiting.indexOf(b);
    if (w >= 0) {
      this.waiting.splice(w, 1);
      info.state = 'cancelled';
      info.finishedAt = Date.now();
      this.emitState(b);
      b.settle();
      return { cancelled: true };
    }
    if (info.state !== 'cancelling') this.setState(b, 'cancelling');
    b.ctrl.abort();
    return { cancelled: true };
  }

  /** Every batch of a folder that is removed from the library. */
  cancelFolder(folderId: string): void {
    for (const b of [...this.waiting, this.running]) if (b?.folderId === folderId) this.cancel(b.id);
  }

  /** The failed and cancelled photos again: a new batch of the folder (done photos are kept by the manifest). */
  retry(batchId: string): BatchInfo {
    const b = this.find(batchId);
    if (!FINAL.has(b.progress.info.state)) throw new ApiError({ code: 'INVALID_ARGUMENT', message: 'this batch is still running: wait for it to finish (or cancel it) before retrying' });
    return this.start(b.folderId);
  }

  async report(batchId: string, format: 'csv' | 'json'): Promise<{ path: string }> {
    const b = this.find(batchId);
    if (!b.report) throw new ApiError({ code: 'INVALID_ARGUMENT', message: 'this batch has not started yet: there is nothing to report' });
    const path = join(b.progress.info.outRoot, MANIFEST_DIR, `report-${b.id}.${format}`);
    await mkdir(dirname(path), { recursive: true });
    await writeReport(path, b.report.report());
    return { path };
  }

  /** Running and waiting batches are cancelled (nothing partial is left) and the encoder processes end. */
  async shutdown(): Promise<void> {
    this.closing = true;
    for (const b of [...this.waiting, this.running]) if (b) this.cancel(b.id);
    await Promise.all(this.all.map((b) => b.finished));
    await this.d.pool.close();
  }
}
