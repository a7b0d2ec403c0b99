/**
 * Events the batch engine emits. zod schemas, so the app's engine process can validate what
 * crosses a process boundary and the renderer can take its types from z.infer; the CLI's
 * `--json` prints exactly these objects, one per line.
 */
import { z } from 'zod';

export const JobStateName = z.enum(['queued', 'running', 'done', 'failed', 'skipped', 'cancelled']);
export type JobStateName = z.infer<typeof JobStateName>;

export const JobError = z.object({
  /** An SgaiErrorCode, or UNEXPECTED for a bug. */
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
  seconds: z.number().optional(),
  error: JobError.optional(),
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
  /** Source and output bytes of the photos done (this run and earlier). */
  bytesIn: z.number(),
  bytesOut: z.number(),
  /** Megapixels encoded in this run, and the time it took. */
  megapixels: z.number(),
  seconds: z.number(),
  firstError: JobError.optional(),
});
export type BatchSummary = z.infer<typeof BatchSummary>;

export const BatchEvent = z.discriminatedUnion('type', [JobState, JobProgress, BatchSummary]);
export type BatchEvent = z.infer<typeof BatchEvent>;
export type BatchEventListener = (e: BatchEvent) => void;
