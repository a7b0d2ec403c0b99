/**
 * The batch runner: every planned photo goes through the per-job steps of job.ts, encoded either
 * in this process (one at a time; workers: 0, the default here) or by encoder processes (the
 * pool: one photo per worker at a time; `sgai batch` uses them by default). This process alone
 * writes the outputs and the manifest, whoever encodes. One photo's failure is recorded and the
 * batch goes on; a cancel stops what runs (nothing partial is left) and starts nothing new.
 */
import { dirname } from 'node:path';
import PQueue from 'p-queue';
import { type LoadedModel, type QualityTarget, type ReadOptions, type RefineOptions, SgaiError } from '../core';
import { inProcessEncoder, type PhotoEncoder, poolEncoder } from './encoders';
import type { BatchEvent, BatchEventListener, BatchSummary } from './events';
import { type BatchRun, copyPathFor, runJob } from './job';
import { ManifestWriter, replay, settingsHash } from './manifest';
import type { BatchPlan } from './plan';
import { EncoderPool } from './pool';
import type { RefineEffort } from './presets';
import { acquireBatchLock } from './lock';
import { chooseWorkers } from './sizing';
import { removeStrayTempFiles } from './temp-files';

export { copyPathFor } from './job';

export interface EncodeSettings {
  model: LoadedModel;
  /** Fixed refinement for every photo (the CLI's --refine). Takes precedence over `effort`. */
  refine?: RefineOptions;
  /** A preset's effort: a time budget per megapixel. */
  effort?: RefineEffort;
  read?: ReadOptions;
  tileSize?: number;
  preview?: boolean;
  /** The preset's id, if one was used (part of the settings hash). */
  preset?: string;
  /** Reach a file size or quality per photo instead of using `model` alone: searched over `targetModels`. */
  target?: QualityTarget;
  targetModels?: LoadedModel[];
}

export interface MinSavings {
  /** The .sgai must be at least this many percent smaller than the source. */
  percent: number;
  /** skip (default): record why and write nothing; copy: put a copy of the original in the output tree. */
  action?: 'skip' | 'copy';
}

/**
 * Cancels single photos of a batch while the rest goes on (the app's per-photo cancel): a photo
 * not started yet never starts; one being encoded stops at its next checkpoint and leaves nothing
 * (its 'started' manifest line makes a re-run do it). Only photos in flight hold a controller, so
 * a 100k-photo batch costs nothing until someone cancels.
 */
export class PhotoCancel {
  private readonly cancelled = new Set<string>();
  private readonly live = new Map<string, AbortController>();

  /** Cancels the photo with this id (its relative source path); true when it had not finished yet as far as this run knows. */
  cancel(id: string): boolean {
    const fresh = !this.cancelled.has(id);
    this.cancelled.add(id);
    this.live.get(id)?.abort();
    return fresh;
  }

  isCancelled(id: string): boolean {
    return this.cancelled.has(id);
  }

  /**
   * A signal for one photo in flight: aborted by cancel(id) or by the batch's own signal.
   * release() when the photo is finished.
   */
  track(id: string, batch?: AbortSignal): { signal: AbortSignal; release: () => void } {
    const ctrl = new AbortController();
    this.live.set(id, ctrl);
    const onBatch = () => ctrl.abort();
    batch?.addEventListener('abort', onBatch, { once: true });
    if (batch?.aborted || this.cancelled.has(id)) ctrl.abort();
    return {
      signal: ctrl.signal,
      release: () => {
        batch?.removeEventListener('abort', onBatch);
        if (this.live.get(id) === ctrl) this.live.delete(id);
      },
    };
  }
}

export interface RunOptions {
  settings: EncodeSettings;
  signal?: AbortSignal;
  /** Cancel single photos while the batch goes on (see PhotoCancel). */
  photoCancel?: PhotoCancel;
  onEvent?: BatchEventListener;
  minSavings?: MinSavings;
  /**
   * Encoder processes: 0 (default) encodes in this process, one photo at a time; a number; or
   * 'auto': one per core within the memory the largest photo needs (chooseWorkers).
   */
  workers?: number | 'auto';
  /** Encode with this pool (the app's, shared with its viewer); it is neither started nor closed here. */
  pool?: EncoderPool;
  /** For workers started here: the backend each one initialises (default 'auto'). */
  backend?: string;
  /** For workers started here: see PoolOptions.hangTimeoutMs. */
  hangTimeoutMs?: number;
  /**
   * Decode every written file before it is put in place and check its PSNR against the
   * encode's (verify.ts). The decode runs in this process: its backend must be initialised.
   */
  verify?: boolean;
}

