/**
 * Which filesystem paths a request may name. 'root' paths must lie inside a root the user allowed
 * (or a folder already added); 'added' paths inside a library folder the user added or its output
 * root. Paths are compared as real paths, segment by segment, so `..`, symlinks and (on macOS and
 * Windows) letter case cannot lead outside, and `/a/bc` is never inside `/a/b`.
 */
import { readlink, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, parse, relative, resolve, sep } from 'node:path';
import type { PathCheck } from '../ipc/contract';
import { ApiError } from '../ipc/result';
import type { LibraryFolder } from '../ipc/schemas';

/** 'anywhere' (Electron: the user picks folders in native dialogs) or a list of folders. */
export type Roots = 'anywhere' | string[];

/** What the guard keeps of a library folder: where it is and where its outputs go. */
export type KnownFolder = { id: string; path: string; outputRoot?: string };

/**
 * macOS and Windows volumes are case-insensitive by default: `/Users/Me` and `/users/me` are one
 * folder there, so the comparison folds case (a case-sensitive volume on those systems is
 * compared a little more loosely, never more strictly).
 */
const FOLD_CASE = process.platform === 'darwin' || process.platform === 'win32';

/**
 * The real path of `p` as the OS would reach it: each existing prefix through realpath (symlinks
 * followed, `..` applied to the real parent, not to the text), the part that does not exist yet
 * joined as written.
 */
export async function realPathOf(p: string, depth = 0): Promise<string> {
  const abs = isAbsolute(p) ? p : `${process.cwd()}${sep}${p}`;
  const { root } = parse(abs);
  let current = await realOr(root, depth);
  for (const seg of abs.slice(root.length).split(sep === '/' ? '/' : /[\\/]/)) {
    if (seg === '' || seg === '.') continue;
    current = await realOr(seg === '..' ? dirname(current) : join(current, seg), depth);
  }
  return current;
}

/** Symlinks that point at symlinks this deep are treated as a loop (the OS gives up at 40). */
const MAX_LINK_DEPTH = 40;

async function realOr(p: string, depth: number): Promise<string> {
  try {
    return await realpath(p);
  } catch {
    // A dangling symlink: a write through it would land where it points, so that is where it is.
    const target = await readlink(p).catch(() => undefined);
    if (target === undefined || depth >= MAX_LINK_DEPTH) return p;
    return realPathOf(isAbsolute(target) ? target : `${dirname(p)}${sep}${target}`, depth + 1);
  }
}

/** Whether `child` is `parent` or below it, comparing whole path segments. */
export function isInside(parent: string, child: string): boolean {
  const a = FOLD_CASE ? parent.toLowerCase() : parent;
  const b = FOLD_CASE ? child.toLowerCase() : child;
  const rel = relative(a, b);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

export class PathGuard {
  private readonly roots: string[] | 'anywhere';
  private readonly folders = new Map<string, KnownFolder>();

  /** Roots must be absolute; call `allowRoot` for ones learned later (a folder picked in a dialog). */
  constructor(roots: Roots) {
    this.roots = roots === 'anywhere' ? 'anywhere' : roots.map((r) => resolve(r));
  }

  /** Allows one more root (Electron: a folder the user picked or dropped). */
  allowRoot(path: string): void {
    if (this.roots !== 'anywhere') this.roots.push(resolve(path));
  }

  /** Learns a library folder (from a result or a library:changed event), or its new output root. */
  learnFolder(folder: Pick<LibraryFolder, 'id' | 'path' | 'output'>): void {
    const d = folder.output.destination;
    this.folders.set(folder.id, { id: folder.id, path: folder.path, outputRoot: d.kind === 'folder' ? d.path : undefined });
  }

  forgetFolder(id: string): void {
    this.folders.delete(id);
  }

  folder(id: string): KnownFolder | undefined {
    return this.folders.get(id);
  }

  /** Every check must pass; the first that fails throws ApiError FORBIDDEN naming the path. */
  async check(checks: PathCheck[]): Promise<void> {
    for (const c of checks) await this.checkOne(c);
  }

  /**
   * A photo inside one library folder (a pixel request): its real path must stay inside that
   * folder, so a symlink in the library cannot serve a file from elsewhere.
   */
  async checkInFolder(folderId: string, rel: string): Promise<void> {
    const f = this.folders.get(folderId);
    if (!f) throw forbidden(`the folder "${folderId}" is not one of the library folders you added; add it first`);
    const [real, base] = await Promise.all([realPathOf(join(f.path, rel)), realPathOf(f.path)]);
    if (!isInside(base, real)) throw forbidden(`"${rel}" leads outside the library folder ${f.path} (to ${real}); sgai only shows photos inside it`);
  }

  private async checkOne({ path, must }: PathCheck): Promise<void> {
    if (!isAbsolute(path)) throw forbidden(`"${path}" is not a full path; give the whole path, starting from the top of the drive`);
    // Both readings must be inside: the OS's (symlinks before `..`) and a plain lexical one,
    // which is what a program that normalises the path first will use.
    const [real, lexical] = await Promise.all([realPathOf(path), realPathOf(resolve(path))]);
    const added = await this.addedPlaces();
    const inAdded = added.some((a) => isInside(a, real) && isInside(a, lexical));
    if (must === 'added') {
      if (inAdded) return;
      const where = added.length ? `the library folders you added and their output folders (${added.join(', ')})` : 'the library folders you added (none yet)';
      throw forbidden(`${path} is outside ${where}; add its folder to the library first`);
    }
    if (this.roots === 'anywhere' || inAdded) return;
    const roots = await Promise.all(this.roots.map(realPathOf));
    if (roots.some((r) => isInside(r, real) && isInside(r, lexical))) return;
    throw forbidden(
      `${path} is outside the folders this sgai may use (${roots.join(', ')}); start it with --allow <folder> to allow another one`,
    );
  }

  private addedPlaces(): Promise<string[]> {
    const places = [...this.folders.values()].flatMap((f) => (f.outputRoot ? [f.path, f.outputRoot] : [f.path]));
    return Promise.all(places.map(realPathOf));
  }
}

function forbidden(message: string): ApiError {
  return new ApiError({ code: 'FORBIDDEN', message });
}
