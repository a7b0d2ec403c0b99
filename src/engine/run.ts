/**
 * The in-process runner: each planned photo is skipped when the manifest proves it done, else
 * encoded, written through the safe writer and recorded. One photo's failure is recorded and the
 * batch goes on; a cancel stops after the current photo has been cleaned up. Worker processes
 * (several photos at once) are a later layer over the same per-job steps.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import sharp from 'sharp';
import {
  encodeFile, isSgaiError, type LoadedModel, preflightOutput, type ReadOptions, type RefineOptions, SgaiError, verifySgai, writeFileSafely,
} from '../core';
import type { BatchEvent, BatchEventListener, BatchSummary, JobError, JobState } from './events';
import { ManifestWriter, replay, settingsHash, type ManifestRecord } from './manifest';
import type { BatchPlan, PlannedJob } from './plan';
import { refineForPhoto, type RefineEffort } from './presets';
import { removeStrayTempFiles } from './temp-files';

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
}

export interface MinSavings {
  /** The .sgai must be at least this many percent smaller than the source. */
  percent: number;
  /** skip (default): record why and write nothing; copy: put a copy of the original in the output tree. */
  action?: 'skip' | 'copy';
}

export interface RunOptions {
  settings: EncodeSettings;
  signal?: AbortSignal;
  onEvent?: BatchEventListener;
  minSavings?: MinSavings;
}

