/**
 * The other .sgai files in a file's folder, for ←/→: sorted by name as people sort them
 * ("IMG_2" before "IMG_10"), hidden files (a writer's temporary files among them) left out.
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ViewerFileInfo } from '../../../ipc/schemas';

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
/** Equal under the collator (case): fall back to code points so the order is total. */
export const byName = (a: string, b: string) => collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);

export const isSgaiName = (name: string) => !name.startsWith('.') && name.toLowerCase().endsWith('.sgai');

export async function siblingsOf(path: string): Promise<ViewerFileInfo['siblings']> {
  const folder = dirname(path);
  const self = basename(path);
  let names: string[];
  try {
    names = (await readdir(folder, { withFileTypes: true })).filter((e) => (e.isFile() || e.isSymbolicLink()) && isSgaiName(e.name)).map((e) => e.name);
  } catch {
    names = [];
  }
  if (!names.includes(self)) names.push(self); // listed or not (a hidden file opened by name), it is where the user is
  names.sort(byName);
  const index = names.indexOf(self);
  return {
    index,
    count: names.length,
    prev: index > 0 ? join(folder, names[index - 1]) : null,
    next: index < names.length - 1 ? join(folder, names[index + 1]) : null,
  };
}
