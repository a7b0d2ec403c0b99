/**
 * One photo of a batch, step by step: read and hash the original, skip it if the manifest
 * proves it done, claim it in the manifest, have it encoded (here or in a worker), then write
 * the .sgai through the safe writer (or apply min-savings) and record the result. Every step
 * that writes runs in the batch process: it is the single writer of outputs and the manifest.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import sharp from 'sharp';
import { decodeSgai, describeTarget, isSgaiError, preflightOutput, type RefineOptions, SgaiError, verifySgai, writeFileSafely } from '../core';
import type { BatchEvent, BatchSummary, JobError, JobState } from './events';
import type { PhotoEncoder } from './encoders';
import { MANIFEST_DIR, type ManifestRecord, type ManifestWriter } from './manifest';
import type { BatchPlan, PlannedJob } from './plan';
import type { EncodedPhoto, EncodeRequest } from './pool';
import { refineForPhoto } from './presets';
import type { EncodeSettings, MinSavings, PhotoCancel } from './run';
import { verifyWritten } from './verify';
import type { EncodeOptionsRequest } from './worker/protocol';

/** What every job of one batch run shares. */
export interface BatchRun {
  plan: BatchPlan;
  settings: EncodeSettings;
  /** settingsKey(settings) */
  key: string;
  /** The manifest's latest record per source, as the run started. */
  latest: Map<string, ManifestRecord>;
  /** Done records by source hash: a photo moved or renamed inside the library is found by its content. */
  doneByHash: Map<string, ManifestRecord>;
  manifest: ManifestWriter;
  minSavings?: MinSavings;
  signal?: AbortSignal;
  /** Single photos cancelled while the batch goes on. */
  photoCancel?: PhotoCancel;
  sum: BatchSummary;
  emit: (e: BatchEvent) => void;
  /** A job was cancelled, or the encoder failed: the jobs not yet started are not started. */
  stopped: boolean;
  /** Why the whole batch stopped (the encoder processes cannot start); runBatch throws it. */
  fatal?: Error;
  /** --verify: decode every written file before it is put in place. */
  verify?: boolean;
  /**
   * The tail of the hand-over chain: a job gives its photo to the encoder only after the job
   * before it did (or finished without encoding), so photos are encoded in plan order even when
   * one original takes longer to read and hash than the next.
   */
  turn: Promise<void>;
}

interface Source {
  bytes: Buffer;
  size: number;
  mtimeMs: number;
  sha256: string;
}

type Stage = 'read' | 'encode' | 'write';
type Base = Pick<ManifestRecord, 'source' | 'size' | 'mtimeMs' | 'sha256' | 'settings'>;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
export const savingsMet = (outBytes: number, inBytes: number, m?: MinSavings) => !m || outBytes <= inBytes * (1 - m.percent / 100);
/** Where 'copy' puts the original: the .sgai's name with the source's extension. */
export const copyPathFor = (job: PlannedJob) => job.output.replace(/\.sgai$/, extname(job.source.abs));
const copyRelFor = (job: PlannedJob) => job.outputRel.replace(/\.sgai$/, extname(job.source.abs));

function state(b: BatchRun, job: PlannedJob, s: Omit<JobState, 'type' | 'id' | 'output'> & { output?: string }): void {
  b.emit({ type: 'job:state', id: job.source.rel, output: job.output, ...s });
}

export async function runJob(b: BatchRun, encoder: PhotoEncoder, job: PlannedJob): Promise<void> {
  if (b.stopped || b.signal?.aborted) {
    b.sum.cancelled = true;
    return;
  }
  if (job.action === 'skip') return skipByPlan(b, job);
  if (b.photoCancel?.isCancelled(job.source.rel)) return photoCancelled(b, job);
  const myTurn = b.turn;
  let handedOver!: () => void;
  b.turn = new Promise<void>((r) => (handedOver = r));
  let stage: Stage = 'read';
  const started = performance.now();
  let src: Source | undefined;
  // The batch's signal, or (with per-photo cancel) one that this photo's cancel aborts too.
  const tracked = b.photoCancel?.track(job.source.rel, b.signal);
  const signal = tracked?.signal ?? b.signal;
  try {
    src = await readSource(job);
    const base: Base = { source: job.source.rel, size: src.size, mtimeMs: src.mtimeMs, sha256: src.sha256, settings: b.key };
    if (await resumeIfDone(b, job, src)) return;
    if (await reuseIfMoved(b, job, src, base, started)) return;
    if (skipAgainIfTooBig(b, job, src)) return;
    // Claimed before any byte is written: if the process dies after the rename, the file is still known as ours.
    await b.manifest.append({ ...base, output: job.outputRel, state: 'started' });
    stage = 'encode';
    await myTurn;
    const encoded = await encodePhoto(b, encoder, job, src, handedOver, signal);
    stage = 'write';
    if (savingsMet(encoded.bytes.length, src.size, b.minSavings)) await writeSgai(b, job, src, base, encoded, started, signal);
    else if (b.minSavings!.action === 'copy') await copyOriginal(b, job, src, base, encoded, started);
    else await recordTooBig(b, job, src, base, encoded, started);
  } catch (e) {
    const fatal = encoder.failure();
    if (!fatal) return recordFailure(b, job, e, stage, src, started);
    // Not this photo's fault: it stays 'started', so the re-run (once the cause is fixed) does it.
    b.fatal ??= fatal;
    b.stopped = true;
  } finally {
    tracked?.release();
    handedOver(); // also when this job never reached the encoder
  }
}

