/**
 * The R-D benchmark: every available codec over every image of a folder, swept over its
 * settings; per-image metrics cached on disk so an interrupted run resumes; averaged curves,
 * BD-rates against the anchors, a separate speed pass; CSV/JSON, plots and the docs section.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { type BackendName, type BdMethod, bdQuality, bdRate, defaultModel, type InstalledModel, listModels, MSSSIM_MIN_SIDE, msssimDb, msssimRgb, msssimY, psnr, psnrY, type RdPoint, readImage, SgaiError, TEST_MODELS_DIR } from '../../src/core';
import { classicCodecs, SGAI_VARIANTS, sgaiCodec, to8bit, type Codec, type ModelInfo, type Setting, type SourceImage } from './codecs';
import { writePlots } from './plots';
import { PUBLISHED_KODAK, PUBLISHED_SOURCE } from './published';
import { updateDocs } from './report';
import { encodePpm } from './tools';

/** Bump when a metric's definition changes: it is part of every cache key. */
export const METRICS_VERSION = 1;

export interface BenchOptions {
  /** Folder of images. */
  dataset: string;
  /** Name used for the results folder, plots and docs section (default: the folder's name). */
  name?: string;
  /** Where points/summary go (default bench/results/<name> under `root`). */
  outDir?: string;
  cacheDir?: string;
  /** Folder for SVG/PNG plots, or null for none. */
  plotsDir?: string | null;
  /** Markdown file whose generated section is rewritten, or null for none. */
  docsPath?: string | null;
  /** Codec ids to run; default all. */
  codecs?: string[];
  /** Per-codec setting overrides, e.g. { jpeg: ['q20', 'q80'] } or { jpeg: ['20', '80'] }. */
  settings?: Record<string, string[]>;
  maxImages?: number;
  /** Images timed in the speed pass (0 = no speed pass). */
  speedImages?: number;
  backend?: BackendName;
  /** sgai model ids to include (default: every installed model). */
  models?: string[];
  modelDirs?: string[];
  /** Include the seeded test model as codec 'sgai-test': 'auto' = only when no trained model is installed. */
  testModel?: 'auto' | 'yes' | 'no';
  /** Anchor codec ids for BD tables. */
  anchors?: string[];
  /** Repository root (default: the current directory). */
  root?: string;
  /** The command line, quoted in the docs section. */
  command?: string;
  /** Progress and notes; default stderr. */
  log?: (line: string) => void;
}

export interface PointRecord {
  codec: string;
  setting: string;
  value: number | string;
  image: string;
  imageSha256: string;
  width: number;
  height: number;
  bytes: number;
  bpp: number;
  /** null only for a lossless result (infinite PSNR). */
  psnrRgb: number | null;
  psnrY: number | null;
  /** null when the image is too small for 5 scales. */
  msssimRgb: number | null;
  msssimY: number | null;
  encodeMs: number;
  decodeMs: number;
}

export interface CurvePoint {
  setting: string;
  value: number | string;
  images: number;
  bpp: number;
  psnrRgb: number;
  psnrY: number;
  msssimRgb: number | null;
  msssimY: number | null;
  msssimRgbDb: number | null;
  msssimYDb: number | null;
}

export interface CodecSummary {
  id: string;
  label: string;
  kind: 'classic' | 'sgai';
  versions: Record<string, string>;
  commands: string;
  models?: ModelInfo[];
  curve: CurvePoint[];
  /** Settings left out of the curve (some image failed, or lossless), with why. */
  incomplete: Array<{ setting: string; reason: string }>;
  errors: string[];
  /** Mean per-point times of the sweep (may include cached points from earlier runs). */
  sweepEncodeMs: number;
  sweepDecodeMs: number;
}

export type BdMetric = 'psnrRgb' | 'psnrY' | 'msssimRgbDb';

export interface BdResult {
  anchor: string;
  test: string;
  metric: BdMetric;
  method: BdMethod;
  bdRate: number | null;
  bdQuality: number | null;
  reason?: string;
}

