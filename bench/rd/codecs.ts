/**
 * The codecs the R-D benchmark sweeps. Classic codecs are the real command-line tools (Debian's
 * builds, see bench/rd/setup.sh) run on real files, plus mozjpeg through sharp; every size is
 * the size of the file the encoder wrote, and every decode goes back to 8-bit RGB through the
 * codec's own decoder.
 *
 * sgai variants are entries of SGAI_VARIANTS: an id, a label and the options object handed to
 * encode(). The refined (SGA+) variant costs about a second per iteration per Kodak image on a
 * 2-core CPU, so it runs when SGAI_BENCH_REFINE_ITERS sets its budget.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { type BackendName, decode, encode, type EncodeOptions, initBackend, type InstalledModel, type LoadedModel, loadModel, packageRoot, type RasterImage, readImage, SgaiError } from '../../src/core';
import { debVersion, decodePnm, runOk, toolVersion, which } from './tools';

/** One image of the dataset, in the lossless forms the encoders read. */
export interface SourceImage {
  name: string;
  /** sha256 of the source file's bytes: the cache key. */
  sha256: string;
  /** Upright 8-bit RGB: the reference every decode is compared with. */
  image: RasterImage;
  ppmPath: string;
  pngPath: string;
}

/** One point of a codec's sweep: `key` names it in the cache and the CSV, `value` is the knob. */
export interface Setting {
  key: string;
  value: number | string;
}

export interface CodecRun {
  /** Size of the encoded file on disk. */
  bytes: number;
  encodeMs: number;
  decodeMs: number;
  decoded: RasterImage;
}

export type Probe =
  | { ok: true; versions: Record<string, string>; config: string }
  | { ok: false; reason: string };

export interface Codec {
  id: string;
  label: string;
  kind: 'classic' | 'sgai';
  /** The default sweep, lowest rate first where the knob allows. */
  settings: Setting[];
  /** Human-readable encode/decode commands, for the report. */
  commands: string;
  /** Is it usable here, which versions, and a string that changes whenever results would. */
  probe(): Promise<Probe>;
  /** Encode then decode one image at one setting, writing files under `work`. */
  run(src: SourceImage, setting: Setting, work: string): Promise<CodecRun>;
  /** Turn a --settings value typed by the user into a Setting. */
  parseSetting(text: string): Setting;
  /** sgai only: the model cards behind the settings, for the report. */
  models?: ModelInfo[];
}

export interface ModelInfo {
  id: string;
  N: number;
  M: number;
  lambda: number;
  steps?: number;
  hardware?: string;
  trainingTime?: string;
  note?: string;
  isTestModel: boolean;
}

const numSetting = (prefix: string) => (v: number): Setting => ({ key: `${prefix}${v}`, value: v });

function parseNum(prefix: string, text: string): Setting {
  const v = Number(text.replace(prefix, ''));
  if (!Number.isFinite(v)) throw new SgaiError('INVALID_ARGUMENT', `bad setting "${text}" (expected a number)`);
  return numSetting(prefix)(v);
}

async function readDecoded(path: string): Promise<RasterImage> {
  if (path.endsWith('.ppm') || path.endsWith('.pgm')) return decodePnm(await readFile(path));
  // PNG from avifdec/heif-convert: readImage applies an embedded ICC profile if a tool wrote one.
  return to8bit((await readImage(path)).image);
}

/** 16-bit rasters are rounded to 8 bits: every codec here is compared at 8 bits per sample. */
export function to8bit(img: RasterImage): RasterImage {
  if (img.bitDepth === 8) return img;
  return { width: img.width, height: img.height, bitDepth: 8, data: Uint8Array.from(img.data, (v) => Math.round(v / 257)) };
}

interface CliSpec {
  id: string;
  label: string;
  encoder: string;
  decoder: string;
  debPackage: string;
  /** Args that print the version, and a pattern that finds the line. */
  version: { cmd: string; args: string[]; pattern: RegExp };
  input: 'ppm' | 'png';
  ext: string;
  decodedExt: 'ppm' | 'png';
  knob: string;
  values: number[];
  encArgs(v: number, input: string, output: string): string[];
  decArgs(input: string, output: string): string[];
}

