/**
 * The encoder pool: N encoder processes, each with its backend and model loaded once, fed from
 * one priority queue with two lanes. Interactive requests (the app's viewer) go before batch
 * requests that are still waiting; nothing running is interrupted for them.
 *
 * - pause(): no new photo starts. Photos already encoding finish and are delivered as usual
 *   (their results are written); a pause therefore takes effect within one photo's time.
 * - a request's signal cancels it: still waiting, it is dropped; encoding, the worker stops at
 *   its next checkpoint (or is killed after `cancelGraceMs`). Workers write no files, so a
 *   cancelled request leaves nothing behind.
 * - a worker that dies or goes silent is replaced and its photo retried once; a second loss on
 *   the same photo rejects it with ENCODER_CRASHED, and the pool goes on with the next photos.
 */
import PQueue from 'p-queue';
import { isSgaiError, type LoadedModel, SgaiError } from '../core';
import type { EngineEvent, EngineEventListener } from './events';
import { type WorkerEntry, workerEntry } from './worker/entry-path';
import { describeLoss, type EncodeJob, WorkerHost, WorkerLostError } from './worker/host';
import type { EncodeOptionsRequest, EncodeStatsMessage } from './worker/protocol';

export type Lane = 'interactive' | 'batch';
const PRIORITY: Record<Lane, number> = { interactive: 1, batch: 0 };

export interface EncodeRequest {
  /** The photo (absolute path); the worker opens it read-only. */
  source: string;
  /** Its name in events and worker logs (a batch's relative path). */
  label: string;
  /** Folder of the worker logs (a batch's manifest folder). */
  logDir?: string;
  options: EncodeOptionsRequest;
}

export interface EncodedPhoto {
  bytes: Uint8Array;
  stats: EncodeStatsMessage;
  /** Encode time in the worker. */
  seconds: number;
}

export interface WorkerSlot {
  slot: number;
  pid?: number;
  state: 'stopped' | 'starting' | 'idle' | 'busy';
  /** Label of the photo it is encoding. */
  job?: string;
  /** Highest peak RSS reported by this slot's processes, in kB. */
  peakRssKb: number;
}

export interface SubmitOptions {
  lane?: Lane;
  signal?: AbortSignal;
  /** Called when a worker takes the request (after the queue, before the encode). */
  onStart?: (worker: { slot: number; pid: number }) => void;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface PoolOptions {
  /** Encoder processes (at least 1); see chooseWorkers() for the automatic number. */
  workers: number;
  model: LoadedModel;
  /** The backend each worker initialises (default 'auto', as the CLI). */
  backend?: string;
  /** A busy worker silent this long is killed and replaced (default 180 s: a big tile on a slow CPU takes seconds). */
  hangTimeoutMs?: number;
  /** A cancelled photo that has not stopped after this long is killed (default 10 s). */
  cancelGraceMs?: number;
  /** The models a quality target searches over (EncodeOptionsRequest.target). */
  targetModels?: LoadedModel[];
  /** The worker module (a packaged app's built entry); default: see worker/entry-path.ts. */
  entry?: string;
  onEvent?: EngineEventListener;
}

/** The error a photo gets when its worker was lost on both tries. */
function crashedTwice(first: WorkerLostError, second: WorkerLostError): SgaiError {
  const a = describeLoss(first.reason);
  const b = describeLoss(second.reason);
  const what = a === b ? `${a} twice on this photo` : `${a}, then ${b}, on this photo`;
  return new SgaiError('ENCODER_CRASHED', `the encoder process ${what}; the other photos go on. If many photos do this, the computer may be short of memory: try fewer workers (--workers 1)`);
}

/** The last thing a process wrote on stderr (its dying words, for reports), if any. */
const lastLine = (tail: string) => tail.trim().split('\n').pop()?.slice(0, 300) || undefined;

function couldNotStart(e: WorkerLostError): SgaiError {
  const last = lastLine(e.stderrTail);
  return new SgaiError('ENCODER_CRASHED', `the encoder process could not start: it ${describeLoss(e.reason)}${last ? ` (${last})` : ''}`);
}

export class EncoderPool {
  readonly size: number;
  private readonly queue: PQueue;
  private readonly hosts: WorkerHost[];
  private readonly busy = new Set<WorkerHost>();
  private readonly listeners = new Set<EngineEventListener>();
  private readonly closing = new AbortController();
  /** A worker could not initialise (no backend, bad weights): every request fails with this. */
  private broken: Error | undefined;

  constructor(private readonly opts: PoolOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new SgaiError('INVALID_ARGUMENT', `the pool needs at least one worker (got ${opts.workers})`);
    this.size = opts.workers;
    if (opts.onEvent) this.listeners.add(opts.onEvent);
    this.queue = new PQueue({ concurrency: this.size });
    const hangTimeoutMs = opts.hangTimeoutMs ?? 180_000;
    const entry: WorkerEntry = workerEntry(opts.entry);
    const { card, weightsPath, dir } = opts.model;
    this.hosts = Array.from({ length: this.size }, (_, slot) => new WorkerHost({
      slot, entry, hangTimeoutMs, cancelGraceMs: opts.cancelGraceMs ?? 10_000,
      forwardStderr: !!process.env.SGAI_DEBUG,
      init: {
        backend: opts.backend ?? 'auto', model: { card, weightsPath, dir }, weightsSha256: opts.model.weights.sha256,
        heartbeatMs: Math.max(50, Math.min(1000, hangTimeoutMs / 5)),
        targetModels: opts.targetModels?.map((m) => ({ card: m.card, weightsPath: m.weightsPath, dir: m.dir })),
      },
      onReady: (pid, backend) => this.emit({ type: 'worker:ready', worker: slot, pid, backend }),
      onIdleExit: (reason, pid) => this.emit({ type: 'worker:lost', worker: slot, pid, reason: describeLoss(reason), willRetry: false }),
    }));
  }

