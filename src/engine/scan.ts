/**
 * Finding the photos: a streaming, deterministic walk of folder trees. Yields each photo as it
 * is found (so a UI can count while a 100k-photo library is still being scanned), never follows
 * symlinks unless asked (and then never loops), and leaves out hidden files, sidecars and the
 * output root so a batch never feeds on its own results.
 */
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { SgaiError } from '../core';

/** Photo formats sgai reads, by extension (case-insensitive). */
export const PHOTO_EXTENSIONS = new Set(['.jpg', '.jpeg', '.jpe', '.png', '.tif', '.tiff', '.webp', '.heic', '.heif', '.avif']);
/** Files that travel with photos and must not be mistaken for them (counted apart from "other"). */
export const SIDECAR_EXTENSIONS = new Set(['.xmp', '.aae', '.thm', '.pp3', '.dop', '.on1', '.lrv', '.xml', '.json']);

export interface SourceFile {
  /** Absolute path as reached (through the input's spelling, not resolved). */
  abs: string;
  /** Path relative to the batch's source root, '/'-separated: the job's identity. */
  rel: string;
  size: number;
  mtimeMs: number;
}

export interface ScanCounts {
  folders: number;
  photos: number;
  hidden: number;
  sidecars: number;
  other: number;
  excluded: number;
  /** Symlinks not followed (followSymlinks off), or followed links that would loop. */
  symlinks: number;
  /** Folders skipped because they are the output root. */
  outputRoots: number;
  /** Folders or files that could not be read; see warnings. */
  unreadable: number;
  warnings: string[];
}

export const emptyCounts = (): ScanCounts => ({
  folders: 0, photos: 0, hidden: 0, sidecars: 0, other: 0, excluded: 0, symlinks: 0, outputRoots: 0, unreadable: 0, warnings: [],
});

export interface ScanOptions {
  /** Globs a photo's relative path must match (any); a glob without '/' matches the file name. */
  include?: string[];
  /** Globs that leave a photo out. */
  exclude?: string[];
  followSymlinks?: boolean;
  /** Folders never entered (the output root). */
  skipFolders?: string[];
  /** Updated live while scanning. */
  counts?: ScanCounts;
  signal?: AbortSignal;
}

const toPosix = (p: string) => (sep === '/' ? p : p.split(sep).join('/'));
const idOf = (st: { dev: number | bigint; ino: number | bigint }) => `${st.dev}:${st.ino}`;

/** The folder all inputs share: a single folder input is its own root; files use their folder. */
export async function sourceRootOf(inputs: string[]): Promise<string> {
  const dirs: string[] = [];
  for (const input of inputs) {
    const abs = resolve(input);
    const st = await stat(abs).catch((e: NodeJS.ErrnoException) => {
      throw new SgaiError('INPUT_UNREADABLE', e.code === 'ENOENT' ? `${input} does not exist` : `cannot open ${input}: ${e.message}`);
    });
    dirs.push(st.isDirectory() ? abs : dirname(abs));
  }
  let root = dirs[0];
  for (const d of dirs.slice(1)) {
    while (root !== dirname(root) && d !== root && !d.startsWith(root.endsWith(sep) ? root : root + sep)) root = dirname(root);
  }
  return root;
}

/** Orders relative paths folder by folder (code units), so every run and every shard agrees. */
export function compareRel(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  }
  return pa.length - pb.length;
}

function filters(opts: ScanOptions) {
  // A glob without '/' is about the file name; one with '/' about the whole relative path.
  const glob = (g: string[] | undefined) => {
    if (!g?.length) return undefined;
    const byName = g.filter((p) => !p.includes('/'));
    const byPath = g.filter((p) => p.includes('/'));
    const name = byName.length ? picomatch(byName, { dot: true }) : () => false;
    const path = byPath.length ? picomatch(byPath, { dot: true }) : () => false;
    return (rel: string) => name(rel.slice(rel.lastIndexOf('/') + 1)) || path(rel);
  };
  const inc = glob(opts.include);
  const exc = glob(opts.exclude);
  return (rel: string) => (!inc || inc(rel)) && !exc?.(rel);
}

