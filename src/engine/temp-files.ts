/**
 * Temp files a crash left behind. The safe writer names them `.<final name>.sgai-tmp-<12 hex>`
 * in the output's own folder; a process that dies mid-write (SIGKILL, power loss) cannot remove
 * its own, so the next run does.
 */
import { readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MANIFEST_DIR } from './manifest';

const TEMP = /^\.(.+)\.sgai-tmp-[0-9a-f]{12}$/;

/**
 * Removes stray temp files under `root` (symlinks not followed). With `onlyFor`, only those of
 * these final paths: another shard writing into the same tree may have live temp files.
 */
export async function removeStrayTempFiles(root: string, onlyFor?: readonly string[]): Promise<string[]> {
  const mine = onlyFor && new Map<string, string[]>();
  for (const p of onlyFor ?? []) {
    const list = mine!.get(dirname(p)) ?? [];
    list.push(basename(p));
    mine!.set(dirname(p), list);
  }
  const removed: string[] = [];
  async function walk(dir: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory() && e.name !== MANIFEST_DIR) await walk(p);
      const m = e.isFile() ? TEMP.exec(e.name) : null;
      if (!m) continue;
      // Long names are shortened in the temp name, so the final name starts with what is left.
      if (mine && !(mine.get(dir) ?? []).some((name) => name.startsWith(m[1]))) continue;
      await unlink(p).then(() => removed.push(p), () => undefined);
    }
  }
  await walk(root);
  return removed;
}