function cliCodec(s: CliSpec): Codec {
  const show = (args: string[]) => args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ');
  // NaN stands in for the knob so the template shows where it goes.
  const commands = `${s.encoder} ${show(s.encArgs(NaN, `in.${s.input}`, `out.${s.ext}`)).replace('NaN', `<${s.knob}>`)}; ${s.decoder} ${show(s.decArgs(`out.${s.ext}`, `dec.${s.decodedExt}`))}`;
  return {
    id: s.id,
    label: s.label,
    kind: 'classic',
    settings: s.values.map(numSetting(s.knob)),
    commands,
    parseSetting: (t) => parseNum(s.knob, t),
    async probe() {
      const missing = [s.encoder, s.decoder].filter((b) => !which(b));
      if (missing.length) {
        return { ok: false, reason: `${missing.join(' and ')} not found on PATH (Debian package ${s.debPackage}; run bench/rd/setup.sh)` };
      }
      const v = await toolVersion(s.version.cmd, s.version.args, s.version.pattern);
      const deb = await debVersion(s.debPackage);
      const versions: Record<string, string> = { [s.encoder]: v ?? 'unknown' };
      if (deb) versions[`deb:${s.debPackage}`] = deb;
      return { ok: true, versions, config: JSON.stringify([s.id, versions, commands]) };
    },
    async run(src, setting, work) {
      const v = Number(setting.value);
      const out = join(work, `${s.id}-${setting.key}.${s.ext}`);
      const dec = join(work, `${s.id}-${setting.key}.dec.${s.decodedExt}`);
      const input = s.input === 'ppm' ? src.ppmPath : src.pngPath;
      const e = await runOk(s.encoder, s.encArgs(v, input, out), { timeoutMs: 300_000 });
      const d = await runOk(s.decoder, s.decArgs(out, dec), { timeoutMs: 300_000 });
      const bytes = (await stat(out)).size;
      return { bytes, encodeMs: e.ms, decodeMs: d.ms, decoded: await readDecoded(dec) };
    },
  };
}

/** The classic codecs: each tool's defaults except the quality knob, single-threaded where it has a switch. */
export function classicCodecs(): Codec[] {
  return [
    cliCodec({
      id: 'jpeg', label: 'JPEG (libjpeg-turbo)', encoder: 'cjpeg', decoder: 'djpeg', debPackage: 'libjpeg-turbo-progs',
      version: { cmd: 'cjpeg', args: ['-version'], pattern: /version/i },
      input: 'ppm', ext: 'jpg', decodedExt: 'ppm', knob: 'q',
      // q1..3 reach down to the rates of weak learned models; above 95 JPEG wastes bits.
      values: [1, 3, 5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 95],
      encArgs: (q, i, o) => ['-quality', String(q), '-outfile', o, i],
      decArgs: (i, o) => ['-ppm', '-outfile', o, i],
    }),
    cliCodec({
      id: 'webp', label: 'WebP (libwebp)', encoder: 'cwebp', decoder: 'dwebp', debPackage: 'webp',
      version: { cmd: 'cwebp', args: ['-version'], pattern: /\d+\.\d+/ },
      input: 'ppm', ext: 'webp', decodedExt: 'ppm', knob: 'q',
      values: [0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95],
      encArgs: (q, i, o) => ['-quiet', '-q', String(q), i, '-o', o],
      decArgs: (i, o) => ['-quiet', i, '-ppm', '-o', o],
    }),
    cliCodec({
      id: 'avif', label: 'AVIF (libavif/aom)', encoder: 'avifenc', decoder: 'avifdec', debPackage: 'libavif-bin',
      version: { cmd: 'avifenc', args: ['--version'], pattern: /^Version/i },
      input: 'png', ext: 'avif', decodedExt: 'png', knob: 'qp',
      // Quantizer 0..63, lower is better: fixed min = max quantizer (libavif 0.11 has no -q).
      values: [60, 54, 48, 42, 36, 30, 24, 18, 12],
      encArgs: (q, i, o) => ['-j', '1', '-s', '6', '--min', String(q), '--max', String(q), i, o],
      decArgs: (i, o) => ['-j', '1', '--depth', '8', i, o],
    }),
    cliCodec({
      id: 'jxl', label: 'JPEG XL (libjxl)', encoder: 'cjxl', decoder: 'djxl', debPackage: 'libjxl-tools',
      version: { cmd: 'cjxl', args: ['--version'], pattern: /cjxl/i },
      input: 'ppm', ext: 'jxl', decodedExt: 'ppm', knob: 'd',
      // Butteraugli distance, lower is better; effort 7 is the default.
      values: [15, 10, 7, 5, 3.5, 2.5, 1.8, 1.2, 0.8, 0.5],
      encArgs: (d, i, o) => [i, o, '-d', String(d), '-e', '7', '--num_threads=1', '--quiet'],
      decArgs: (i, o) => [i, o, '--num_threads=1'],
    }),
    cliCodec({
      id: 'heic', label: 'HEIC (libheif/x265)', encoder: 'heif-enc', decoder: 'heif-convert', debPackage: 'libheif-examples',
      version: { cmd: 'heif-enc', args: ['--version'], pattern: /libheif version/i },
      input: 'png', ext: 'heic', decodedExt: 'png', knob: 'q',
      values: [5, 10, 20, 30, 40, 50, 60, 70, 80, 90],
      encArgs: (q, i, o) => ['-q', String(q), i, '-o', o],
      decArgs: (i, o) => [i, o],
    }),
    mozjpegCodec(),
  ];
}

