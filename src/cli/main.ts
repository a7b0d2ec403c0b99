#!/usr/bin/env node
/**
 * `sgai` command line: encode, decode, info, models. Exit codes are part of the interface:
 * 0 ok, 1 unexpected failure, 2 usage error, 3 unreadable/corrupt input, 4 model missing or
 * unusable, 5 cannot write output, 130 cancelled.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import writeFileAtomic from 'write-file-atomic';
import { describeBackend, initBackend, type BackendRequest } from '../core/backend';
import { decode, encodeFile, resolveModel, type EncodeResult } from '../core/codec';
import { readImage } from '../core/image/read';
import { encodeToTarget, type QualityTarget } from '../core/targets';
import { SgaiError, isSgaiError, type SgaiErrorCode } from '../core/errors';
import { decodeSgai, listChunks, sizeBreakdown } from '../core/format';
import { writeImageFile } from '../core/image/export';
import { TEST_MODELS_DIR, defaultModel, listModels, loadModel } from '../core/model/registry';
import sharp from 'sharp';
import { progressReporter } from './progress';
import { importModelCommand } from './import-model';
import { estimateRefineSeconds } from '../core/refine/estimate';
import { METHODS, type RefineMethod } from '../core/refine/probabilities';
import type { RefineOptions } from '../core/refine/refine';

const HELP = `sgai - learned image compression for photo libraries

Usage:
  sgai encode <image> [-o out.sgai] [--model ID|PATH] [--tile 512] [--no-preview] [--force]
              [--refine sga|linear|cosine|ssl|linear3|cosine3|ssl3] [--iters 500] [--lambda L]
              [--lr 0.005] [--seed 0] [--time-budget SECONDS]
              [--target-bpp B | --target-size BYTES | --target-psnr DB | --target-msssim S]
              (targets search the installed models, and the refinement lambda with --refine)
  sgai decode <file.sgai> [-o out.png|out.jpg] [--quality 92] [--bit-depth 8|16]
              [--region x,y,w,h] [--force] [--fast]
              (--fast: run the synthesis on the active backend instead of the wasm reference;
               faster on GPUs, but pixels may then differ by one level between machines)
  sgai info <file.sgai> [--json]
  sgai models
  sgai import-model <checkpoint.pth> [--id ID] [--lambda L | --quality 1..8] [--out-dir DIR] [--force]
              install a CompressAI mbt2018-mean checkpoint as an sgai model (in ~/.sgai/models
              unless --out-dir; --quality is CompressAI's index; needs python3 with PyTorch)
Options:
  --backend auto|wasm|cpu|tensorflow|tensorflow-gpu   compute backend (default auto)
  --quiet      no progress on stderr
  -h, --help   this help;  --version  print the version
Exit codes: 0 ok, 1 unexpected error, 2 usage, 3 bad input, 4 model missing, 5 cannot write, 130 cancelled.`;

const EXIT: Partial<Record<SgaiErrorCode, number>> = {
  INVALID_ARGUMENT: 2,
  TRUNCATED: 3, BAD_MAGIC: 3, UNSUPPORTED_VERSION: 3, CHECKSUM: 3, CORRUPT: 3, UNKNOWN_REQUIRED_CHUNK: 3,
  UNSUPPORTED_IMAGE: 3, IMAGE_TOO_LARGE: 3,
  MODEL_NOT_INSTALLED: 4, BAD_WEIGHTS: 4,
  IO: 5,
  CANCELLED: 130,
};

function usage(msg: string): never {
  throw new SgaiError('INVALID_ARGUMENT', `${msg}\nRun "sgai --help" for usage.`);
}

async function writeOutput(path: string, data: Uint8Array, force: boolean): Promise<void> {
  if (existsSync(path) && !force) usage(`${path} exists; pass --force to replace it`);
  try {
    await writeFileAtomic(path, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  } catch (e) {
    throw new SgaiError('IO', `cannot write ${path}: ${(e as Error).message}`);
  }
}

function readInput(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new SgaiError('IO', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

function parseRegion(s: string | undefined) {
  if (!s) return undefined;
  const p = s.split(',').map(Number);
  if (p.length !== 4 || p.some((v) => !Number.isInteger(v) || v < 0)) usage(`--region must be x,y,width,height in pixels (got ${s})`);
  return { x: p[0], y: p[1], width: p[2], height: p[3] };
}

const num = (v: number, d = 3) => v.toFixed(d);
const formatDuration = (s: number) => (s < 90 ? `${s.toFixed(0)} s` : s < 5400 ? `${(s / 60).toFixed(0)} min` : `${(s / 3600).toFixed(1)} h`);

function numberOption(v: string | undefined, name: string, check: (n: number) => boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || !check(n)) usage(`--${name} got an invalid value "${v}"`);
  return n;
}

function targetOption(v: Record<string, string | boolean | undefined>): QualityTarget | undefined {
  const given = (['bpp', 'size', 'psnr', 'msssim'] as const).filter((k) => v[`target-${k}`] !== undefined);
  if (given.length > 1) usage('give only one quality target');
  if (!given.length) return undefined;
  const k = given[0];
  const value = numberOption(v[`target-${k}`] as string, `target-${k}`, (n) => n > 0 && (k !== 'msssim' || n < 1));
  return { kind: k === 'size' ? 'bytes' : k, value: value! };
}

function refineOptions(v: Record<string, string | boolean | undefined>): RefineOptions | undefined {
  const method = v.refine as string | undefined;
  const tuning = ['iters', 'lambda', 'lr', 'seed', 'time-budget'].filter((k) => v[k] !== undefined);
  if (!method) {
    if (tuning.length) usage(`--${tuning[0]} needs --refine METHOD`);
    return undefined;
  }
  if (!METHODS.includes(method as RefineMethod)) usage(`unknown --refine method "${method}" (use ${METHODS.join(', ')})`);
  return {
    method: method as RefineMethod,
    iterations: numberOption(v.iters as string | undefined, 'iters', (n) => Number.isInteger(n) && n >= 0),
    lambda: numberOption(v.lambda as string | undefined, 'lambda', (n) => n > 0),
    learningRate: numberOption(v.lr as string | undefined, 'lr', (n) => n > 0),
    seed: numberOption(v.seed as string | undefined, 'seed', (n) => Number.isInteger(n) && n >= 0),
    timeBudgetS: numberOption(v['time-budget'] as string | undefined, 'time-budget', (n) => n > 0),
  };
}
let ranCommand = '';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      model: { type: 'string' },
      tile: { type: 'string' },
      'no-preview': { type: 'boolean' },
      force: { type: 'boolean' },
      quality: { type: 'string' },
      refine: { type: 'string' },
      iters: { type: 'string' },
      lambda: { type: 'string' },
      lr: { type: 'string' },
      seed: { type: 'string' },
      'time-budget': { type: 'string' },
      'target-bpp': { type: 'string' },
      'target-size': { type: 'string' },
      'target-psnr': { type: 'string' },
      'target-msssim': { type: 'string' },
      'bit-depth': { type: 'string' },
      region: { type: 'string' },
      json: { type: 'boolean' },
      fast: { type: 'boolean' },
      id: { type: 'string' },
      'out-dir': { type: 'string' },
      backend: { type: 'string', default: 'auto' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
  if (values.version) {
    process.stdout.write(`${JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version}\n`);
    return 0;
  }
  const [cmd, ...args] = positionals;
  ranCommand = cmd ?? '';
  if (values.help || !cmd) {
    process.stdout.write(`${HELP}\n`);
    return values.help ? 0 : 2;
  }
  const progress = progressReporter(!values.quiet);
  const onProgress = progress.update;
  const ctrl = new AbortController();
  process.once('SIGINT', () => ctrl.abort());
  const needBackend = async () => {
    const req = values.backend as BackendRequest;
    if (!['auto', 'wasm', 'cpu', 'tensorflow', 'tensorflow-gpu'].includes(req)) usage(`unknown backend ${req}`);
    const b = await initBackend(req);
    process.stderr.write(`backend: ${describeBackend(b)}\n`);
  };

  switch (cmd) {
    case 'encode': {
      const input = args[0] ?? usage('encode needs an input image');
      const out = resolve(values.output ?? input.replace(/\.[^./]+$/, '') + '.sgai');
      if (resolve(input) === out) usage('the output would overwrite the input; originals are never touched');
      if (existsSync(out) && !values.force) usage(`${out} exists; pass --force to replace it`);
      await needBackend();
      const model = resolveModel({ model: values.model });
      const isTest = !values.model && defaultModel().isTestModel;
      process.stderr.write(`model: ${model.card.id} (N=${model.card.N}, M=${model.card.M}, lambda=${model.card.lambda})${isTest ? ' - UNTRAINED TEST MODEL: no trained weights are installed' : ''}\n`);
      const refine = refineOptions(values);
      const target = targetOption(values);
      if (refine && !values.quiet) {
        const { width, height } = await sharp(input).metadata().then((m) => ({ width: m.width ?? 0, height: m.height ?? 0 }));
        const iters = refine.iterations ?? 500;
        const est = estimateRefineSeconds(model.weights, width, height, iters);
        process.stderr.write(`refine: ${refine.method}, ${iters} iterations; estimated ${formatDuration(est)} on this machine${target ? ' per probe' : ''}${refine.timeBudgetS ? ` (time budget ${formatDuration(refine.timeBudgetS)})` : ''}\n`);
      }
      const t0 = performance.now();
      const common = { tileSize: values.tile ? Number(values.tile) : undefined, preview: !values['no-preview'], onProgress, signal: ctrl.signal, refine };
      let r: EncodeResult;
      if (target) {
        const { image, meta } = await readImage(input);
        // The models of the chosen model's width (compact or standard): one rate point each.
        const family = values.model
          ? [model]
          : listModels().filter((m) => m.dir !== TEST_MODELS_DIR && m.card.N === model.card.N && m.card.M === model.card.M).map(loadModel);
        const t = await encodeToTarget(image, target, family.length ? family : [model], { ...common, metadata: meta });
        progress.finish();
        for (const p of t.probes) {
          process.stderr.write(`  probe ${p.modelId}${p.lambda ? ` lambda ${p.lambda.toPrecision(3)}` : ' unrefined'}: ${num(p.bpp, 4)} bpp, ${num(p.psnr, 2)} dB${p.msssim !== null ? `, MS-SSIM ${num(p.msssim, 4)}` : ''}${p.meets ? '  (meets target)' : ''}\n`);
        }
        process.stdout.write(`target ${target.kind} ${target.value}: ${t.met ? 'reached' : 'NOT reached (closest result kept)'}: ${t.reached.bytes} bytes, ${num(t.reached.bpp, 4)} bpp, PSNR ${num(t.reached.psnr, 2)} dB${t.reached.msssim !== null ? `, MS-SSIM ${num(t.reached.msssim, 4)}` : ''}, model ${t.result.model.card.id}\n`);
        r = t.result;
      } else {
        r = await encodeFile(input, { ...common, model });
      }
      progress.finish();
      await writeOutput(out, r.bytes, values.force ?? false);
      const s = r.stats;
      process.stdout.write(`${out}: ${s.width}x${s.height}, ${s.bytes} bytes, ${num(s.bpp, 4)} bpp (streams ${s.streamBytes} B, header+metadata+preview ${s.overheadBytes} B), ${num((performance.now() - t0) / 1000, 1)} s\n`);
      if (r.refinement) {
        const f = r.refinement;
        process.stdout.write(`refined: ${f.method}, lambda ${f.lambda}, ${f.iterations} iterations in ${num(f.seconds, 1)} s; estimated R-D loss ${num(f.initial.loss, 4)} -> ${num(f.best.loss, 4)} (bpp ${num(f.initial.bpp, 4)} -> ${num(f.best.bpp, 4)}, PSNR ${num(f.initial.psnr, 2)} -> ${num(f.best.psnr, 2)} dB)\n`);
      }
      return 0;
    }
    case 'decode': {
      const input = args[0] ?? usage('decode needs an .sgai file');
      const out = resolve(values.output ?? input.replace(/\.sgai$/i, '') + '.png');
      const ext = extname(out).toLowerCase();
      const format = ext === '.png' ? 'png' : ext === '.jpg' || ext === '.jpeg' ? 'jpeg' : usage(`output must end in .png, .jpg or .jpeg (got ${basename(out)})`);
      if (existsSync(out) && !values.force) usage(`${out} exists; pass --force to replace it`);
      const bitDepth = values['bit-depth'] === '16' ? 16 : values['bit-depth'] === undefined || values['bit-depth'] === '8' ? 8 : usage('--bit-depth must be 8 or 16');
      const quality = values.quality === undefined ? 92 : Number(values.quality);
      if (!Number.isInteger(quality) || quality < 1 || quality > 100) usage('--quality must be 1..100');
      const bytes = readInput(input);
      const parsed = decodeSgai(bytes);
      await needBackend();
      const t0 = performance.now();
      const r = decode(bytes, { region: parseRegion(values.region), bitDepth: format === 'png' ? bitDepth : 8, onProgress, signal: ctrl.signal, exact: !values.fast });
      progress.finish();
      try {
        await writeImageFile(out, r.image, { format, bitDepth: format === 'png' ? bitDepth : 8, quality, icc: parsed.icc, exif: parsed.exif, xmp: parsed.xmp });
      } catch (e) {
        if (isSgaiError(e)) throw e;
        throw new SgaiError('IO', `cannot write ${out}: ${(e as Error).message}`);
      }
      process.stdout.write(`${out}: ${r.image.width}x${r.image.height}, ${num((performance.now() - t0) / 1000, 1)} s\n`);
      return 0;
    }
    case 'info': {
      const input = args[0] ?? usage('info needs an .sgai file');
      const bytes = readInput(input);
      const chunks = listChunks(bytes);
      const f = decodeSgai(bytes);
      const h = f.header;
      const info = {
        file: input,
        bytes: statSync(input).size,
        version: `${chunks.version.major}.${chunks.version.minor}`,
        header: { ...h, weightsSha256: Buffer.from(h.weightsSha256).toString('hex') },
        bpp: (bytes.length * 8) / (h.width * h.height),
        refine: f.refine ?? null,
        metadata: { icc: f.icc?.length ?? 0, exif: f.exif?.length ?? 0, xmp: f.xmp?.length ?? 0 },
        preview: f.preview ? { width: f.preview.width, height: f.preview.height, mime: f.preview.mime, bytes: f.preview.data.length } : null,
        sizeBreakdown: sizeBreakdown(bytes),
        chunks: chunks.chunks,
        unknownChunks: f.unknownChunks,
      };
      if (values.json) {
        process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
        return 0;
      }
      const lines = [
        `${input}: sgai format ${info.version}, ${info.bytes} bytes, ${num(info.bpp, 4)} bpp`,
        `  image      ${h.width}x${h.height}, source ${h.sourceBitDepth}-bit${h.hadAlpha ? ', had alpha (flattened on white)' : ''}, original EXIF orientation ${h.originalOrientation}`,
        `  model      ${h.modelId} (N=${h.channelsN}, M=${h.channelsM}), weights sha256 ${info.header.weightsSha256}`,
        `  tiles      ${h.tileSize} px`,
        `  refined    ${f.refine ? JSON.stringify(f.refine) : 'no'}`,
        `  metadata   ICC ${info.metadata.icc} B, EXIF ${info.metadata.exif} B, XMP ${info.metadata.xmp} B`,
        `  preview    ${info.preview ? `${info.preview.width}x${info.preview.height} ${info.preview.mime}, ${info.preview.bytes} B` : 'none'}`,
        '  chunks:',
        ...chunks.chunks.map((c) => `    ${c.type}  @${String(c.offset).padStart(8)}  ${String(c.length).padStart(9)} B  ${c.required ? 'required' : 'optional'}  crc ${c.crcOk ? 'ok' : 'BAD'}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      return 0;
    }
    case 'models': {
      const def = defaultModel();
      for (const m of listModels()) {
        const c = m.card;
        process.stdout.write(`${m.card.id === def.model.card.id ? '*' : ' '} ${c.id}  N=${c.N} M=${c.M} lambda=${c.lambda}${c.kodak?.psnr ? `  Kodak ${c.kodak.bpp} bpp / ${c.kodak.psnr} dB` : ''}  ${m.weightsPath}\n`);
      }
      if (def.isTestModel) process.stdout.write(`* ${def.model.card.id} (untrained test model; no trained weights installed)\n`);
      return 0;
    }
    case 'import-model':
      return importModelCommand(args, values);
    default:
      usage(`unknown command "${cmd}"`);
  }
}

function reportPeakRss(): void {
  // maxRSS is in kilobytes; printed so large-photo runs can be checked against memory targets.
  process.stderr.write(`peak RSS: ${Math.round(process.resourceUsage().maxRSS / 1024)} MB\n`);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code === 0 && (ranCommand === 'encode' || ranCommand === 'decode')) reportPeakRss();
    process.exit(code);
  },
  (e: unknown) => {
    process.stderr.write('\n');
    if (isSgaiError(e)) {
      process.stderr.write(`sgai: ${e.message}\n`);
      process.exit(EXIT[e.code] ?? 1);
    }
    if (e instanceof TypeError && /parseArgs|Unknown option|ERR_PARSE_ARGS/.test(`${(e as NodeJS.ErrnoException).code} ${e.message}`)) {
      process.stderr.write(`sgai: ${e.message}\nRun "sgai --help" for usage.\n`);
      process.exit(2);
    }
    process.stderr.write(`sgai: unexpected error: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
