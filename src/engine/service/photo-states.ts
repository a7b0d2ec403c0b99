/**
 * A library photo's state, from the output folder's manifest and the folder's current settings,
 * decided the way the batch runner will decide it: done (a done record for this very file and
 * these settings), out-of-date (done under other settings, or the photo changed since), failed,
 * skipped (min-savings, or a name conflict in the last batch), or new.
 */
import { join } from 'node:path';
import { SgaiError } from '../../core';
import type { PhotoState } from '../../ipc/schemas';
import { type ManifestRecord, readManifest, replay } from '../manifest';
import { sha256File } from './file-hash';

/** One photo of a library folder, as kept in memory (a library can hold 100k of these). */
export interface PhotoEntry {
  rel: string;
  bytes: number;
  mtimeMs: number;
  state: PhotoState;
  /** Output path relative to the output root (done, or done before under other settings). */
  output?: string;
  bytesOut?: number;
  reason?: string;
}

/**
 * Sets `state` (and output, bytesOut, reason) on every row. `key` is the settings hash of the
 * folder's current settings (undefined: unknown, e.g. no model installed; then settings are not
 * compared). `planSkips`: photos the last batch skipped for a name conflict (no manifest line).
 */
export async function assignStates(
  o: { folder: string; outRoot: string; rows: PhotoEntry[]; key: string | undefined; planSkips: ReadonlyMap<string, string>; signal?: AbortSignal },
): Promise<{ badLines: number }> {
  const manifest = await readManifest(o.outRoot);
  const latest = replay(manifest.records);
  const lastDone = new Map<string, ManifestRecord>();
  for (const r of manifest.records) if (r.state === 'done') lastDone.set(r.source, r);
  for (const row of o.rows) {
    if (o.signal?.aborted) throw new SgaiError('CANCELLED', 'scan cancelled');
    const rec = latest.get(row.rel);
    delete row.output;
    delete row.bytesOut;
    delete row.reason;
    row.state = 'new';
    if (!rec) {
      const skip = o.planSkips.get(row.rel);
      if (skip !== undefined) Object.assign(row, { state: 'skipped', reason: skip });
      continue;
    }
    const sameSettings = o.key === undefined || rec.settings === o.key;
    let sameFile = rec.size === row.bytes && rec.mtimeMs === row.mtimeMs;
    // Same size, other time (a copy that did not keep the date): the content decides, as the batch's hash does.
    if (!sameFile && rec.size === row.bytes && rec.state !== 'started') sameFile = (await sha256File(join(o.folder, row.rel), o.signal).catch(() => undefined)) === rec.sha256; // unreadable now: the batch will say why
    if (rec.state === 'started') {
      // Interrupted (or being encoded right now): the next batch encodes it.
      const done = lastDone.get(row.rel);
      if (done) Object.assign(row, { state: 'out-of-date', output: done.output, bytesOut: done.result?.bytes });
    } else if (rec.state === 'done') {
      Object.assign(row, { state: sameFile && sameSettings ? 'done' : 'out-of-date', output: rec.output, bytesOut: rec.result?.bytes });
      if (rec.reason) row.reason = rec.reason;
      if (!sameFile) row.reason = 'the photo changed after it was encoded';
      else if (!sameSettings) row.reason = 'encoded with other settings';
    } else if (rec.state === 'failed') {
      if (sameFile) Object.assign(row, { state: 'failed', reason: rec.error?.message ?? 'failed' });
    } else if (sameFile && sameSettings) {
      Object.assign(row, { state: 'skipped', reason: rec.reason ?? 'skipped' });
    }
  }
  return { badLines: manifest.badLines };
}

export const emptyStateCounts = (): Record<PhotoState, number> => ({ new: 0, done: 0, failed: 0, skipped: 0, 'out-of-date': 0 });

export function countStates(rows: readonly PhotoEntry[]): Record<PhotoState, number> {
  const c = emptyStateCounts();
  for (const r of rows) c[r.state]++;
  return c;
}