  /** Why no worker can start (no usable backend, weights changed): every request fails with it. */
  get failure(): Error | undefined {
    return this.broken;
  }

  /** The weights every worker encodes with (a batch checks it matches its settings). */
  get weightsSha256(): string {
    return this.opts.model.weights.sha256;
  }

  /** Adds a listener for worker and queue events; returns its removal. */
  on(listener: EngineEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: EngineEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Encodes a photo on the next free worker; interactive requests go before waiting batch ones. */
  async submit(req: EncodeRequest, o: SubmitOptions = {}): Promise<EncodedPhoto> {
    if (this.broken) throw this.broken;
    // The caller's cancel or the pool closing. (Listeners rather than AbortSignal.any, whose
    // dependents of the pool-long signal Node 20 keeps for thousands of requests.)
    const cancel = new AbortController();
    const sources = [o.signal, this.closing.signal].filter((s): s is AbortSignal => !!s);
    const onCancel = () => cancel.abort();
    for (const s of sources) s.addEventListener('abort', onCancel, { once: true });
    if (sources.some((s) => s.aborted)) onCancel();
    // p-queue would also abandon a *running* task on abort; ours must wait for the worker to
    // stop, so the queue only sees a signal that fires while the request is still waiting.
    const whileQueued = new AbortController();
    const dropFromQueue = () => whileQueued.abort();
    cancel.signal.addEventListener('abort', dropFromQueue, { once: true });
    if (cancel.signal.aborted) dropFromQueue();
    try {
      return await this.queue.add(() => {
        cancel.signal.removeEventListener('abort', dropFromQueue);
        return this.runOnFreeWorker(req, o, cancel.signal);
      }, { priority: PRIORITY[o.lane ?? 'batch'], signal: whileQueued.signal });
    } catch (e) {
      if (cancel.signal.aborted && !isSgaiError(e)) throw this.cancelled(req);
      throw e;
    } finally {
      for (const s of sources) s.removeEventListener('abort', onCancel);
    }
  }

  private cancelled(req: EncodeRequest): SgaiError {
    return new SgaiError('CANCELLED', this.closing.signal.aborted ? `the engine stopped before ${req.label} was done` : `cancelled: ${req.label}`);
  }

  private async runOnFreeWorker(req: EncodeRequest, o: SubmitOptions, signal: AbortSignal): Promise<EncodedPhoto> {
    if (this.broken) throw this.broken;
    // The queue runs at most `size` requests, so a free worker exists.
    const host = this.hosts.find((h) => !this.busy.has(h))!;
    this.busy.add(host);
    const job: EncodeJob = { source: req.source, label: req.label, logDir: req.logDir, options: req.options };
    let firstLoss: WorkerLostError | undefined;
    let startLoss: WorkerLostError | undefined;
    try {
      for (;;) {
        if (signal.aborted) throw this.cancelled(req);
        try {
          await host.start();
        } catch (e) {
          if (!(e instanceof WorkerLostError)) throw this.breakPool(e);
          // A process that dies before it is ready never saw the photo: that is not the photo's fault.
          if (startLoss) throw this.breakPool(couldNotStart(e));
          startLoss = e;
          continue;
        }
        if (!firstLoss) o.onStart?.({ slot: host.slot, pid: host.pid! });
        try {
          const r = await host.encode(job, { signal, onProgress: o.onProgress });
          return { bytes: r.bytes, stats: r.stats, seconds: r.seconds };
        } catch (e) {
          if (!(e instanceof WorkerLostError)) throw e;
          const willRetry = !firstLoss && !signal.aborted;
          this.emit({ type: 'worker:lost', worker: host.slot, pid: e.pid, reason: describeLoss(e.reason), id: req.label, willRetry, detail: lastLine(e.stderrTail) });
          if (signal.aborted) throw this.cancelled(req);
          if (firstLoss) throw crashedTwice(firstLoss, e);
          firstLoss = e;
        }
      }
    } finally {
      this.busy.delete(host);
    }
  }

  private breakPool(e: unknown): Error {
    this.broken ??= e instanceof Error ? e : new Error(String(e));
    return this.broken;
  }

  /** No new photo starts until resume(); photos already encoding finish. */
  pause(): void {
    if (this.queue.isPaused) return;
    this.queue.pause();
    this.emit({ type: 'queue:state', paused: true });
  }

  resume(): void {
    if (!this.queue.isPaused) return;
    this.queue.start();
    this.emit({ type: 'queue:state', paused: false });
  }

  get paused(): boolean {
    return this.queue.isPaused;
  }

  /** Requests waiting for a worker. */
  get waiting(): number {
    return this.queue.size;
  }

  /** Starts every worker now rather than at first use (benchmarks; an app warming up). */
  async warmUp(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.start()));
  }

  workers(): WorkerSlot[] {
    return this.hosts.map((h) => ({ slot: h.slot, pid: h.pid, state: h.state, job: h.job, peakRssKb: h.peakRssKb }));
  }

  /** Cancels what waits or runs and ends every worker process. */
  async close(): Promise<void> {
    this.closing.abort();
    await this.queue.onIdle();
    await Promise.all(this.hosts.map((h) => h.close()));
  }
}
