/**
 * The output panel's form, apart from the markup: what the photographer types (a draft that can
 * hold half-typed numbers and remembers a folder path while "next to originals" is picked), how
 * it becomes OutputSettings (checked by the contract's own zod schema plus the naming rules the
 * engine applies, so an invalid value is explained inline and never sent), and the one-line
 * policy summary.
 */
import { OutputSettings, type Effort, type MetadataPolicy, type PresetId } from '../../../ipc/schemas';
import { middleEllipsis } from './format';
import { strings, type TargetKind } from './strings';

export type Conflict = OutputSettings['conflict'];

export interface OutputDraft {
  destKind: 'folder' | 'beside';
  folderPath: string;
  suffix: string;
  keepTree: boolean;
  template: string;
  conflict: Conflict;
  minSavings: string;
  copyIfNoSavings: boolean;
  metadata: MetadataPolicy;
  qualityKind: 'preset' | TargetKind;
  preset: PresetId;
  /** Typed value per target kind, so switching kinds back and forth keeps what was typed. */
  targetValues: Record<TargetKind, string>;
  effort: Effort;
  verify: boolean;
  /** One glob per line. */
  include: string;
  exclude: string;
}

export type Field = 'folderPath' | 'suffix' | 'template' | 'minSavings' | 'target' | 'include' | 'exclude';
export type FieldErrors = Partial<Record<Field, string>>;
export type Checked = { ok: true; value: OutputSettings } | { ok: false; errors: FieldErrors };

export const TARGET_KINDS: readonly TargetKind[] = ['bpp', 'bytes', 'psnr', 'msssim'];
/** Max file size is typed in MB (decimal, as format.ts shows sizes). */
const BYTES_PER_MB = 1_000_000;

/** A number as the input shows it: no float noise (0.30000000000000004), no exponent. */
const show = (v: number) => String(Number(v.toPrecision(12)));

export function draftFrom(o: OutputSettings, previous?: OutputDraft): OutputDraft {
  const targetValues: Record<TargetKind, string> = { ...(previous?.targetValues ?? { bpp: '', bytes: '', psnr: '', msssim: '' }) };
  if (o.quality.kind !== 'preset') targetValues[o.quality.kind] = show(o.quality.kind === 'bytes' ? o.quality.value / BYTES_PER_MB : o.quality.value);
  return {
    destKind: o.destination.kind,
    folderPath: o.destination.kind === 'folder' ? o.destination.path : (previous?.folderPath ?? ''),
    suffix: o.destination.kind === 'beside' ? o.destination.suffix : (previous?.suffix ?? '-sgai'),
    keepTree: o.keepTree,
    template: o.template,
    conflict: o.conflict,
    minSavings: show(o.minSavingsPercent),
    copyIfNoSavings: o.copyIfNoSavings,
    metadata: o.metadata,
    qualityKind: o.quality.kind === 'preset' ? 'preset' : o.quality.kind,
    preset: o.quality.kind === 'preset' ? o.quality.preset : (previous?.preset ?? 'balanced'),
    targetValues,
    effort: o.effort,
    verify: o.verify,
    include: o.include.join('\n'),
    exclude: o.exclude.join('\n'),
  };
}

const TOKENS = ['name', 'folder', 'date', 'preset', 'n'];

/** The engine's naming rules (src/engine/naming.ts checkTemplate), said before anything is sent. */
export function templateProblem(template: string): string | null {
  for (const m of template.matchAll(/\{([^}]*)\}/g)) if (!TOKENS.includes(m[1])) return strings.invalid.templateToken(m[0]);
  if (template.startsWith('/') || template.split('/').includes('..') || /^[A-Za-z]:/.test(template)) return strings.invalid.templateEscape;
  if (!template.includes('{name}') && !template.includes('{n}')) return strings.invalid.templateNeedsName;
  return null;
}

/** A full path: "/…" on macOS and Linux, "C:\…" or "\\server\…" on Windows. */
export const isAbsolutePath = (p: string) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');

function parseNumber(text: string, lo: number, hi: number, opts: { integer?: boolean } = {}): number | string {
  const t = text.trim().replace(',', '.');
  if (t === '' || !/^[+-]?(\d+\.?\d*|\.\d+)$/.test(t)) return strings.invalid.number;
  const v = Number(t);
  if (opts.integer && !Number.isInteger(v)) return strings.invalid.wholeNumber;
  if (v < lo || v > hi) return strings.invalid.range(lo, hi);
  return v;
}

const TARGET_RANGES: Record<TargetKind, [number, number]> = {
  // The contract's bounds (src/ipc/schemas.ts Quality), bytes shown in MB.
  bpp: [0.01, 24],
  bytes: [1000 / BYTES_PER_MB, 1e10 / BYTES_PER_MB],
  psnr: [15, 60],
  msssim: [0.5, 0.99999],
};

const lines = (text: string) => text.split('\n').map((l) => l.trim()).filter(Boolean);