export interface PointComparison {
  sgai: string;
  setting: string;
  other: string;
  /** Rate the other codec needs for sgai's PSNR-RGB, relative to sgai's rate (1.2 = 20 % more). */
  rateRatioAtEqualPsnr: number | null;
  /** Other codec's PSNR-RGB at sgai's bpp minus sgai's PSNR-RGB (dB). */
  psnrGapAtEqualRate: number | null;
}

export interface SpeedEntry {
  codec: string;
  setting: string;
  encodeMPs: number;
  decodeMPs: number;
  encodeVsSgai: number | null;
  decodeVsSgai: number | null;
}

export interface BenchSummary {
  dataset: string;
  datasetPath: string;
  images: string[];
  generatedAt: string;
  hardware: { cpu: string; logicalCpus: number; memoryGiB: number; loadAvgAtStart: number[]; node: string; platform: string };
  metricsConventions: string;
  codecs: CodecSummary[];
  skipped: Array<{ id: string; label: string; reason: string }>;
  anchors: string[];
  bd: BdResult[];
  pointComparisons: PointComparison[];
  published: { source: string; bd: BdResult[] } | null;
  speed: { images: string[]; megapixels: number; reference: string | null; entries: SpeedEntry[]; note: string } | null;
  cache: { hits: number; computed: number; dir: string };
  outDir: string;
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.tif', '.tiff', '.webp', '.ppm']);

export const METRICS_CONVENTIONS =
  'bpp = 8 × file bytes / pixels. PSNR-RGB over all three channels (peak 255). PSNR-Y on BT.601 full-range luma ' +
  '(0.299 R + 0.587 G + 0.114 B, unrounded). MS-SSIM: 5 scales, Gaussian 11/1.5, valid windows, 2×2 average ' +
  'downsampling; RGB = mean of the per-channel MS-SSIM; MS-SSIM dB = −10·log10(1 − mean MS-SSIM). Curves: per ' +
  'setting, the mean over the images of bpp, PSNR and MS-SSIM (the usual averaging, not per-image BD).';

const fmtMs = (ms: number): string => {
  const s = Math.round(ms / 1000);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
};

function listImages(dir: string): string[] {
  if (!existsSync(dir)) throw new SgaiError('IO', `dataset folder ${dir} does not exist`);
  return readdirSync(dir).filter((n) => IMAGE_EXT.has(extname(n).toLowerCase()) && !n.startsWith('.')).sort();
}

function cpuInfo(): { cpu: string; logicalCpus: number } {
  try {
    const txt = readFileSync('/proc/cpuinfo', 'utf8');
    const model = /^model name\s*:\s*(.+)$/m.exec(txt)?.[1]?.trim();
    const n = (txt.match(/^processor\s*:/gm) ?? []).length;
    return { cpu: model ?? 'unknown', logicalCpus: n || cpus().length };
  } catch {
    return { cpu: cpus()[0]?.model ?? 'unknown', logicalCpus: cpus().length };
  }
}

/** Writes a file via a temporary name so a killed run never leaves half a cache entry. */
function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/**
 * Trained models grouped by width (N/M): one R-D curve per width, since a compact and a standard
 * model at the same lambda are different codecs. The default model's width keeps the plain codec
 * ids ('sgai', 'sgai-sgaplus'); other widths get a suffix such as '-n128m192'.
 */
export function widthFamilies(trained: InstalledModel[], extraDirs: string[]): { models: InstalledModel[]; suffix: string; label: string }[] {
  if (!trained.length) return [];
  const byWidth = new Map<string, InstalledModel[]>();
  for (const m of trained) {
    const k = `${m.card.N}/${m.card.M}`;
    byWidth.set(k, [...(byWidth.get(k) ?? []), m]);
  }
  if (byWidth.size === 1) return [{ models: trained, suffix: '', label: '' }];
  let defaultWidth: string | undefined;
  try {
    const d = defaultModel(extraDirs).model.card;
    defaultWidth = `${d.N}/${d.M}`;
  } catch {
    defaultWidth = undefined;
  }
  const keys = [...byWidth.keys()].sort((a, b) => (a === defaultWidth ? -1 : b === defaultWidth ? 1 : a.localeCompare(b)));
  if (!defaultWidth || !byWidth.has(defaultWidth)) defaultWidth = keys[0];
  return keys.map((k) => {
    const [n, m] = k.split('/');
    return { models: byWidth.get(k) ?? [], suffix: k === defaultWidth ? '' : `-n${n}m${m}`, label: `, N=${n}/M=${m}` };
  });
}

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);
const safeName = (s: string): string => s.replace(/[^A-Za-z0-9._+-]/g, '_');

