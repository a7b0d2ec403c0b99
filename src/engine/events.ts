/**
 * Events the batch engine emits. zod schemas, so the app's engine process can validate what
 * crosses a process boundary and the renderer can take its types from z.infer; the CLI's
 * `--json` prints exactly these objects, one per line.
 */
import { z } from 'zod';

export const JobStateName = z.enum(['queued', 'running', 'done', 'failed', 'skipped', 'cancelled']);
export type JobStateName = z.infer<typeof JobStateName>;

export const JobError = z.object({
  /** An SgaiErrorCode (ENCODER_CRASHED: the photo's encoder process died or hung twice), or UNEXPECTED for a bug. */
  code: z.string(),
  message: z.string(),
});
export type JobError = z.infer<typeof JobError>;

export const JobState = z.object({
  type: z.literal('job:state'),
  /** Relative source path: the job's id within the batch. */
  id: z.string(),
  /** Absolute output path ('' when the job writes nothing). */
  output: z.string(),
  state: JobStateName,
  /** Done in an earlier run (nothing encoded this time). */
  resumed: z.boolean().optional(),
  /** Why a job was skipped, in words. */
  reason: z.string().optional(),
  bytesIn: z.number().optional(),
  bytesOut: z.number().optional(),
  megapixels: z.number().optional(),
  bpp: z.number().optional(),
  /** PSNR of the written file against the source, in dB (batch --verify). */
  psnr: z.number().optional(),
  seconds: z.number().optional(),
  error: JobError.optional(),
  /** The encoder process slot that took the photo (state running; absent when encoding in-process). */
  worker: z.number().optional(),
});
export type JobState = z.infer<typeof JobState>;

export const JobProgress = z.object({
  type: z.literal('job:progress'),
  id: z.string(),
  stage: z.string(),
  done: z.number(),
  total: z.number(),
});
export type JobProgress = z.infer<typeof JobProgress>;

export const BatchSummary = z.object({
  type: z.literal('batch:done'),
  total: z.number(),
  done: z.number(),
  /** Of `done`: finished in an earlier run. */
  resumed: z.number(),
  /** Photos encoded in this run. */
  encoded: z.number(),
  skipped: z.number(),
  failed: z.number(),
  cancelled: z.boolean(),
  /** Photos cancelled one by one (the app's per-photo cancel) while the batch went on. */
  cancelledPhotos: z.number().optional(),
  /** Source and output bytes of the photos done (this run and earlier). */
  bytesIn: z.number(),
  bytesOut: z.number(),
  /** Megapixels encoded in this run, and the time it took. */
  megapixels: z.number(),
  seconds: z.number(),
  firstError: JobError.optional(),
  /** Encoder processes used (0: encoded in the batch's own process). */
  workers: z.number().optional(),
});
export type BatchSummary = z.infer<typeof BatchSummary>;

/** An encoder process is up, with its backend and model loaded (again, after a restart). */
export const WorkerReady = z.object({
  type: z.literal('worker:ready'),
  worker: z.number(),
  pid: z.number(),
  /** The backend it runs, in words (e.g. "wasm"). */
  backend: z.string(),
});
export type WorkerReady = z.infer<typeof WorkerReady>;

/** An encoder process died or stopped responding; it is started again when next needed. */
export const WorkerLost = z.object({
  type: z.literal('worker:lost'),
  worker: z.number(),
  pid: z.number().optional(),
  /** In words: "stopped unexpectedly (signal SIGKILL)", "stopped responding (nothing heard for 180 s)". */
  reason: z.string(),
  /** The photo it was encoding, if any. */
  id: z.string().optional(),
  /** The photo is tried once more (on a fresh process); false: it is recorded failed. */
  willRetry: z.boolean(),
  /** The last line the process wrote on stderr, if any (for a bug report). */
  detail: z.string().optional(),
});
export type WorkerLost = z.infer<typeof WorkerLost>;

/** The queue was paused (no new photo starts; running ones finish) or resumed. */
export const QueueState = z.object({ type: z.literal('queue:state'), paused: z.boolean() });
export type QueueState = z.infer<typeof QueueState>;

/** What the encoder pool reports, whichever batch or viewer request it is serving. */
export const EngineEvent = z.discriminatedUnion('type', [WorkerReady, WorkerLost, QueueState]);
export type EngineEvent = z.infer<typeof EngineEvent>;
export type EngineEventListener = (e: EngineEvent) => void;

export const BatchEvent = z.discriminatedUnion('type', [JobState, JobProgress, BatchSummary, WorkerReady, WorkerLost, QueueState]);
export type BatchEvent = z.infer<typeof BatchEvent>;
export type BatchEventListener = (e: BatchEvent) => void;
