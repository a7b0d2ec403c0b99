/**
 * Command-line options: which command takes which option, and the bounds of every value.
 * An option a command does not use is refused rather than ignored, so a photographer never
 * believes a setting was applied when it was not.
 */
import { METADATA_POLICIES, type MetadataPolicy, METHODS, type QualityTarget, type RefineMethod, type RefineOptions, SgaiError } from '../core';

export type Values = Record<string, string | boolean | string[] | undefined>;

export const OPTION_SPEC = {
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
  flatten: { type: 'boolean' },
  'first-frame': { type: 'boolean' },
  'bit-depth': { type: 'string' },
  region: { type: 'string' },
  fast: { type: 'boolean' },
  exact: { type: 'boolean' },
  salvage: { type: 'boolean' },
  'max-megapixels': { type: 'string' },
  metadata: { type: 'string' },
  json: { type: 'boolean' },
  id: { type: 'string' },
  'out-dir': { type: 'string' },
  out: { type: 'string' },
  preset: { type: 'string' },
  include: { type: 'string', multiple: true },
  exclude: { type: 'string', multiple: true },
  template: { type: 'string' },
  conflict: { type: 'string' },
  'min-savings': { type: 'string' },
  'copy-original': { type: 'boolean' },
  shard: { type: 'string' },
  'dry-run': { type: 'boolean' },
  'follow-symlinks': { type: 'boolean' },
  workers: { type: 'string' },
  verify: { type: 'boolean' },
  report: { type: 'string' },
  backend: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

const GLOBAL = ['backend', 'quiet', 'help', 'version'];
const ALLOWED: Record<string, string[]> = {
  encode: ['output', 'model', 'tile', 'no-preview', 'force', 'refine', 'iters', 'lambda', 'lr', 'seed', 'time-budget',
    'target-bpp', 'target-size', 'target-psnr', 'target-msssim', 'flatten', 'first-frame', 'max-megapixels', 'metadata', 'exact'],
  decode: ['output', 'force', 'quality', 'bit-depth', 'region', 'fast', 'exact', 'salvage', 'max-megapixels'],
  info: ['json'],
  models: [],
  'import-model': ['id', 'lambda', 'quality', 'out-dir', 'force'],
  batch: ['out', 'preset', 'model', 'tile', 'refine', 'iters', 'lambda', 'lr', 'seed', 'time-budget', 'include', 'exclude', 'template',
    'conflict', 'min-savings', 'copy-original', 'shard', 'dry-run', 'json', 'follow-symlinks', 'flatten', 'first-frame', 'max-megapixels',
    'metadata', 'workers', 'verify', 'report', 'target-bpp', 'target-size', 'target-psnr', 'target-msssim'],
};

export function usage(msg: string): never {
  throw new SgaiError('INVALID_ARGUMENT', `${msg}\nRun "sgai --help" for usage.`);
}

/** Refuse options that the command would silently ignore. */
export function checkOptionsFor(cmd: string, values: Values): void {
  const allowed = ALLOWED[cmd];
  if (!allowed) return;
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined || GLOBAL.includes(k) || allowed.includes(k)) continue;
    const owners = Object.entries(ALLOWED).filter(([, opts]) => opts.includes(k)).map(([c]) => c);
    usage(`--${k} does not apply to "sgai ${cmd}"${owners.length ? ` (it is an option of ${owners.map((c) => `"sgai ${c}"`).join(', ')})` : ''}`);
  }
}

/** A number option within [min, max]; `integer` refuses fractions (e.g. "1e9" passes only if in range). */
export function numberOption(
  values: Values, name: string, bounds: { min: number; max: number; integer?: boolean; exclusiveMin?: boolean; unit?: string },
): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  const range = `${bounds.exclusiveMin ? 'above' : 'from'} ${bounds.min} ${bounds.exclusiveMin ? 'up ' : ''}to ${bounds.max}${bounds.unit ? ` ${bounds.unit}` : ''}`;
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n)) usage(`--${name} needs a number ${range} (got "${String(raw)}")`);
  if (bounds.integer && !Number.isInteger(n)) usage(`--${name} needs a whole number ${range} (got ${raw})`);
  if (n < bounds.min || n > bounds.max || (bounds.exclusiveMin && n === bounds.min)) usage(`--${name} must be ${range} (got ${raw})`);
  return n;
}