/** The codecs of this run: classic ones plus sgai variants over the installed (or test) models. */
export function buildCodecs(o: BenchOptions): Codec[] {
  const backend = o.backend ?? 'wasm';
  const testDir = resolve(TEST_MODELS_DIR);
  const wanted = (m: InstalledModel) => !o.models || o.models.includes(m.card.id);
  const trained = listModels(o.modelDirs ?? []).filter((m) => resolve(m.dir) !== testDir && wanted(m));
  const useTest = o.testModel === 'yes' || ((o.testModel ?? 'auto') === 'auto' && trained.length === 0);
  const test = useTest ? listModels([TEST_MODELS_DIR]).filter((m) => resolve(m.dir) === testDir) : [];
  const list: Codec[] = classicCodecs();
  const families = widthFamilies(trained, o.modelDirs ?? []);
  for (const v of SGAI_VARIANTS) {
    const suffix = v.id.slice('sgai'.length);
    for (const f of families) {
      list.push(sgaiCodec({ variant: v, models: f.models, id: `${v.id}${f.suffix}`, label: `${v.label}${f.label}`, backend, isTest: false }));
    }
    if (test.length) {
      list.push(sgaiCodec({ variant: v, models: test, id: `sgai-test${suffix}`, label: `${v.label}, TEST MODEL (not trained)`, backend, isTest: true }));
    }
  }
  return list;
}

function averageCurve(points: PointRecord[], images: number): Pick<CodecSummary, 'curve' | 'incomplete'> {
  const curve: CurvePoint[] = [];
  const incomplete: CodecSummary['incomplete'] = [];
  const bySetting = new Map<string, PointRecord[]>();
  for (const p of points) bySetting.set(p.setting, [...(bySetting.get(p.setting) ?? []), p]);
  for (const [setting, ps] of bySetting) {
    if (ps.length !== images) {
      incomplete.push({ setting, reason: `${ps.length} of ${images} images` });
      continue;
    }
    if (ps.some((p) => p.psnrRgb === null || p.psnrY === null)) {
      incomplete.push({ setting, reason: 'lossless on some image (infinite PSNR)' });
      continue;
    }
    const mean = (f: (p: PointRecord) => number) => ps.reduce((s, p) => s + f(p), 0) / ps.length;
    const hasMs = ps.every((p) => p.msssimRgb !== null && p.msssimY !== null);
    const msR = hasMs ? mean((p) => p.msssimRgb ?? 0) : null;
    const msY = hasMs ? mean((p) => p.msssimY ?? 0) : null;
    curve.push({
      setting,
      value: ps[0].value,
      images: ps.length,
      bpp: mean((p) => p.bpp),
      psnrRgb: mean((p) => p.psnrRgb ?? 0),
      psnrY: mean((p) => p.psnrY ?? 0),
      msssimRgb: msR,
      msssimY: msY,
      msssimRgbDb: msR === null ? null : finiteOrNull(msssimDb(msR)),
      msssimYDb: msY === null ? null : finiteOrNull(msssimDb(msY)),
    });
  }
  curve.sort((a, b) => a.bpp - b.bpp);
  return { curve, incomplete };
}

function rd(curve: CurvePoint[], metric: BdMetric): RdPoint[] {
  return curve.filter((p) => p[metric] !== null).map((p) => ({ rate: p.bpp, quality: p[metric] ?? 0 }));
}