/** What decides whether an earlier result still stands: the model, its weights, and every encode option. */
export function settingsKey(s: EncodeSettings): string {
  const { method, iterations, lambda, learningRate, seed, timeBudgetS, schedule, params, evalEvery } = s.refine ?? {};
  return settingsHash({
    modelId: s.model.card.id,
    weightsSha256: s.model.weights.sha256,
    refine: s.refine ? { method, iterations, lambda, learningRate, seed, timeBudgetS, schedule, params, evalEvery } : null,
    effort: s.refine ? null : (s.effort ?? null),
    target: s.target ? { ...s.target, models: (s.targetModels ?? []).map((m) => [m.card.id, m.weights.sha256]) } : null,
    preset: s.preset ?? null,
    tileSize: s.tileSize ?? null,
    // 'all' is the default: spelled out or left out, it is the same setting (the app spells it out, the CLI does not).
    read: s.read ? { ...s.read, metadata: s.read.metadata === 'all' ? undefined : s.read.metadata } : null,
    preview: s.preview ?? true,
  });
}

function refuseCopyOverOriginals(plan: BatchPlan, minSavings?: MinSavings): void {
  if (minSavings?.action === 'copy' && plan.jobs.some((j) => j.output.startsWith(dirname(j.source.abs)) && copyPathFor(j) === j.source.abs)) {
    throw new SgaiError('INVALID_ARGUMENT', 'copying originals is only possible into a separate output folder');
  }
}

async function openBatch(plan: BatchPlan, opts: RunOptions): Promise<BatchRun> {
  const latest = replay(plan.manifest.records);
  await removeStrayTempFiles(plan.outRoot, plan.shard ? plan.jobs.flatMap((j) => [j.output, copyPathFor(j)]) : undefined);
  return {
    plan,
    settings: opts.settings,
    key: settingsKey(opts.settings),
    latest,
    doneByHash: new Map([...latest.values()].filter((r) => r.state === 'done').map((r) => [r.sha256, r])),
    manifest: new ManifestWriter(plan.outRoot),
    minSavings: opts.minSavings,
    signal: opts.signal,
    photoCancel: opts.photoCancel,
    verify: opts.verify,
    emit: (e: BatchEvent) => opts.onEvent?.(e),
    stopped: false,
    turn: Promise.resolve(),
    sum: {
      type: 'batch:done', total: plan.jobs.length, done: 0, resumed: 0, encoded: 0, skipped: 0, failed: 0, cancelled: false,
      bytesIn: 0, bytesOut: 0, megapixels: 0, seconds: 0,
    },
  };
}

/** This process, a pool handed in, or a pool of our own (started lazily: a resumed batch spawns nothing). */
async function openEncoder(plan: BatchPlan, opts: RunOptions, onEvent: (e: BatchEvent) => void): Promise<PhotoEncoder> {
  const { settings } = opts;
  if (opts.pool) {
    if (opts.pool.weightsSha256 !== settings.model.weights.sha256) {
      throw new SgaiError('INVALID_ARGUMENT', `the encoder pool runs another model than this batch asks for (${settings.model.card.id})`);
    }
    return poolEncoder(opts.pool, { owns: false, onEvent });
  }
  const n = opts.workers === 'auto' ? (await chooseWorkers(plan, { maxPixels: settings.read?.maxPixels })).workers : (opts.workers ?? 0);
  if (n === 0) return inProcessEncoder(settings.model, settings.targetModels);
  const pool = new EncoderPool({
    workers: n, model: settings.model, backend: opts.backend, hangTimeoutMs: opts.hangTimeoutMs, targetModels: settings.targetModels,
  });
  return poolEncoder(pool, { owns: true, onEvent });
}

/** Runs every job, up to the encoder's concurrency at once (plus one read ahead for a pool). */
async function runJobs(b: BatchRun, encoder: PhotoEncoder): Promise<void> {
  // A job reads and hashes its photo before it waits for a worker, so one extra keeps workers fed.
  const jobs = new PQueue({ concurrency: encoder.workers ? encoder.concurrency + 1 : 1 });
  for (const job of b.plan.jobs) void jobs.add(() => runJob(b, encoder, job));
  await jobs.onIdle();
}

export async function runBatch(plan: BatchPlan, opts: RunOptions): Promise<BatchSummary> {
  refuseCopyOverOriginals(plan, opts.minSavings);
  const t0 = performance.now();
  // Before anything is removed or written: another run on this folder (or shard) may be live.
  const lock = await acquireBatchLock(plan.outRoot, plan.shard);
  try {
    const b = await openBatch(plan, opts);
    const encoder = await openEncoder(plan, opts, b.emit);
    try {
      await runJobs(b, encoder);
    } finally {
      await encoder.close();
    }
    return finish(b, encoder, t0);
  } finally {
    await lock.release();
  }
}

function finish(b: BatchRun, encoder: PhotoEncoder, t0: number): BatchSummary {
  if (b.fatal) throw b.fatal;
  b.sum.workers = encoder.workers;
  b.sum.seconds = (performance.now() - t0) / 1000;
  b.emit(b.sum);
  return b.sum;
}
