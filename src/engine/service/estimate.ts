/**
 * A fast estimate of a folder's output size and time, before anything runs. Every photo's header
 * is read (pixels and metadata sizes, no decode); up to three photos spread over the folder are
 * decoded and a centre crop of each (at most 384×384) is encoded with the settings' model(s),
 * unrefined, on this machine. Sizes scale the crops' coded bits per pixel to every photo; time
 * scales their seconds per megapixel, plus the refinement budget, over the workers.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import { describeTarget, encode, encodeToTarget, type QualityTarget, type RasterImage, readImage, type ReadOptions } from '../../core';
import type { AppSettings, Estimate, OutputSettings } from '../../ipc/schemas';
import { EFFORTS, refineForPhoto } from '../presets';
import { compareRel, scanSources, type SourceFile } from '../scan';
import { memoryBudgetBytes, workersFor } from '../sizing';
import { encodeSettingsFor, outRootOf } from './output-settings';

const CROP_SIDE = 384;
const SAMPLES = 3;
/** Widening of the sampled spread: three crops cannot show every photo's detail. */
const SPREAD = 0.15;
/**
 * SGA+ refinement at a model's own lambda trades rate for quality: docs/sgaplus-results.md §4
 * measured rate changes of −0.2 % to +12 % at equal lambda (all methods and budgets).
 */
const REFINED_RATE = { low: 0.998, high: 1.12 };
/** Refined encodes per photo when a quality target is searched with refinement (core/targets.ts MAX_LAMBDA_PROBES). */
const TARGET_REFINE_PROBES = 5;

interface Header {
  pixels: number;
  /** EXIF + XMP + ICC bytes the .sgai may carry along. */
  metaBytes: number;
}

async function header(path: string): Promise<Header | undefined> {
  try {
    const m = await sharp(path).metadata();
    const pixels = (m.width ?? 0) * (m.height ?? 0);
    return pixels > 0 ? { pixels, metaBytes: (m.exif?.length ?? 0) + (m.xmp?.length ?? 0) + (m.icc?.length ?? 0) } : undefined;
  } catch {
    return undefined; // the batch will report it per photo
  }
}

/** Up to `k` indices spread evenly over `n` (the middle of each k-th). */
export function spread(n: number, k: number): number[] {
  const m = Math.min(n, k);
  return Array.from({ length: m }, (_, i) => Math.floor(((i + 0.5) * n) / m));
}

/** The centre of an image, at most `side` px each way. */
export function centreCrop(img: RasterImage, side: number): RasterImage {
  const w = Math.min(side, img.width);
  const h = Math.min(side, img.height);
  if (w === img.width && h === img.height) return img;
  const x0 = (img.width - w) >> 1;
  const y0 = (img.height - h) >> 1;
  const data = img.bitDepth === 16 ? new Uint16Array(w * h * 3) : new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const from = ((y0 + y) * img.width + x0) * 3;
    (data as Uint8Array).set((img.data as Uint8Array).subarray(from, from + w * 3), y * w * 3);
  }
  return { width: w, height: h, bitDepth: img.bitDepth, data };
}

interface Sample {
  /** Coded latent bits per pixel (no container). */
  streamBpp: number;
  /** Container, header and preview bytes of the crop's file. */
  overhead: number;
  /** Encode seconds per megapixel (a target's search included). */
  secondsPerMp: number;
  modelId: string;
}

/** A target for a crop: a file size is a per-photo budget, so it becomes that photo's bits per pixel. */
function cropTarget(t: QualityTarget, photoPixels: number): QualityTarget {
  return t.kind === 'bytes' ? { kind: 'bpp', value: (t.value * 8) / photoPixels } : t;
}

async function sample(path: string, pixels: number, o: OutputSettings, read: ReadOptions, warmUp: boolean): Promise<Sample> {
  const enc = encodeSettingsFor(o).settings;
  const { image } = await readImage(await readFile(path), { ...read, name: path });
  const crop = centreCrop(image, CROP_SIDE);
  // The first encode in a process builds its sessions and kernels: not what every photo costs.
  if (warmUp) for (const model of enc.targetModels ?? [enc.model]) await encode(centreCrop(crop, 64), { model });
  const t0 = performance.now();
  const r = enc.target ? (await encodeToTarget(crop, cropTarget(enc.target, pixels), enc.targetModels ?? [], {})).result : await encode(crop, { model: enc.model });
  const seconds = (performance.now() - t0) / 1000;
  const px = crop.width * crop.height;
  return { streamBpp: (r.stats.streamBytes * 8) / px, overhead: r.stats.overheadBytes, secondsPerMp: seconds / (px / 1e6), modelId: r.stats.modelId };
}

const range = (low: number, high: number) => ({ low: Math.max(0, low), high: Math.max(0, high) });