function bdBetween(anchorId: string, anchor: RdPoint[], testId: string, test: RdPoint[], metric: BdMetric, method: BdMethod): BdResult {
  try {
    return { anchor: anchorId, test: testId, metric, method, bdRate: bdRate(anchor, test, method), bdQuality: bdQuality(anchor, test, method) };
  } catch (e) {
    return { anchor: anchorId, test: testId, metric, method, bdRate: null, bdQuality: null, reason: e instanceof Error ? e.message : String(e) };
  }
}

/** Piecewise-linear interpolation in (x, y) after sorting by x; null outside the range. */
function interp(xs: number[], ys: number[], x: number): number | null {
  const idx = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
  const X = idx.map((i) => xs[i]);
  const Y = idx.map((i) => ys[i]);
  if (X.length < 2 || x < X[0] || x > X[X.length - 1]) return null;
  for (let i = 0; i < X.length - 1; i++) {
    if (x <= X[i + 1]) return X[i + 1] === X[i] ? Y[i] : Y[i] + ((Y[i + 1] - Y[i]) * (x - X[i])) / (X[i + 1] - X[i]);
  }
  return null;
}

export async function runBench(o: BenchOptions): Promise<BenchSummary> {
  const root = resolve(o.root ?? process.cwd());
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const datasetPath = resolve(root, o.dataset);
  const name = o.name ?? basename(datasetPath);
  const outDir = resolve(root, o.outDir ?? join('bench', 'results', name));
  const cacheDir = resolve(root, o.cacheDir ?? join('bench', 'results', 'cache'));
  const loadAtStart = loadavg();

  let names = listImages(datasetPath);
  if (o.maxImages !== undefined) names = names.slice(0, o.maxImages);
  if (!names.length) throw new SgaiError('INVALID_ARGUMENT', `no images (${[...IMAGE_EXT].join(', ')}) in ${datasetPath}`);

  // Codecs: select, then probe; a codec that cannot run is skipped with its reason.
  const all = buildCodecs(o);
  if (o.codecs) {
    const unknown = o.codecs.filter((id) => !all.some((c) => c.id === id));
    if (unknown.length) throw new SgaiError('INVALID_ARGUMENT', `unknown codec(s) ${unknown.join(', ')}; known: ${all.map((c) => c.id).join(', ')}`);
  }
  const selected = o.codecs ? all.filter((c) => o.codecs?.includes(c.id)) : all;
  const ready: Array<{ codec: Codec; versions: Record<string, string>; config: string; settings: Setting[] }> = [];
  const skipped: BenchSummary['skipped'] = [];
  for (const c of selected) {
    const p = await c.probe();
    if (!p.ok) {
      skipped.push({ id: c.id, label: c.label, reason: p.reason });
      log(`skip ${c.id}: ${p.reason}`);
      continue;
    }
    const over = o.settings?.[c.id];
    ready.push({ codec: c, versions: p.versions, config: createHash('sha256').update(`${METRICS_VERSION}\n${p.config}`).digest('hex'), settings: over ? over.map((t) => c.parseSetting(t)) : c.settings });
  }

  // Sources: decoded once, written as PPM and PNG so every encoder reads identical pixels.
  const work = mkdtempSync(join(tmpdir(), 'sgai-rd-'));
  try {
    const sources: SourceImage[] = [];
    for (const n of names) {
      const path = join(datasetPath, n);
      const bytes = readFileSync(path);
      const image = to8bit((await readImage(path)).image);
      const stem = safeName(basename(n, extname(n)));
      const ppmPath = join(work, `${stem}.src.ppm`);
      const pngPath = join(work, `${stem}.src.png`);
      writeFileSync(ppmPath, encodePpm(image));
      await sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } }).png({ compressionLevel: 1 }).toFile(pngPath);
      sources.push({ name: n, sha256: createHash('sha256').update(bytes).digest('hex'), image, ppmPath, pngPath });
    }
    const small = sources.filter((s) => Math.min(s.image.width, s.image.height) < MSSSIM_MIN_SIDE);
    if (small.length) log(`note: ${small.length} image(s) are under ${MSSSIM_MIN_SIDE} px on the short side: no MS-SSIM for them`);

    // Jobs, with cache look-ups first so the ETA only counts real work.
    interface Job { r: (typeof ready)[number]; setting: Setting; src: SourceImage; cachePath: string }
    const jobs: Job[] = [];
    for (const r of ready) {
      for (const setting of r.settings) {
        for (const src of sources) {
          const cachePath = join(cacheDir, safeName(r.codec.id), safeName(setting.key), `${src.sha256.slice(0, 20)}-${r.config.slice(0, 16)}.json`);
          jobs.push({ r, setting, src, cachePath });
        }
      }
    }
    const todo = jobs.filter((j) => !existsSync(j.cachePath));
    log(`${names.length} image(s), ${ready.length} codec(s), ${jobs.length} points: ${jobs.length - todo.length} cached, ${todo.length} to compute`);

    const points: PointRecord[] = [];
    const errors = new Map<string, string[]>();
    const spent = new Map<string, { ms: number; n: number }>();
    const left = new Map<string, number>();
    for (const j of todo) left.set(j.r.codec.id, (left.get(j.r.codec.id) ?? 0) + 1);
    let done = 0;
    let lastPrint = 0;
    const isTty = process.stderr.isTTY === true;
    const eta = (): string => {
      let total = 0;
      let avgAll = 0;
      let nAll = 0;
      for (const v of spent.values()) {
        avgAll += v.ms;
        nAll += v.n;
      }
      const fallback = nAll ? avgAll / nAll : 1000;
      for (const [id, n] of left) {
        const s = spent.get(id);
        total += n * (s && s.n ? s.ms / s.n : fallback);
      }
      return fmtMs(total);
    };
    for (const j of jobs) {
      const id = j.r.codec.id;
      if (existsSync(j.cachePath)) {
        try {
          points.push((JSON.parse(readFileSync(j.cachePath, 'utf8')) as { point: PointRecord }).point);
          continue;
        } catch {
          /* unreadable entry: recompute below */
        }
      }
      const t0 = performance.now();
      try {
        const res = await j.r.codec.run(j.src, j.setting, work);
        const a = j.src.image;
        const b = res.decoded;
        if (b.width !== a.width || b.height !== a.height) throw new SgaiError('CORRUPT', `decoded ${b.width}x${b.height}, expected ${a.width}x${a.height}`);
        const msOk = Math.min(a.width, a.height) >= MSSSIM_MIN_SIDE;
        const point: PointRecord = {
          codec: id,
          setting: j.setting.key,
          value: j.setting.value,
          image: j.src.name,
          imageSha256: j.src.sha256,
          width: a.width,
          height: a.height,
          bytes: res.bytes,
          bpp: (res.bytes * 8) / (a.width * a.height),
          psnrRgb: finiteOrNull(psnr(a, b)),
          psnrY: finiteOrNull(psnrY(a, b)),
          msssimRgb: msOk ? msssimRgb(a, b) : null,
          msssimY: msOk ? msssimY(a, b) : null,
          encodeMs: res.encodeMs,
          decodeMs: res.decodeMs,
        };
        writeAtomic(j.cachePath, `${JSON.stringify({ config: j.r.config, versions: j.r.versions, point }, null, 1)}\n`);
        points.push(point);
      } catch (e) {
        const msg = `${j.setting.key} ${j.src.name}: ${e instanceof Error ? e.message : String(e)}`;
        errors.set(id, [...(errors.get(id) ?? []), msg]);
        log(`error ${id} ${msg}`);
      }
      const s = spent.get(id) ?? { ms: 0, n: 0 };
      s.ms += performance.now() - t0;
      s.n++;
      spent.set(id, s);
      left.set(id, (left.get(id) ?? 1) - 1);
      done++;
      const now = performance.now();
      if (isTty || now - lastPrint > 2000 || done === todo.length) {
        lastPrint = now;
        const line = `[${String(done).padStart(String(todo.length).length)}/${todo.length}] ${id} ${j.setting.key} ${j.src.name}  ${((100 * done) / todo.length).toFixed(1)}%  ETA ${eta()}`;
        if (isTty) process.stderr.write(`\r${line.padEnd(100)}${done === todo.length ? '\n' : ''}`);
        else log(line);
      }
    }

    // Curves and comparisons.
    const codecs: CodecSummary[] = ready.map((r) => {
      const ps = points.filter((p) => p.codec === r.codec.id);
      const meanOf = (f: (p: PointRecord) => number) => (ps.length ? ps.reduce((s, p) => s + f(p), 0) / ps.length : 0);
      return {
        id: r.codec.id,
        label: r.codec.label,
        kind: r.codec.kind,
        versions: r.versions,
        commands: r.codec.commands,
        models: r.codec.models,
        ...averageCurve(ps, sources.length),
        errors: errors.get(r.codec.id) ?? [],
        sweepEncodeMs: meanOf((p) => p.encodeMs),
        sweepDecodeMs: meanOf((p) => p.decodeMs),
      };
    });
    const anchors = (o.anchors ?? ['jpeg', 'sgai', 'sgai-test']).filter((a) => codecs.some((c) => c.id === a));
    const bd: BdResult[] = [];
    for (const a of anchors) {
      const ac = codecs.find((c) => c.id === a);
      if (!ac) continue;
      for (const t of codecs) {
        if (t.id === a) continue;
        bd.push(bdBetween(a, rd(ac.curve, 'psnrRgb'), t.id, rd(t.curve, 'psnrRgb'), 'psnrRgb', 'pchip'));
        bd.push(bdBetween(a, rd(ac.curve, 'psnrRgb'), t.id, rd(t.curve, 'psnrRgb'), 'psnrRgb', 'cubic'));
        bd.push(bdBetween(a, rd(ac.curve, 'psnrY'), t.id, rd(t.curve, 'psnrY'), 'psnrY', 'pchip'));
        bd.push(bdBetween(a, rd(ac.curve, 'msssimRgbDb'), t.id, rd(t.curve, 'msssimRgbDb'), 'msssimRgbDb', 'pchip'));
      }
    }
    // Per sgai point: how much rate each other codec needs for the same PSNR (useful with one model).
    const pointComparisons: PointComparison[] = [];
    for (const s of codecs.filter((c) => c.kind === 'sgai')) {
      for (const p of s.curve) {
        for (const c of codecs.filter((x) => x.kind === 'classic')) {
          const logR = interp(c.curve.map((q) => q.psnrRgb), c.curve.map((q) => Math.log(q.bpp)), p.psnrRgb);
          const q = interp(c.curve.map((x) => Math.log(x.bpp)), c.curve.map((x) => x.psnrRgb), Math.log(p.bpp));
          pointComparisons.push({ sgai: s.id, setting: p.setting, other: c.id, rateRatioAtEqualPsnr: logR === null ? null : Math.exp(logR) / p.bpp, psnrGapAtEqualRate: q === null ? null : q - p.psnrRgb });
        }
      }
    }
    // Published Kodak curves, only when this is the 24-image Kodak set.
    const isKodak = name.toLowerCase() === 'kodak' && sources.length === 24;
    const published = isKodak
      ? {
          source: PUBLISHED_SOURCE,
          bd: PUBLISHED_KODAK.flatMap((pc) =>
            codecs.map((c) => bdBetween(`published:${pc.id}`, pc.points.map((x) => ({ rate: x.bpp, quality: x.psnr })), c.id, rd(c.curve, 'psnrRgb'), 'psnrRgb', 'pchip')),
          ),
        }
      : null;

    const speed = await speedPass(ready.map((r) => r.codec), sources.slice(0, o.speedImages ?? 3), work, o.settings, log);

    const summary: BenchSummary = {
      dataset: name,
      datasetPath,
      images: names,
      generatedAt: new Date().toISOString(),
      hardware: { ...cpuInfo(), memoryGiB: Math.round(totalmem() / 2 ** 30), loadAvgAtStart: loadAtStart.map((v) => Math.round(v * 100) / 100), node: process.version, platform: `${process.platform} ${process.arch}` },
      metricsConventions: METRICS_CONVENTIONS,
      codecs,
      skipped,
      anchors,
      bd,
      pointComparisons,
      published,
      speed,
      cache: { hits: jobs.length - todo.length, computed: todo.length, dir: cacheDir },
      outDir,
    };
    writeOutputs(summary, points, outDir);
    const plotsDir = o.plotsDir === null ? null : resolve(root, o.plotsDir ?? join('docs', 'plots'));
    const plotFiles = plotsDir ? await writePlots(summary, plotsDir) : [];
    const docsPath = o.docsPath === null ? null : resolve(root, o.docsPath ?? join('docs', 'benchmarks.md'));
    if (docsPath) updateDocs(summary, docsPath, { command: o.command ?? 'npm run bench:rd', plotsDir, plotFiles });
    log(`wrote ${join(outDir, 'points.csv')}, points.json, summary.json${plotsDir ? `; ${plotFiles.length} plot file(s) in ${plotsDir}` : ''}${docsPath ? `; updated ${docsPath}` : ''}`);
    return summary;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Fresh timings on the same images for every codec, at its middle setting, after one warm-up. */
