/**
 * Names and sizes of exported files: <stem>.png / <stem>.jpg in the chosen folder, made unique
 * with " (2)", " (3)", ... when the name is taken (an export never replaces a file), and the
 * long-edge resize that keeps the aspect ratio and never enlarges.
 */
import { lstat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';

export const exportExtension = (format: 'png' | 'jpeg') => (format === 'png' ? '.png' : '.jpg');

/** "photo" for "/a/photo.sgai". */
export function exportStem(sgaiPath: string): string {
  const name = basename(sgaiPath);
  const ext = extname(name);
  return ext && ext !== name ? name.slice(0, -ext.length) : name;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path); // a dangling symlink counts: it is something the export did not write
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** The first free name among <stem><ext>, <stem> (2)<ext>, ... in folder. */
export async function uniqueExportPath(folder: string, stem: string, ext: string): Promise<string> {
  for (let n = 1; ; n++) {
    const path = join(folder, n === 1 ? `${stem}${ext}` : `${stem} (${n})${ext}`);
    if (!(await exists(path))) return path;
  }
}

/** The size after a long-edge limit: unchanged when it already fits (never enlarged), else the long edge becomes `longEdge`. */
export function fitLongEdge(width: number, height: number, longEdge: number | null): { width: number; height: number } {
  const long = Math.max(width, height);
  if (longEdge === null || long <= longEdge) return { width, height };
  const scale = longEdge / long;
  return width >= height
    ? { width: longEdge, height: Math.max(1, Math.round(height * scale)) }
    : { width: Math.max(1, Math.round(width * scale)), height: longEdge };
}
