/**
 * Originals must never change: snapshot every file of a tree (sha256 + mtime) before a test and
 * assert the same tree after it.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'vitest';

export type TreeSnapshot = Map<string, { sha256: string; mtimeMs: number; size: number }>;

export function snapshotTree(root: string, opts: { skip?: (rel: string) => boolean } = {}): TreeSnapshot {
  const snap: TreeSnapshot = new Map();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      const rel = relative(root, p);
      if (opts.skip?.(rel)) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const st = statSync(p);
        snap.set(rel, { sha256: createHash('sha256').update(readFileSync(p)).digest('hex'), mtimeMs: st.mtimeMs, size: st.size });
      }
    }
  };
  walk(root);
  return snap;
}

/** Every file of the snapshot is still there with the same bytes and mtime (new files elsewhere are allowed). */
export function expectOriginalsUnchanged(root: string, before: TreeSnapshot): void {
  const now = snapshotTree(root);
  const changed = [...before].filter(([rel, s]) => {
    const n = now.get(rel);
    return !n || n.sha256 !== s.sha256 || n.mtimeMs !== s.mtimeMs;
  }).map(([rel]) => rel);
  expect(changed, 'originals changed, moved or deleted').toEqual([]);
}