/** What decides whether an earlier result still stands: the model, its weights, and every encode option. */
export function settingsKey(s: EncodeSettings): string {
  const { method, iterations, lambda, learningRate, seed, timeBudgetS, schedule, params, evalEvery } = s.refine ?? {};
  return settingsHash({
    modelId: s.model.card.id,
    weightsSha256: s.model.weights.sha256,
    refine: s.refine ? { method, iterations, lambda, learningRate, seed, timeBudgetS, schedule, params, evalEvery } : null,
    effort: s.refine ? null : (s.effort ?? null),
    target: null,
    preset: s.preset ?? null,
    tileSize: s.tileSize ?? null,
    read: s.read ?? null,
    preview: s.preview ?? true,
  });
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const savingsMet = (outBytes: number, inBytes: number, m?: MinSavings) => !m || outBytes <= inBytes * (1 - m.percent / 100);
/** Where 'copy' puts the original: the .sgai's name with the source's extension. */
export const copyPathFor = (job: PlannedJob) => job.output.replace(/\.sgai$/, extname(job.source.abs));
const copyRelFor = (job: PlannedJob) => job.outputRel.replace(/\.sgai$/, extname(job.source.abs));

function toJobError(e: unknown, stage: 'read' | 'encode' | 'write'): JobError {
  if (!isSgaiError(e)) return { code: 'UNEXPECTED', message: `unexpected error: ${(e as Error)?.message ?? String(e)}` };
  // Before the write, an IO error is about the original (vanished, permission), not the disk we write to.
  if (e.code === 'IO' && stage !== 'write') return { code: 'INPUT_UNREADABLE', message: e.message };
  return { code: e.code, message: e.message };
}

async function readSource(job: PlannedJob): Promise<{ bytes: Buffer; size: number; mtimeMs: number }> {
  try {
    const st = await stat(job.source.abs);
    // Read-only; the original is never opened for writing.
    const bytes = await readFile(job.source.abs);
    return { bytes, size: st.size, mtimeMs: st.mtimeMs };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'it was moved or deleted after the scan' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error).message;
    throw new SgaiError('INPUT_UNREADABLE', `cannot read ${job.source.abs}: ${why}`, { cause: e });
  }
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

export async function runBatch(plan: BatchPlan, opts: RunOptions): Promise<BatchSummary> {
  const { settings, signal, minSavings } = opts;
  if (minSavings?.action === 'copy' && plan.jobs.some((j) => j.output.startsWith(dirname(j.source.abs)) && copyPathFor(j) === j.source.abs)) {
    throw new SgaiError('INVALID_ARGUMENT', 'copying originals is only possible into a separate output folder');
  }
  const emit = (e: BatchEvent) => opts.onEvent?.(e);
  const t0 = performance.now();
  const key = settingsKey(settings);
  const latest = replay(plan.manifest.records);
  const manifest = new ManifestWriter(plan.outRoot);
  await removeStrayTempFiles(plan.outRoot, plan.shard ? plan.jobs.flatMap((j) => [j.output, copyPathFor(j)]) : undefined);

  const sum: BatchSummary = {
    type: 'batch:done', total: plan.jobs.length, done: 0, resumed: 0, encoded: 0, skipped: 0, failed: 0, cancelled: false,
    bytesIn: 0, bytesOut: 0, megapixels: 0, seconds: 0,
  };
  const state = (job: PlannedJob, s: Omit<JobState, 'type' | 'id' | 'output'> & { output?: string }) =>
    emit({ type: 'job:state', id: job.source.rel, output: job.output, ...s });

  for (const job of plan.jobs) {
    if (signal?.aborted) {
      sum.cancelled = true;
      break;
    }
    const rel = job.source.rel;
    const prev = latest.get(rel);
    if (job.action === 'skip') {
      sum.skipped++;
      state(job, { state: 'skipped', reason: job.reason });
      continue;
    }
    let stage: 'read' | 'encode' | 'write' = 'read';
    const started = performance.now();
    let src: Awaited<ReturnType<typeof readSource>> | undefined;
    let hash = '';
    try {
      src = await readSource(job);
      hash = sha256(src.bytes);
      const same = prev && prev.size === src.size && prev.mtimeMs === src.mtimeMs && prev.sha256 === hash && prev.settings === key;
      if (same && prev.state === 'done' && prev.output && prev.output === (prev.result?.copiedOriginal ? copyRelFor(job) : job.outputRel)
        && (await outputIntact(prev.result?.copiedOriginal ? copyPathFor(job) : job.output, prev))) {
        sum.done++;
        sum.resumed++;
        sum.bytesIn += src.size;
        sum.bytesOut += prev.result?.bytes ?? 0;
        state(job, { state: 'done', resumed: true, bytesIn: src.size, bytesOut: prev.result?.bytes, bpp: prev.result?.bpp });
        continue;
      }
      if (same && prev.state === 'skipped' && prev.result && !savingsMet(prev.result.bytes, src.size, minSavings)) {
        // Same photo, same settings: the encode would give the same size again.
        sum.skipped++;
        state(job, { state: 'skipped', reason: prev.reason, bytesIn: src.size, bytesOut: prev.result.bytes, output: '' });
        continue;
      }
      state(job, { state: 'running', bytesIn: src.size });
      const base = { source: rel, size: src.size, mtimeMs: src.mtimeMs, sha256: hash, settings: key };
      // Claimed before any byte is written: if the process dies after the rename, the file is still known as ours.
      await manifest.append({ ...base, output: job.outputRel, state: 'started' });

      stage = 'encode';
      let refine = settings.refine;
      if (!refine && settings.effort && settings.effort.kind !== 'off') {
        const m = await sharp(src.bytes).metadata().catch(() => undefined);
        refine = refineForPhoto(settings.effort, ((m?.width ?? 0) * (m?.height ?? 0)) / 1e6);
      }
      const r = await encodeFile(job.source.abs, {
        model: settings.model, refine, read: settings.read, tileSize: settings.tileSize, preview: settings.preview, signal,
        onProgress: (s, done, total) => emit({ type: 'job:progress', id: rel, stage: s, done, total }),
      });
      const mp = (r.stats.width * r.stats.height) / 1e6;
      const result = { bytes: r.bytes.length, bpp: r.stats.bpp, width: r.stats.width, height: r.stats.height };

      stage = 'write';
      if (!savingsMet(r.bytes.length, src.size, minSavings)) {
        const reason = `the .sgai (${r.bytes.length} bytes) is not ${minSavings!.percent} % smaller than the original (${src.size} bytes)`;
        if (minSavings!.action !== 'copy') {
          await manifest.append({ ...base, state: 'skipped', reason, result: { ...result, seconds: (performance.now() - started) / 1000 } });
          sum.skipped++;
          sum.megapixels += mp;
          state(job, { state: 'skipped', reason, output: '', bytesIn: src.size, bytesOut: r.bytes.length });
          continue;
        }
        const copy = copyPathFor(job);
        await mkdir(dirname(copy), { recursive: true });
        const target = await preflightOutput(copy, { force: prev?.output === copyRelFor(job), inputs: [job.source.abs] });
        await manifest.append({ ...base, output: copyRelFor(job), state: 'started' });
        await writeFileSafely(target, src.bytes, { signal, verify: (b) => void (sha256(b) === hash || fail('the copy differs from the original')) });
        const seconds = (performance.now() - started) / 1000;
        await manifest.append({ ...base, output: copyRelFor(job), state: 'done', reason, result: { bytes: src.size, seconds, copiedOriginal: true } });
        sum.done++;
        sum.encoded++;
        sum.megapixels += mp;
        sum.bytesIn += src.size;
        sum.bytesOut += src.size;
        state(job, { state: 'done', reason: `${reason}; original copied`, output: copy, bytesIn: src.size, bytesOut: src.size, seconds });
        continue;
      }
      await mkdir(dirname(job.output), { recursive: true });
      const target = await preflightOutput(job.output, { force: job.replace, inputs: [job.source.abs] });
      await writeFileSafely(target, r.bytes, { signal, verify: verifySgai });
      // Recorded done only now, after the rename and the folder fsync.
      const seconds = (performance.now() - started) / 1000;
      await manifest.append({ ...base, output: job.outputRel, state: 'done', result: { ...result, seconds } });
      sum.done++;
      sum.encoded++;
      sum.megapixels += mp;
      sum.bytesIn += src.size;
      sum.bytesOut += r.bytes.length;
      state(job, { state: 'done', bytesIn: src.size, bytesOut: r.bytes.length, megapixels: mp, bpp: r.stats.bpp, seconds });
    } catch (e) {
      if ((isSgaiError(e) && e.code === 'CANCELLED') || signal?.aborted) {
        // The safe writer removed its temp file; the 'started' line makes the re-run redo this photo.
        sum.cancelled = true;
        state(job, { state: 'cancelled' });
        break;
      }
      const error = toJobError(e, stage);
      sum.failed++;
      sum.firstError ??= error;
      state(job, { state: 'failed', error });
      if (src) {
        await manifest.append({
          source: rel, size: src.size, mtimeMs: src.mtimeMs, sha256: hash, settings: key, state: 'failed', error,
          output: stage === 'write' ? job.outputRel : undefined, result: { bytes: 0, seconds: (performance.now() - started) / 1000 },
        }).catch(() => undefined); // a manifest that cannot be written fails the next job too, and says so
      }
    }
  }
  sum.seconds = (performance.now() - t0) / 1000;
  emit(sum);
  return sum;
}

function fail(message: string): never {
  throw new SgaiError('IO', message);
}