/** One photo cancelled on its own: recorded as such, and the batch goes on. */
function photoCancelled(b: BatchRun, job: PlannedJob): void {
  b.sum.cancelledPhotos = (b.sum.cancelledPhotos ?? 0) + 1;
  state(b, job, { state: 'cancelled' });
}

/** A photo done (this run or an earlier one) in the batch's totals. */
function tallyDone(b: BatchRun, bytesIn: number, bytesOut: number, o: { resumed?: boolean; encoded?: boolean; megapixels?: number }): void {
  b.sum.done++;
  if (o.resumed) b.sum.resumed++;
  if (o.encoded) b.sum.encoded++;
  b.sum.megapixels += o.megapixels ?? 0;
  b.sum.bytesIn += bytesIn;
  b.sum.bytesOut += bytesOut;
}

function skipByPlan(b: BatchRun, job: PlannedJob): void {
  b.sum.skipped++;
  state(b, job, { state: 'skipped', reason: job.reason });
}

async function readSource(job: PlannedJob): Promise<Source> {
  try {
    const st = await stat(job.source.abs);
    // Read-only; the original is never opened for writing.
    const bytes = await readFile(job.source.abs);
    return { bytes, size: st.size, mtimeMs: st.mtimeMs, sha256: sha256(bytes) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'it was moved or deleted after the scan' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error).message;
    throw new SgaiError('INPUT_UNREADABLE', `cannot read ${job.source.abs}: ${why}`, { cause: e });
  }
}

/** The same photo with the same settings as the manifest's last record for it. */
function sameAsBefore(b: BatchRun, job: PlannedJob, src: Source): ManifestRecord | undefined {
  const prev = b.latest.get(job.source.rel);
  return prev && prev.size === src.size && prev.mtimeMs === src.mtimeMs && prev.sha256 === src.sha256 && prev.settings === b.key ? prev : undefined;
}