/**
 * Yields every photo under the inputs (folders walked recursively, files taken as given), each
 * folder's entries in sorted order. Explicit file arguments skip the name rules: the user asked
 * for them, and an unreadable one is reported per photo by the runner.
 */
export async function* scanSources(inputs: string[], opts: ScanOptions = {}): AsyncGenerator<SourceFile> {
  const counts = opts.counts ?? emptyCounts();
  const root = await sourceRootOf(inputs);
  const keep = filters(opts);
  const skip = new Set<string>();
  for (const f of opts.skipFolders ?? []) {
    const st = await stat(f).catch(() => undefined);
    if (st) skip.add(idOf(st));
  }
  const visited = new Set<string>(); // folders entered (dev:ino): loop protection when following links

  async function* walk(dir: string): AsyncGenerator<SourceFile> {
    if (opts.signal?.aborted) throw new SgaiError('CANCELLED', 'scan cancelled');
    const dst = await stat(dir);
    if (skip.has(idOf(dst))) {
      counts.outputRoots++;
      return;
    }
    if (visited.has(idOf(dst))) {
      counts.symlinks++;
      counts.warnings.push(`${dir}: a symlink loops back to a folder already scanned; not scanned again`);
      return;
    }
    visited.add(idOf(dst));
    counts.folders++;
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      counts.unreadable++;
      counts.warnings.push(`${dir}: cannot read this folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); its photos are not included`);
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const ent of entries) {
      const abs = join(dir, ent.name);
      if (ent.name.startsWith('.')) {
        counts.hidden++;
        continue;
      }
      let isDir = ent.isDirectory();
      let isFile = ent.isFile();
      if (ent.isSymbolicLink()) {
        if (!opts.followSymlinks) {
          counts.symlinks++;
          continue;
        }
        const t = await stat(abs).catch(() => undefined); // dangling link: nothing to read
        if (!t) {
          counts.unreadable++;
          counts.warnings.push(`${abs}: a symlink to something that does not exist`);
          continue;
        }
        isDir = t.isDirectory();
        isFile = t.isFile();
      }
      if (isDir) {
        yield* walk(abs);
      } else if (isFile) {
        const f = await fileEntry(abs, relative(root, abs));
        if (f) yield f;
      }
    }
  }

  async function fileEntry(abs: string, relNative: string, explicit = false): Promise<SourceFile | undefined> {
    const rel = toPosix(relNative);
    const ext = extname(abs).toLowerCase();
    if (!explicit) {
      if (SIDECAR_EXTENSIONS.has(ext)) return void counts.sidecars++;
      if (!PHOTO_EXTENSIONS.has(ext)) return void counts.other++;
      if (!keep(rel)) return void counts.excluded++;
    }
    let st;
    try {
      st = await stat(abs);
    } catch (e) {
      if (!explicit) {
        // Vanished between readdir and stat, or no permission: reported, the scan goes on.
        counts.unreadable++;
        counts.warnings.push(`${abs}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        return undefined;
      }
      throw e;
    }
    counts.photos++;
    return { abs, rel, size: st.size, mtimeMs: st.mtimeMs };
  }

  for (const input of inputs) {
    const abs = resolve(input);
    const st = await stat(abs);
    if (st.isDirectory()) yield* walk(abs);
    else {
      const f = await fileEntry(abs, relative(root, abs), true);
      if (f) yield f;
    }
  }
}

/** Real path of a folder that may not exist yet (the output root before the first run). */
export async function realFolder(p: string): Promise<string> {
  const abs = resolve(p);
  try {
    return await realpath(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(await realFolder(parent), basename(abs));
  }
}

/** True when `inner` is `outer` or inside it. */
export function isInside(inner: string, outer: string): boolean {
  const r = relative(outer, inner);
  return r === '' || (!r.startsWith('..') && !r.startsWith(sep) && r !== '..');
}