async function speedPass(codecs: Codec[], images: SourceImage[], work: string, overrides: BenchOptions['settings'], log: (l: string) => void): Promise<BenchSummary['speed']> {
  if (!images.length || !codecs.length) return null;
  const mp = images.reduce((s, i) => s + i.image.width * i.image.height, 0) / 1e6;
  const entries: SpeedEntry[] = [];
  for (const c of codecs) {
    const list = overrides?.[c.id]?.map((t) => c.parseSetting(t)) ?? c.settings;
    const setting = list[Math.floor((list.length - 1) / 2)];
    try {
      await c.run(images[0], setting, work);
      let enc = 0;
      let dec = 0;
      for (const img of images) {
        const r = await c.run(img, setting, work);
        enc += r.encodeMs;
        dec += r.decodeMs;
      }
      entries.push({ codec: c.id, setting: setting.key, encodeMPs: mp / (enc / 1000), decodeMPs: mp / (dec / 1000), encodeVsSgai: null, decodeVsSgai: null });
      log(`speed ${c.id} ${setting.key}: encode ${(mp / (enc / 1000)).toFixed(2)} MP/s, decode ${(mp / (dec / 1000)).toFixed(2)} MP/s`);
    } catch (e) {
      log(`speed ${c.id}: failed (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  const ref = entries.find((e) => e.codec === 'sgai') ?? entries.find((e) => e.codec === 'sgai-test') ?? null;
  if (ref) {
    for (const e of entries) {
      e.encodeVsSgai = e.encodeMPs / ref.encodeMPs;
      e.decodeVsSgai = e.decodeMPs / ref.decodeMPs;
    }
  }
  return {
    images: images.map((i) => i.name),
    megapixels: mp,
    reference: ref?.codec ?? null,
    entries,
    note:
      'Wall time per image, one warm-up image first, all codecs in this process run one after another. Command-line codecs include process start and reading/writing their files; ' +
      'sgai and mozjpeg run in-process (no process start). Ratios > 1 = faster than sgai. The machine may be shared with other jobs.',
  };
}

const csvCell = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

function writeOutputs(summary: BenchSummary, points: PointRecord[], outDir: string): void {
  mkdirSync(outDir, { recursive: true });
  const cols: Array<keyof PointRecord> = ['codec', 'setting', 'value', 'image', 'width', 'height', 'bytes', 'bpp', 'psnrRgb', 'psnrY', 'msssimRgb', 'msssimY', 'encodeMs', 'decodeMs', 'imageSha256'];
  const csv = [['dataset', ...cols].join(','), ...points.map((p) => [summary.dataset, ...cols.map((c) => p[c])].map(csvCell).join(','))].join('\n');
  writeAtomic(join(outDir, 'points.csv'), `${csv}\n`);
  writeAtomic(join(outDir, 'points.json'), `${JSON.stringify({ dataset: summary.dataset, generatedAt: summary.generatedAt, points }, null, 1)}\n`);
  writeAtomic(join(outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
}
