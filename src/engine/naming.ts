/**
 * Where each photo's .sgai goes. Names come from a template, are unique within the batch
 * (case-insensitively, so a macOS or Windows disk cannot merge two of them), and never replace
 * a file sgai did not write: the manifest says which files are sgai's.
 */
import { lstat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import exifr from 'exifr';
import { SgaiError } from '../core';
import type { SourceFile } from './scan';

export type ConflictPolicy = 'unique' | 'skip' | 'overwrite';
export const CONFLICT_POLICIES: readonly ConflictPolicy[] = ['unique', 'skip', 'overwrite'];

export interface NamingOptions {
  /** Absolute output root (in 'beside' layout: the source root, which holds the manifest). */
  outRoot: string;
  /** mirror: the source tree under outRoot (default); beside: next to each original. */
  layout?: 'mirror' | 'beside';
  /** Default '{folder}/{name}' (mirror) or '{name}' (beside). */
  template?: string;
  /** Added after the rendered name in 'beside' layout, e.g. '-sgai'. */
  suffix?: string;
  preset: string;
  conflict?: ConflictPolicy;
}

export interface CaptureDate {
  /** YYYY-MM-DD */
  date: string;
  from: 'exif' | 'mtime';
}

export interface NamedJob {
  source: SourceFile;
  /** Running number within the whole (unsharded) batch, from 1. */
  n: number;
  /** Absolute output path. */
  output: string;
  /** Output relative to the output root, '/'-separated: how the manifest names it. */
  outputRel: string;
  /** write, or skip (conflict policy). */
  action: 'write' | 'skip';
  /** A file is there and it is sgai's own (this photo's earlier output, or --conflict overwrite). */
  replace: boolean;
  reason?: string;
  date?: CaptureDate;
}

const TOKENS = ['name', 'folder', 'date', 'preset', 'n'] as const;
type Token = (typeof TOKENS)[number];

/** Refuses templates that name unknown tokens or could escape the output root. */
export function checkTemplate(template: string): void {
  for (const m of template.matchAll(/\{([^}]*)\}/g)) {
    if (!TOKENS.includes(m[1] as Token)) {
      throw new SgaiError('INVALID_ARGUMENT', `unknown token {${m[1]}} in the naming template "${template}" (use ${TOKENS.map((t) => `{${t}}`).join(' ')})`);
    }
  }
  if (template.startsWith('/') || template.split('/').includes('..') || /^[A-Za-z]:/.test(template)) {
    throw new SgaiError('INVALID_ARGUMENT', `the naming template "${template}" must stay inside the output folder (no leading "/" and no "..")`);
  }
  if (!template.includes('{name}') && !template.includes('{n}')) {
    throw new SgaiError('INVALID_ARGUMENT', `the naming template "${template}" needs {name} or {n}, or every photo would get the same name`);
  }
}

export const usesDate = (template: string) => template.includes('{date}');

export function renderTemplate(template: string, values: Record<Token, string>): string {
  // Token values cannot add folders, except {folder} itself; empty segments collapse.
  const rendered = template.replace(/\{(name|folder|date|preset|n)\}/g, (_, t: Token) => (t === 'folder' ? values[t] : values[t].replaceAll('/', '_')));
  return rendered.split('/').filter((s) => s !== '' && s !== '.').join('/');
}

const pad = (v: number) => String(v).padStart(2, '0');
const ymd = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

/** The capture date from EXIF (DateTimeOriginal, then CreateDate), else the file's modification date. */
export async function captureDate(abs: string, mtimeMs: number): Promise<CaptureDate> {
  try {
    const tags = await exifr.parse(abs, { pick: ['DateTimeOriginal', 'CreateDate'] });
    // exifr reads EXIF's zone-less time as local time; the local getters give its digits back.
    const d = tags?.DateTimeOriginal ?? tags?.CreateDate;
    if (d instanceof Date && !Number.isNaN(d.getTime())) return { date: ymd(d), from: 'exif' };
  } catch {
    // no EXIF, or a file exifr cannot parse: the file date is the honest fallback
  }
  return { date: ymd(new Date(mtimeMs)), from: 'mtime' };
}

const toPosix = (p: string) => (sep === '/' ? p : p.split(sep).join('/'));
const collisionKey = (p: string) => p.normalize('NFC').toLowerCase();

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p); // a symlink at the name counts: it is something sgai did not write
    return true;
  } catch {
    return false;
  }
}

/**
 * Names every source's output, in order. `owners` (from the manifest) maps an output path to the
 * source that wrote it; a photo's own earlier output is reused, so a re-run lands on the same name.
 */
export async function nameOutputs(sources: readonly SourceFile[], opts: NamingOptions, owners: ReadonlyMap<string, string>): Promise<NamedJob[]> {
  const layout = opts.layout ?? 'mirror';
  const template = opts.template ?? (layout === 'mirror' ? '{folder}/{name}' : '{name}');
  checkTemplate(template);
  const conflict = opts.conflict ?? 'unique';
  const taken = new Set<string>();
  const jobs: NamedJob[] = [];
  for (const [i, source] of sources.entries()) {
    const slash = source.rel.lastIndexOf('/');
    const file = source.rel.slice(slash + 1);
    const dot = file.lastIndexOf('.');
    const date = usesDate(template) ? await captureDate(source.abs, source.mtimeMs) : undefined;
    const rendered = renderTemplate(template, {
      name: dot > 0 ? file.slice(0, dot) : file,
      folder: slash >= 0 ? source.rel.slice(0, slash) : '',
      date: date?.date ?? '',
      preset: opts.preset,
      n: String(i + 1),
    });
    let base = layout === 'mirror' ? join(opts.outRoot, rendered) : join(dirname(source.abs), rendered + (opts.suffix ?? ''));
    if (base.toLowerCase().endsWith('.sgai')) base = base.slice(0, -5);
    const job = await pickName(source, base, { taken, owners, conflict, outRoot: opts.outRoot });
    jobs.push({ ...job, source, n: i + 1, date });
  }
  return jobs;
}

async function pickName(
  source: SourceFile,
  base: string,
  c: { taken: Set<string>; owners: ReadonlyMap<string, string>; conflict: ConflictPolicy; outRoot: string },
): Promise<Pick<NamedJob, 'output' | 'outputRel' | 'action' | 'replace' | 'reason'>> {
  for (let k = 1; ; k++) {
    const output = k === 1 ? `${base}.sgai` : `${base} (${k}).sgai`;
    const key = collisionKey(output);
    if (c.taken.has(key)) continue; // another photo of this batch has it
    const outputRel = toPosix(relative(c.outRoot, output));
    const owner = c.owners.get(outputRel);
    const there = await exists(output);
    const take = (replace: boolean) => {
      c.taken.add(key);
      return { output, outputRel, action: 'write' as const, replace };
    };
    if (!there || owner === source.rel) return take(there);
    const ours = owner !== undefined;
    if (c.conflict === 'unique') continue;
    if (c.conflict === 'overwrite' && ours) return take(true);
    return {
      output, outputRel, action: 'skip', replace: false,
      reason: ours ? `${outputRel} exists (written by sgai for ${owner})` : `${outputRel} exists and was not written by sgai; it is left alone`,
    };
  }
}