export function targetOption(values: Values): QualityTarget | undefined {
  const given = (['bpp', 'size', 'psnr', 'msssim'] as const).filter((k) => values[`target-${k}`] !== undefined);
  if (given.length > 1) usage('give only one quality target');
  if (!given.length) return undefined;
  const k = given[0];
  const bounds = {
    bpp: { min: 0, max: 24, exclusiveMin: true, unit: 'bits per pixel' },
    size: { min: 100, max: 2 ** 40, integer: true, unit: 'bytes' },
    psnr: { min: 10, max: 100, unit: 'dB' },
    msssim: { min: 0, max: 0.9999, exclusiveMin: true },
  }[k];
  const value = numberOption(values, `target-${k}`, bounds)!;
  return { kind: k === 'size' ? 'bytes' : k, value };
}

export const MAX_ITERATIONS = 100_000;

export function refineOptions(values: Values): RefineOptions | undefined {
  const method = values.refine as string | undefined;
  const tuning = ['iters', 'lambda', 'lr', 'seed', 'time-budget'].filter((k) => values[k] !== undefined);
  if (!method) {
    if (tuning.length) usage(`--${tuning[0]} needs --refine METHOD`);
    return undefined;
  }
  if (!METHODS.includes(method as RefineMethod)) usage(`unknown --refine method "${method}" (use ${METHODS.join(', ')})`);
  return {
    method: method as RefineMethod,
    iterations: numberOption(values, 'iters', { min: 0, max: MAX_ITERATIONS, integer: true }),
    // CompressAI's MSE qualities span 0.0018-0.0932; refinement reaches a few times either side.
    lambda: numberOption(values, 'lambda', { min: 0.0001, max: 1 }),
    learningRate: numberOption(values, 'lr', { min: 0, max: 1, exclusiveMin: true }),
    seed: numberOption(values, 'seed', { min: 0, max: 2 ** 32 - 1, integer: true }),
    timeBudgetS: numberOption(values, 'time-budget', { min: 0, max: 7 * 24 * 3600, exclusiveMin: true, unit: 'seconds' }),
  };
}

/** --max-megapixels as a pixel count (undefined: the core default). */
export function maxPixelsOption(values: Values): number | undefined {
  // Up to a whole 65535x65535 image (4,295 MP), the format's own limit.
  const mp = numberOption(values, 'max-megapixels', { min: 0, max: 4295, exclusiveMin: true, unit: 'megapixels' });
  return mp === undefined ? undefined : Math.floor(mp * 1e6);
}

/**
 * --metadata all|no-location|copyright as ReadOptions.metadata. 'all', the default, is left out
 * (undefined) so that a batch started before the option existed, or without it, resumes with
 * the same settings hash as one given --metadata all.
 */
export function metadataOption(values: Values): Exclude<MetadataPolicy, 'all'> | undefined {
  const raw = values.metadata;
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !(METADATA_POLICIES as readonly string[]).includes(raw)) {
    usage(`--metadata must be ${METADATA_POLICIES.join(', ')} (got ${String(raw)})`);
  }
  return raw === 'all' ? undefined : (raw as Exclude<MetadataPolicy, 'all'>);
}

export function parseRegion(s: Values[string]) {
  if (s === undefined) return undefined;
  const p = String(s).split(',').map(Number);
  if (p.length !== 4 || p.some((v) => !Number.isInteger(v) || v < 0) || p[2] < 1 || p[3] < 1) {
    usage(`--region must be x,y,width,height in pixels (got ${String(s)})`);
  }
  return { x: p[0], y: p[1], width: p[2], height: p[3] };
}

/** More encoder processes than this gain nothing on any machine sgai targets and only cost memory. */
export const MAX_WORKERS = 64;

/** --workers N for batch: encoder processes (0: encode in the sgai process itself); default or "auto": chosen by cores and memory. */
export function workersOption(values: Values): number | 'auto' {
  if (values.workers === undefined || values.workers === 'auto') return 'auto';
  return numberOption(values, 'workers', { min: 0, max: MAX_WORKERS, integer: true })!;
}