/** An earlier output still there and intact: an .sgai with every CRC right, or a byte-identical copy. */
async function outputIntact(path: string, rec: ManifestRecord): Promise<boolean> {
  try {
    const bytes = await readFile(path);
    if (rec.result?.copiedOriginal) return sha256(bytes) === rec.sha256;
    verifySgai(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Done in an earlier run, and the output is still there and intact: nothing to do. */
async function resumeIfDone(b: BatchRun, job: PlannedJob, src: Source): Promise<boolean> {
  const prev = sameAsBefore(b, job, src);
  const copied = prev?.result?.copiedOriginal;
  if (!prev || prev.state !== 'done' || !prev.output || prev.output !== (copied ? copyRelFor(job) : job.outputRel)) return false;
  if (!(await outputIntact(copied ? copyPathFor(job) : job.output, prev))) return false;
  tallyDone(b, src.size, prev.result?.bytes ?? 0, { resumed: true });
  state(b, job, { state: 'done', resumed: true, bytesIn: src.size, bytesOut: prev.result?.bytes, bpp: prev.result?.bpp, psnr: prev.result?.psnr });
  return true;
}

/**
 * The same photo (by content) was done with the same settings under another name: it was moved or
 * renamed inside the library. Its .sgai is copied to the new name (checked: every CRC, and the
 * source hash it records) instead of encoding it again; the earlier file stays where it is.
 */
async function reuseIfMoved(b: BatchRun, job: PlannedJob, src: Source, base: Base, started: number): Promise<boolean> {
  const prev = b.doneByHash.get(src.sha256);
  if (!prev || prev.source === job.source.rel || prev.settings !== b.key || !prev.output || prev.result?.copiedOriginal) return false;
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(b.plan.outRoot, prev.output));
    if (decodeSgai(bytes).source?.sha256 !== src.sha256) return false;
  } catch {
    return false; // gone or damaged: encode it
  }
  await b.manifest.append({ ...base, output: job.outputRel, state: 'started' });
  await mkdir(dirname(job.output), { recursive: true });
  const target = await preflightOutput(job.output, { force: job.replace, inputs: [job.source.abs] });
  await writeFileSafely(target, bytes, { verify: verifySgai }); // a quick copy: finished even on cancel, like any encoded photo
  const reason = `the same photo as ${prev.source} (moved or renamed): its .sgai was reused`;
  const result = { ...prev.result!, seconds: secondsSince(started) };
  await b.manifest.append({ ...base, output: job.outputRel, state: 'done', reason, result });
  tallyDone(b, src.size, bytes.length, {});
  state(b, job, { state: 'done', reason, bytesIn: src.size, bytesOut: bytes.length, bpp: result.bpp, psnr: result.psnr, seconds: result.seconds });
  return true;
}

/** Skipped before for min-savings: the same photo with the same settings would give the same size again. */
function skipAgainIfTooBig(b: BatchRun, job: PlannedJob, src: Source): boolean {
  const prev = sameAsBefore(b, job, src);
  if (!prev || prev.state !== 'skipped' || !prev.result || savingsMet(prev.result.bytes, src.size, b.minSavings)) return false;
  b.sum.skipped++;
  state(b, job, { state: 'skipped', reason: prev.reason, bytesIn: src.size, bytesOut: prev.result.bytes, output: '' });
  return true;
}

/** RefineOptions as plain data (a caller's signal and callbacks stay in this process). */
function refineRequest(r: RefineOptions | undefined): EncodeOptionsRequest['refine'] {
  if (!r) return undefined;
  const { method, iterations, learningRate, lambda, params, schedule, seed, timeBudgetS, evalEvery } = r;
  return { method, iterations, learningRate, lambda, params, schedule, seed, timeBudgetS, evalEvery };
}

/** The refinement for this photo: the fixed one, or the preset's effort scaled to its megapixels. */
async function refineFor(settings: EncodeSettings, bytes: Buffer): Promise<RefineOptions | undefined> {
  if (settings.refine || !settings.effort || settings.effort.kind === 'off') return settings.refine;
  const m = await sharp(bytes).metadata().catch(() => undefined);
  return refineForPhoto(settings.effort, ((m?.width ?? 0) * (m?.height ?? 0)) / 1e6);
}

async function encodePhoto(
  b: BatchRun, encoder: PhotoEncoder, job: PlannedJob, src: Source, handedOver: () => void, signal: AbortSignal | undefined,
): Promise<EncodedPhoto> {
  const { read, tileSize, preview, target } = b.settings;
  const req: EncodeRequest = {
    source: job.source.abs,
    label: job.source.rel,
    logDir: join(b.plan.outRoot, MANIFEST_DIR),
    options: { refine: refineRequest(await refineFor(b.settings, src.bytes)), read, tileSize, preview, measure: b.verify && !target, target },
  };
  const id = job.source.rel;
  const pending = encoder.encode(req, {
    signal,
    onStart: (worker) => state(b, job, { state: 'running', bytesIn: src.size, worker }),
    onProgress: (stage, done, total) => b.emit({ type: 'job:progress', id, stage, done, total }),
  });
  handedOver(); // the request is in the encoder's queue: the next job may hand over its photo
  const encoded = await pending;
  // The encoder read the photo again: it must be the photo hashed (and recorded) here.
  if (encoded.stats.sourceSha256 !== src.sha256) {
    throw new SgaiError('INPUT_UNREADABLE', `${job.source.abs} changed while it was being encoded; run the batch again to encode the new version`);
  }
  return encoded;
}

const resultOf = (e: EncodedPhoto) => ({ bytes: e.bytes.length, bpp: e.stats.bpp, width: e.stats.width, height: e.stats.height });
const megapixelsOf = (e: EncodedPhoto) => (e.stats.width * e.stats.height) / 1e6;
const secondsSince = (t: number) => (performance.now() - t) / 1000;

async function writeSgai(
  b: BatchRun, job: PlannedJob, src: Source, base: Base, e: EncodedPhoto, started: number, signal: AbortSignal | undefined,
): Promise<void> {
  await mkdir(dirname(job.output), { recursive: true });
  const target = await preflightOutput(job.output, { force: job.replace, inputs: [job.source.abs] });
  let psnr: number | undefined;
  const verify = async (written: Uint8Array) => {
    verifySgai(written);
    if (!b.verify) return;
    if (e.stats.psnr === undefined) throw new SgaiError('VERIFY_FAILED', 'the encoder did not measure the file it made; it cannot be verified');
    // A quality target may have picked another model of the family.
    const model = [b.settings.model, ...(b.settings.targetModels ?? [])].find((m) => m.card.id === e.stats.modelId) ?? b.settings.model;
    psnr = await verifyWritten({ written, source: src.bytes, sourcePath: job.source.abs, expectedPsnr: e.stats.psnr, model, read: b.settings.read });
  };
  // A cancel does not throw away a photo that is already encoded: its write takes milliseconds.
  // Only --verify's decode is long enough to be worth interrupting.
  await writeFileSafely(target, e.bytes, { signal: b.verify ? signal : undefined, verify });
  // Recorded done only now, after the rename and the folder fsync.
  const seconds = secondsSince(started);
  const reason = e.stats.targetMet === false ? targetMissed(b, e) : undefined;
  await b.manifest.append({ ...base, output: job.outputRel, state: 'done', reason, result: { ...resultOf(e), psnr: psnr ?? e.stats.psnr, seconds } });
  const mp = megapixelsOf(e);
  tallyDone(b, src.size, e.bytes.length, { encoded: true, megapixels: mp });
  state(b, job, { state: 'done', reason, bytesIn: src.size, bytesOut: e.bytes.length, megapixels: mp, bpp: e.stats.bpp, psnr: psnr ?? e.stats.psnr, seconds });
}

function targetMissed(b: BatchRun, e: EncodedPhoto): string {
  return `no installed model reaches ${describeTarget(b.settings.target!)} on this photo; the closest was kept (${e.stats.bpp.toFixed(3)} bpp${e.stats.psnr === undefined ? '' : `, ${e.stats.psnr.toFixed(2)} dB`})`;
}

function tooBigReason(b: BatchRun, src: Source, e: EncodedPhoto): string {
  return `the .sgai (${e.bytes.length} bytes) is not ${b.minSavings!.percent} % smaller than the original (${src.size} bytes)`;
}

async function recordTooBig(b: BatchRun, job: PlannedJob, src: Source, base: Base, e: EncodedPhoto, started: number): Promise<void> {
  const reason = tooBigReason(b, src, e);
  await b.manifest.append({ ...base, state: 'skipped', reason, result: { ...resultOf(e), seconds: secondsSince(started) } });
  b.sum.skipped++;
  b.sum.megapixels += megapixelsOf(e);
  state(b, job, { state: 'skipped', reason, output: '', bytesIn: src.size, bytesOut: e.bytes.length });
}

async function copyOriginal(b: BatchRun, job: PlannedJob, src: Source, base: Base, e: EncodedPhoto, started: number): Promise<void> {
  const reason = tooBigReason(b, src, e);
  const copy = copyPathFor(job);
  await mkdir(dirname(copy), { recursive: true });
  const prev = b.latest.get(job.source.rel);
  const target = await preflightOutput(copy, { force: prev?.output === copyRelFor(job), inputs: [job.source.abs] });
  await b.manifest.append({ ...base, output: copyRelFor(job), state: 'started' });
  await writeFileSafely(target, src.bytes, { verify: (w) => void (sha256(w) === src.sha256 || fail('the copy differs from the original')) });
  const seconds = secondsSince(started);
  await b.manifest.append({ ...base, output: copyRelFor(job), state: 'done', reason, result: { bytes: src.size, seconds, copiedOriginal: true } });
  tallyDone(b, src.size, src.size, { encoded: true, megapixels: megapixelsOf(e) });
  state(b, job, { state: 'done', reason: `${reason}; original copied`, output: copy, bytesIn: src.size, bytesOut: src.size, seconds });
}

function toJobError(e: unknown, stage: Stage): JobError {
  if (!isSgaiError(e)) return { code: 'UNEXPECTED', message: `unexpected error: ${(e as Error)?.message ?? String(e)}` };
  // Before the write, an IO error is about the original (vanished, permission), not the disk we write to.
  if (e.code === 'IO' && stage !== 'write') return { code: 'INPUT_UNREADABLE', message: e.message };
  return { code: e.code, message: e.message };
}

async function recordFailure(b: BatchRun, job: PlannedJob, e: unknown, stage: Stage, src: Source | undefined, started: number): Promise<void> {
  const cancelled = (isSgaiError(e) && e.code === 'CANCELLED') || b.signal?.aborted;
  // This photo alone was cancelled: the safe writer left nothing, the batch goes on.
  if (cancelled && !b.signal?.aborted && b.photoCancel?.isCancelled(job.source.rel)) return photoCancelled(b, job);
  if (cancelled) {
    // The safe writer removed its temp file; the 'started' line makes the re-run redo this photo.
    b.sum.cancelled = true;
    b.stopped = true;
    state(b, job, { state: 'cancelled' });
    return;
  }
  const error = toJobError(e, stage);
  b.sum.failed++;
  b.sum.firstError ??= error;
  state(b, job, { state: 'failed', error });
  if (!src) return;
  await b.manifest.append({
    source: job.source.rel, size: src.size, mtimeMs: src.mtimeMs, sha256: src.sha256, settings: b.key, state: 'failed', error,
    output: stage === 'write' ? job.outputRel : undefined, result: { bytes: 0, seconds: secondsSince(started) },
  }).catch(() => undefined); // a manifest that cannot be written fails the next job too, and says so
}

function fail(message: string): never {
  throw new SgaiError('IO', message);
}