/** mozjpeg as bundled in sharp's libvips (trellis quantisation, 4:2:0), decoded by sharp. */
function mozjpegCodec(): Codec {
  return {
    id: 'mozjpeg',
    label: 'JPEG (mozjpeg via sharp)',
    kind: 'classic',
    settings: [3, 5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 95].map(numSetting('q')),
    commands: 'sharp(raw).jpeg({ quality: <q>, mozjpeg: true }); sharp(jpeg).raw()',
    parseSetting: (t) => parseNum('q', t),
    async probe() {
      const versions = { sharp: sharpVersion(), libvips: sharp.versions.vips, mozjpeg: sharp.versions.mozjpeg ?? 'unknown' };
      return { ok: true, versions, config: JSON.stringify(['mozjpeg', versions]) };
    },
    async run(src, setting, work) {
      const { width, height } = src.image;
      const raw = Buffer.from(src.image.data.buffer, src.image.data.byteOffset, src.image.data.byteLength);
      let t0 = performance.now();
      const jpg = await sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: Number(setting.value), mozjpeg: true }).toBuffer();
      const encodeMs = performance.now() - t0;
      const out = join(work, `mozjpeg-${setting.key}.jpg`);
      await writeFile(out, jpg);
      t0 = performance.now();
      const { data, info } = await sharp(await readFile(out)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const decodeMs = performance.now() - t0;
      if (info.width !== width || info.height !== height) throw new SgaiError('CORRUPT', 'mozjpeg round trip changed the size');
      return { bytes: (await stat(out)).size, encodeMs, decodeMs, decoded: { width, height, bitDepth: 8, data: new Uint8Array(data) } };
    },
  };
}

function sharpVersion(): string {
  try {
    const p = JSON.parse(readFileSync(join(packageRoot(), 'node_modules', 'sharp', 'package.json'), 'utf8')) as { version?: string };
    return p.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export interface SgaiVariant {
  id: string;
  label: string;
  /** Extra options for encode(); {} is the plain (unrefined) encoder. */
  encodeOptions: Partial<EncodeOptions> & Record<string, unknown>;
  /** Why it cannot run yet, or null when it can. */
  unavailable(): string | null;
}

const REFINE_ITERS = Number(process.env.SGAI_BENCH_REFINE_ITERS ?? 0);

export const SGAI_VARIANTS: SgaiVariant[] = [
  { id: 'sgai', label: 'sgai (unrefined)', encodeOptions: {}, unavailable: () => null },
  {
    id: 'sgai-sgaplus',
    label: `sgai + SGA+ (SSL, ${REFINE_ITERS || 'N'} it.)`,
    encodeOptions: { refine: { method: 'ssl', iterations: REFINE_ITERS, seed: 0 } },
    unavailable: () =>
      REFINE_ITERS > 0 && Number.isInteger(REFINE_ITERS)
        ? null
        : 'refined variant off: set SGAI_BENCH_REFINE_ITERS=<iterations> (about one second per iteration per Kodak image on a 2-core CPU)',
  },
];

/** Fingerprint of the code that produces sgai bitstreams and reconstructions. */
function sgaiImplementationHash(): string {
  const root = join(packageRoot(), 'src', 'core');
  const h = createHash('sha256');
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) {
        if (name !== 'metrics' && name !== 'refine-ui') walk(p);
      } else if (p.endsWith('.ts')) {
        h.update(relative(root, p));
        h.update(readFileSync(p));
      }
    }
  };
  walk(root);
  return h.digest('hex').slice(0, 16);
}

