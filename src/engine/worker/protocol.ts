/**
 * The messages between the engine and an encoder process, as zod schemas. Both sides parse
 * what they receive: a worker that sends something else is treated as broken and replaced,
 * and a worker never acts on a malformed request. Sent with Node's 'advanced' serialization,
 * so the .sgai bytes cross as a Uint8Array, not as JSON numbers.
 */
import { z } from 'zod';
import { METADATA_POLICIES, METHODS, type RefineMethod } from '../../core';

const ErrorInfo = z.object({
  code: z.string(),
  message: z.string(),
  /** True when it was an SgaiError in the worker (its code is an SgaiErrorCode). */
  sgai: z.boolean(),
});
export type ErrorInfo = z.infer<typeof ErrorInfo>;

/** The model as installed: plain data, so each worker loads the weights itself, once. */
const ModelRef = z.object({
  card: z.object({ id: z.string(), N: z.number(), M: z.number() }).passthrough(),
  weightsPath: z.string(),
  dir: z.string(),
});

/** RefineOptions without its callbacks and signal (those stay on each side). */
export const RefineRequest = z.object({
  method: z.enum(METHODS as [RefineMethod, ...RefineMethod[]]).optional(),
  iterations: z.number().optional(),
  learningRate: z.number().optional(),
  lambda: z.number().optional(),
  params: z.object({ a: z.number(), rf: z.number(), n: z.number() }).partial().optional(),
  schedule: z.object({ rate: z.number(), max: z.number(), delay: z.number() }).optional(),
  seed: z.number().optional(),
  timeBudgetS: z.number().optional(),
  evalEvery: z.number().optional(),
});

export const EncodeOptionsRequest = z.object({
  refine: RefineRequest.optional(),
  read: z.object({
    maxPixels: z.number().optional(),
    alpha: z.enum(['refuse', 'flatten']).optional(),
    frames: z.enum(['refuse', 'first']).optional(),
    metadata: z.enum(METADATA_POLICIES).optional(),
  }).optional(),
  tileSize: z.number().optional(),
  preview: z.boolean().optional(),
  /** Also decode the latents and report their PSNR (batch --verify compares the written file with it). */
  measure: z.boolean().optional(),
  /** Reach a size or quality by searching the init's targetModels (core's encodeToTarget) instead. */
  target: z.object({ kind: z.enum(['bpp', 'bytes', 'psnr', 'msssim']), value: z.number() }).optional(),
});
export type EncodeOptionsRequest = z.infer<typeof EncodeOptionsRequest>;

// Parent -> worker.
export const InitMessage = z.object({
  type: z.literal('init'),
  slot: z.number(),
  backend: z.string(),
  model: ModelRef,
  /** The weights the parent keyed its manifest on; a worker that loads others refuses to start. */
  weightsSha256: z.string(),
  heartbeatMs: z.number(),
  /** The models a quality target searches over (each loaded once, at start). */
  targetModels: z.array(ModelRef).optional(),
});
export const EncodeMessage = z.object({
  type: z.literal('encode'),
  /** Unique per attempt, so a late reply from a replaced worker cannot be taken for a new one. */
  requestId: z.string(),
  /** The photo, opened read-only by the worker. */
  source: z.string(),
  /** The job's name in logs (a batch's relative path). */
  label: z.string(),
  /** Folder of the worker log (a batch's manifest folder); none: no log. */
  logDir: z.string().optional(),
  options: EncodeOptionsRequest,
});
export const CancelMessage = z.object({ type: z.literal('cancel'), requestId: z.string() });
export const ToWorker = z.discriminatedUnion('type', [InitMessage, EncodeMessage, CancelMessage]);
export type InitMessage = z.infer<typeof InitMessage>;
export type EncodeMessage = z.infer<typeof EncodeMessage>;
export type ToWorker = z.infer<typeof ToWorker>;

// Worker -> parent.
export const ReadyMessage = z.object({ type: z.literal('ready'), pid: z.number(), backend: z.string() });
export const InitFailedMessage = z.object({ type: z.literal('init-failed'), error: ErrorInfo });
export const HeartbeatMessage = z.object({ type: z.literal('heartbeat') });
export const ProgressMessage = z.object({
  type: z.literal('progress'), requestId: z.string(), stage: z.string(), done: z.number(), total: z.number(),
});
export const EncodeStatsMessage = z.object({
  width: z.number(), height: z.number(), bytes: z.number(), bpp: z.number(), modelId: z.string(),
  /** With `measure` or a target: PSNR of the reference decode against the photo, in dB. */
  psnr: z.number().optional(),
  /** With a target: whether the result meets it (else it is the closest the models reach). */
  targetMet: z.boolean().optional(),
  /** SHA-256 of the bytes the encoder read (recorded in the file): the batch checks it is the photo it hashed. */
  sourceSha256: z.string(),
});
export const ResultMessage = z.object({
  type: z.literal('result'),
  requestId: z.string(),
  bytes: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'the .sgai bytes'),
  stats: EncodeStatsMessage,
  seconds: z.number(),
  /** process.resourceUsage().maxRSS of the worker so far, in kB. */
  maxRssKb: z.number(),
});
export const FailedMessage = z.object({ type: z.literal('failed'), requestId: z.string(), error: ErrorInfo, maxRssKb: z.number() });
export const FromWorker = z.discriminatedUnion('type', [
  ReadyMessage, InitFailedMessage, HeartbeatMessage, ProgressMessage, ResultMessage, FailedMessage,
]);
export type FromWorker = z.infer<typeof FromWorker>;
export type ResultMessage = z.infer<typeof ResultMessage>;
export type EncodeStatsMessage = z.infer<typeof EncodeStatsMessage>;