export async function estimateFolder(folder: string, o: OutputSettings, app: AppSettings, ensureBackend: () => Promise<unknown>): Promise<Estimate> {
  const resolved = encodeSettingsFor(o);
  const notes: string[] = [];
  const files: SourceFile[] = [];
  const skipFolders = o.destination.kind === 'folder' ? [outRootOf(folder, o)] : [];
  for await (const f of scanSources([folder], { include: o.include, exclude: o.exclude, skipFolders })) files.push(f);
  files.sort((a, b) => compareRel(a.rel, b.rel));
  const heads: (Header | undefined)[] = [];
  for (let i = 0; i < files.length; i += 16) heads.push(...(await Promise.all(files.slice(i, i + 16).map((f) => header(f.abs)))));
  const readable = files.flatMap((f, i) => (heads[i] ? [{ f, h: heads[i]! }] : []));
  const bytesIn = files.reduce((a, f) => a + f.size, 0);
  const megapixels = readable.reduce((a, p) => a + p.h.pixels, 0) / 1e6;
  const base = { photos: files.length, megapixels, bytesIn, models: resolved.models };
  if (resolved.isTestModel) notes.push('no trained model is installed: the untrained test model stands in, and its sizes say nothing about real ones');
  if (readable.length < files.length) notes.push(`${files.length - readable.length} photo(s) could not be read and are not counted`);
  if (!readable.length) {
    notes.push(files.length ? 'no photo could be read, so nothing could be measured' : 'no photos found with these settings');
    return { ...base, sampled: 0, bytesOut: range(0, 0), seconds: range(0, 0), notes };
  }

  await ensureBackend();
  const read: ReadOptions = { ...resolved.settings.read };
  const samples: Sample[] = [];
  const failures: string[] = [];
  for (const i of spread(readable.length, SAMPLES)) {
    const p = readable[i];
    try {
      samples.push(await sample(p.f.abs, p.h.pixels, o, read, !samples.length));
    } catch (e) {
      failures.push(`${p.f.rel}: ${(e as Error).message}`);
    }
  }
  if (failures.length) notes.push(`${failures.length} sampled photo(s) could not be encoded (${failures.join('; ')})`);
  if (!samples.length) {
    notes.push('no sampled photo could be encoded, so nothing could be measured');
    return { ...base, sampled: 0, bytesOut: range(0, 0), seconds: range(0, 0), notes };
  }

  const lo = (k: keyof Omit<Sample, 'modelId'>) => Math.min(...samples.map((s) => s[k]));
  const hi = (k: keyof Omit<Sample, 'modelId'>) => Math.max(...samples.map((s) => s[k]));
  const effort = EFFORTS[o.effort];
  const refined = effort.kind !== 'off';
  const keepsAllMeta = o.metadata === 'all';
  let bytesLow = 0;
  let bytesHigh = 0;
  let refineSeconds = 0;
  for (const { h } of readable) {
    // Metadata beyond 'all' is trimmed at read time: at most what the header shows travels along.
    bytesLow += (lo('streamBpp') * h.pixels) / 8 + lo('overhead') + (keepsAllMeta ? h.metaBytes : 0);
    bytesHigh += (hi('streamBpp') * h.pixels) / 8 + hi('overhead') + h.metaBytes;
    const budget = refineForPhoto(effort, h.pixels / 1e6)?.timeBudgetS ?? 0;
    refineSeconds += budget * (resolved.settings.target ? TARGET_REFINE_PROBES : 1);
  }
  const rate = refined ? REFINED_RATE : { low: 1, high: 1 };
  const largest = Math.max(...readable.map((p) => p.h.pixels));
  const workers = app.workers === 'auto'
    ? workersFor({ cores: availableParallelism(), budgetBytes: app.memoryBudgetMB ? app.memoryBudgetMB * 2 ** 20 : memoryBudgetBytes(), largestPixels: largest, photos: readable.length }).workers
    : app.workers;
  const secondsLow = (lo('secondsPerMp') * megapixels * (1 - SPREAD) + refineSeconds) / workers;
  const secondsHigh = (hi('secondsPerMp') * megapixels * (1 + SPREAD) + refineSeconds) / workers;

  notes.push(`measured on ${samples.length} centre crop(s) of at most ${CROP_SIDE}×${CROP_SIDE} px, encoded without refinement on this computer; ${workers} encoder process${workers === 1 ? '' : 'es'}`);
  if (refined) {
    notes.push(`refinement (${o.effort}) runs up to ${effort.kind === 'budget' ? effort.secondsPerMegapixel : 0} s per megapixel per photo: most of the time; it changes file sizes by about −0.2 % to +12 % (measured in docs/sgaplus-results.md), included in the range`);
  }
  if (resolved.settings.target) {
    notes.push(`${describeTarget(resolved.settings.target)} is searched per photo over ${resolved.models.length} model(s): sizes vary more than with a preset`);
    if (refined) notes.push(`with refinement, a target is searched with up to ${TARGET_REFINE_PROBES} refined encodes per photo: the time is an upper end`);
  }
  if (o.minSavingsPercent > 0) notes.push(`photos that do not get ${o.minSavingsPercent} % smaller are ${o.copyIfNoSavings ? 'copied as they are (their full size counts)' : 'skipped (nothing written)'}; the range assumes they all shrink`);
  return {
    ...base,
    sampled: samples.length,
    models: [...new Set([...resolved.models.filter((m) => !resolved.settings.target || samples.some((s) => s.modelId === m)), ...samples.map((s) => s.modelId)])],
    bytesOut: range(bytesLow * (1 - SPREAD) * rate.low, bytesHigh * (1 + SPREAD) * rate.high),
    seconds: range(secondsLow, secondsHigh),
    notes,
  };
}