export interface SgaiCodecOptions {
  variant: SgaiVariant;
  models: InstalledModel[];
  /** Codec id, e.g. 'sgai' or 'sgai-test' for the seeded test model. */
  id: string;
  label: string;
  backend: BackendName;
  /** The models are the seeded test fixture, not trained ones. */
  isTest: boolean;
}

/** One sgai variant; its sweep is the installed models (one model = one rate point), by lambda. */
export function sgaiCodec(o: SgaiCodecOptions): Codec {
  const models = [...o.models].sort((a, b) => a.card.lambda - b.card.lambda || a.card.N - b.card.N);
  const loaded = new Map<string, LoadedModel>();
  const get = (id: string): LoadedModel => {
    let m = loaded.get(id);
    if (!m) {
      const inst = models.find((x) => x.card.id === id);
      if (!inst) throw new SgaiError('MODEL_NOT_INSTALLED', `model ${id} is not among the benchmarked models`);
      m = loadModel(inst);
      loaded.set(id, m);
    }
    return m;
  };
  const warmed = new Set<string>();
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return {
    id: o.id,
    models: models.map((m) => ({
      id: m.card.id, N: m.card.N, M: m.card.M, lambda: m.card.lambda, steps: m.card.steps,
      hardware: str(m.card.hardware), trainingTime: str(m.card.trainingTime), note: str(m.card.note), isTestModel: o.isTest,
    })),
    label: o.label,
    kind: 'sgai',
    settings: models.map((m) => ({ key: m.card.id, value: m.card.id })),
    commands: `encode(image, { model${Object.keys(o.variant.encodeOptions).length ? `, ...${JSON.stringify(o.variant.encodeOptions)}` : ''} }); await decode(bytes, { model }) — in-process, tfjs ${o.backend} backend`,
    parseSetting: (t) => ({ key: t, value: t }),
    async probe() {
      const why = o.variant.unavailable();
      if (why) return { ok: false, reason: why };
      if (!models.length) return { ok: false, reason: 'no sgai model is installed' };
      const report = await initBackend(o.backend);
      const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
      const versions: Record<string, string> = { sgai: pkg.version, backend: report.name, implementation: sgaiImplementationHash() };
      for (const m of models) versions[`model:${m.card.id}`] = `${m.card.N}/${m.card.M} λ=${m.card.lambda} sha256 ${(m.card.sha256 ?? 'unknown').slice(0, 12)}`;
      return { ok: true, versions, config: JSON.stringify([o.id, versions, o.variant.encodeOptions]) };
    },
    async run(src, setting, work) {
      const model = get(String(setting.value));
      if (!warmed.has(model.card.id)) {
        // The first call compiles kernels and uploads weights; keep that out of the timings.
        const tiny: RasterImage = { width: 64, height: 64, bitDepth: 8, data: new Uint8Array(64 * 64 * 3) };
        await decode((await encode(tiny, { model, preview: false })).bytes, { model });
        warmed.add(model.card.id);
      }
      let t0 = performance.now();
      // Default options, preview included: every size sgai reports counts the preview.
      const r = await encode(src.image, { ...o.variant.encodeOptions, model });
      const encodeMs = performance.now() - t0;
      const out = join(work, `${o.id}-${setting.key}.sgai`);
      writeFileSync(out, r.bytes);
      t0 = performance.now();
      const d = await decode(readFileSync(out), { model });
      const decodeMs = performance.now() - t0;
      return { bytes: (await stat(out)).size, encodeMs, decodeMs, decoded: to8bit(d.image) };
    },
  };
}