export function checkDraft(d: OutputDraft): Checked {
  const errors: FieldErrors = {};
  const folderPath = d.folderPath.trim();
  if (d.destKind === 'folder') {
    if (!folderPath) errors.folderPath = strings.invalid.folderRequired;
    else if (!isAbsolutePath(folderPath)) errors.folderPath = strings.invalid.folderAbsolute;
  } else if (/[\\/]/.test(d.suffix)) errors.suffix = strings.invalid.suffixBad;

  if (d.template.trim()) {
    const problem = templateProblem(d.template.trim());
    if (problem) errors.template = problem;
  }

  const minSavings = parseNumber(d.minSavings, 0, 99);
  if (typeof minSavings === 'string') errors.minSavings = minSavings;

  let quality: OutputSettings['quality'] = { kind: 'preset', preset: d.preset };
  if (d.qualityKind !== 'preset') {
    const [lo, hi] = TARGET_RANGES[d.qualityKind];
    const v = parseNumber(d.targetValues[d.qualityKind], lo, hi);
    if (typeof v === 'string') errors.target = v;
    else if (d.qualityKind === 'bytes') quality = { kind: 'bytes', value: Math.round(v * BYTES_PER_MB) };
    else quality = { kind: d.qualityKind, value: v };
  }

  const include = lines(d.include);
  const exclude = lines(d.exclude);
  const badGlobs = (g: string[]) => g.length > 32 || g.some((x) => x.length > 256);
  if (badGlobs(include)) errors.include = strings.invalid.pattern;
  if (badGlobs(exclude)) errors.exclude = strings.invalid.pattern;

  if (Object.keys(errors).length) return { ok: false, errors };

  const candidate = {
    destination: d.destKind === 'folder' ? { kind: 'folder' as const, path: folderPath } : { kind: 'beside' as const, suffix: d.suffix },
    keepTree: d.keepTree,
    template: d.template.trim(),
    conflict: d.conflict,
    minSavingsPercent: minSavings as number,
    copyIfNoSavings: d.copyIfNoSavings,
    metadata: d.metadata,
    quality,
    effort: d.effort,
    include,
    exclude,
    verify: d.verify,
  };
  // The contract's schema has the last word (lengths, NUL bytes, ...).
  const parsed = OutputSettings.safeParse(candidate);
  if (parsed.success) return { ok: true, value: parsed.data };
  const fieldOf = (path: PropertyKey[]): Field => {
    const top = String(path[0]);
    if (top === 'destination') return d.destKind === 'folder' ? 'folderPath' : 'suffix';
    if (top === 'quality') return 'target';
    if (top === 'minSavingsPercent') return 'minSavings';
    if (top === 'include' || top === 'exclude' || top === 'template') return top;
    return 'template';
  };
  for (const issue of parsed.error.issues) errors[fieldOf(issue.path)] ??= issue.code === 'too_big' ? strings.invalid.tooLong : strings.invalid.generic;
  return { ok: false, errors };
}

/** Two settings say the same thing (for "unsaved changes" and a stale estimate). */
export const sameSettings = (a: OutputSettings, b: OutputSettings) => JSON.stringify(normalise(a)) === JSON.stringify(normalise(b));

function normalise(o: OutputSettings): unknown {
  // Key order can differ between what the engine sends and what the form builds.
  const sortKeys = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sortKeys) : v && typeof v === 'object'
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sortKeys(x)]))
      : v;
  return sortKeys(o);
}

/** "→ /Volumes/…/Pictures (sgai), keep tree, skip done, keep all metadata". */
export function policySummary(o: OutputSettings): string {
  const p = strings.output.summaryParts;
  const parts: string[] = [];
  parts.push(o.destination.kind === 'folder' ? middleEllipsis(o.destination.path, 36) : p.beside(o.destination.suffix));
  parts.push(o.keepTree ? p.keepTree : p.flat);
  parts.push(p.skipDone);
  if (o.conflict !== 'unique') parts.push(p.conflict[o.conflict]);
  if (o.minSavingsPercent > 0) parts.push(p.minSavings(o.minSavingsPercent));
  if (o.minSavingsPercent > 0 && o.copyIfNoSavings) parts.push(p.copyInstead);
  parts.push(p.metadata[o.metadata]);
  if (o.verify) parts.push(p.verify);
  return strings.output.summary(parts);
}

/**
 * Time one photo of `megapixels` takes with an effort on this machine: the measured encode speed
 * plus the effort's refinement budget (an upper bound: refinement may stop earlier). Null when the
 * engine has not measured its speed or does not say the effort's budget.
 */
export function effortSeconds(
  effort: Effort,
  info: { encodeMpPerS: number | null; efforts?: { id: Effort; secondsPerMegapixel: number }[] },
  megapixels: number,
): number | null {
  if (!info.encodeMpPerS || !(info.encodeMpPerS > 0)) return null;
  const budget = info.efforts?.find((e) => e.id === effort);
  if (!budget) return null;
  return megapixels / info.encodeMpPerS + budget.secondsPerMegapixel * megapixels;
}

/** Inserts a token into the template at the caret (or replaces the selection); returns the text and the new caret. */
export function insertToken(template: string, token: string, selStart: number, selEnd: number): { text: string; caret: number } {
  const a = Math.max(0, Math.min(selStart, template.length));
  const b = Math.max(a, Math.min(selEnd, template.length));
  return { text: template.slice(0, a) + token + template.slice(b), caret: a + token.length };
}
