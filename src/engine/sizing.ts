/**
 * How many encoder processes a batch gets: one per core, but never more than the memory allows
 * for the largest photo in it (each process may have to hold that photo), and never more than
 * there are photos. Memory per process is core's estimateEncodeMemoryBytes: the runtime and
 * model plus the photo's buffers.
 */
import { availableParallelism, freemem, totalmem } from 'node:os';
import sharp from 'sharp';
import { DEFAULT_MAX_PIXELS, estimateEncodeMemoryBytes } from '../core';
import { replay } from './manifest';
import type { BatchPlan, PlannedJob } from './plan';

/** Share of the RAM the encoders may take: the rest is the system's, the user's other programs', and the batch process's. */
const RAM_SHARE = 0.75;
/** Of the memory free right now, leave a little for what starts meanwhile. */
const FREE_SHARE = 0.9;

export interface WorkerChoice {
  workers: number;
  cores: number;
  /** Bytes the encoders may use together. */
  budgetBytes: number;
  /** Estimated peak of one encoder process on the batch's largest photo. */
  perWorkerBytes: number;
  largestMegapixels: number;
  /** What set the number. */
  limitedBy: 'cores' | 'memory' | 'photos';
}

/** Bytes all encoder processes together may use: a share of the RAM, and no more than is free. */
export function memoryBudgetBytes(total = totalmem(), free = freemem()): number {
  return Math.min(total * RAM_SHARE, free * FREE_SHARE);
}

/** The rule itself, on plain numbers. */
export function workersFor(o: { cores: number; budgetBytes: number; largestPixels: number; largestBitDepth?: 8 | 16; photos: number }): WorkerChoice {
  const perWorkerBytes = estimateEncodeMemoryBytes(o.largestPixels, o.largestBitDepth ?? 8);
  const byMemory = Math.floor(o.budgetBytes / perWorkerBytes);
  const candidates: [number, WorkerChoice['limitedBy']][] = [[o.cores, 'cores'], [byMemory, 'memory'], [o.photos, 'photos']];
  const [n, limitedBy] = candidates.reduce((a, b) => (b[0] < a[0] ? b : a));
  // One process always runs: on a machine that is short of memory, one at a time is the safe pace.
  return { workers: Math.max(1, n), cores: o.cores, budgetBytes: o.budgetBytes, perWorkerBytes, largestMegapixels: o.largestPixels / 1e6, limitedBy };
}

/** Pixel count and bit depth from a photo's header; undefined if it cannot be read (the job will say why). */
async function photoSize(path: string): Promise<{ pixels: number; bitDepth: 8 | 16 } | undefined> {
  try {
    const m = await sharp(path).metadata();
    return { pixels: (m.width ?? 0) * (m.height ?? 0), bitDepth: m.depth === 'ushort' ? 16 : 8 };
  } catch {
    return undefined;
  }
}

/** Jobs the manifest does not show done for the file as it is now: those will (likely) be encoded. */
function likelyToEncode(plan: BatchPlan): PlannedJob[] {
  const latest = replay(plan.manifest.records);
  return plan.jobs.filter((j) => {
    const rec = latest.get(j.source.rel);
    return j.action === 'write' && !(rec?.state === 'done' && rec.size === j.source.size && rec.mtimeMs === j.source.mtimeMs);
  });
}

/**
 * The automatic number of workers for a plan: reads the header (no pixels) of every photo not
 * already done. Photos above `maxPixels` (the read limit, default core's) are refused without
 * being decoded, so they do not count.
 */
export async function chooseWorkers(plan: BatchPlan, opts: { cores?: number; budgetBytes?: number; maxPixels?: number } = {}): Promise<WorkerChoice> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const todo = likelyToEncode(plan);
  let largestPixels = 0;
  let largestBitDepth: 8 | 16 = 8;
  const CHUNK = 16; // headers in parallel: sharp reads them on libuv's thread pool
  for (let i = 0; i < todo.length; i += CHUNK) {
    for (const s of await Promise.all(todo.slice(i, i + CHUNK).map((j) => photoSize(j.source.abs)))) {
      if (!s || s.pixels > maxPixels) continue;
      const bytes = estimateEncodeMemoryBytes(s.pixels, s.bitDepth);
      if (bytes > estimateEncodeMemoryBytes(largestPixels, largestBitDepth)) [largestPixels, largestBitDepth] = [s.pixels, s.bitDepth];
    }
  }
  return workersFor({
    cores: opts.cores ?? availableParallelism(), budgetBytes: opts.budgetBytes ?? memoryBudgetBytes(),
    largestPixels, largestBitDepth, photos: todo.length,
  });
}
