/**
 * Which photo a .sgai was made from, so the viewer can compare against it. Two routes, both
 * proven by the bytes, never by the name alone (a same-named file with other bytes is someone
 * else's photo, or a later edit of it):
 *
 * - beside: a photo in the .sgai's folder with the same stem and a photo extension (either case),
 *   whose size and SHA-256 equal the file's source record;
 * - manifest: the batch manifest of a library whose output root holds the .sgai names the source
 *   that wrote it; that file must match the source record too, or, for files from writers that
 *   recorded none, the manifest's own size and hash of the source.
 *
 * The viewer runs this in the background after viewer:open has answered (hashing a 150 MB scan
 * takes most of a second) and stops it through `signal` when the file is closed; a stopped
 * lookup fails CANCELLED rather than answering null, so "no original" is only ever said when
 * every candidate was really checked.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { SgaiError, type SourceRecord } from '../../../core';
import { readManifest, replay } from '../../manifest';
import { PHOTO_EXTENSIONS } from '../../scan';
import { sha256File } from '../file-hash';

export interface FoundOriginal {
  path: string;
  bytes: number;
  how: 'beside' | 'manifest';
}

/** What a candidate's bytes must be: its size first (cheap), then its hash (read only when the size fits). */
interface Expected {
  bytes: number;
  sha256: string;
}

/** Stops a lookup nobody waits for any more, as CANCELLED (never as "not found"). */
function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SgaiError('CANCELLED', 'the lookup of the original was stopped: the file was closed');
}

/** The file's size when it is a regular file whose bytes are the expected ones; null otherwise (or unreadable). */
async function matches(path: string, want: Expected, signal: AbortSignal | undefined): Promise<number | null> {
  stopIfAborted(signal);
  try {
    const st = await stat(path);
    if (!st.isFile() || st.size !== want.bytes) return null;
    return (await sha256File(path, signal)) === want.sha256.toLowerCase() ? st.size : null;
  } catch {
    // An aborted read is not an unreadable candidate: the lookup stops instead of going on.
    stopIfAborted(signal);
    return null;
  }
}

const stemOf = (name: string) => basename(name, extname(name));

async function besideOriginal(sgaiPath: string, want: Expected, signal: AbortSignal | undefined): Promise<FoundOriginal | null> {
  const folder = dirname(sgaiPath);
  const stem = stemOf(sgaiPath).toLowerCase();
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return null;
  }
  const candidates = names
    .filter((n) => PHOTO_EXTENSIONS.has(extname(n).toLowerCase()) && stemOf(n).toLowerCase() === stem)
    .sort();
  for (const name of candidates) {
    const path = join(folder, name);
    const bytes = await matches(path, want, signal);
    if (bytes !== null) return { path, bytes, how: 'beside' };
  }
  return null;
}

/** The .sgai's path relative to outRoot ('/'-separated, as the manifest writes it), or null when outside. */
function relativeInside(outRoot: string, path: string): string | null {
  const rel = relative(resolve(outRoot), resolve(path));
  if (!rel || rel.startsWith('..') || isAbsolute(rel)) return null;
  return rel.split(sep).join('/');
}

async function manifestOriginal(
  sgaiPath: string,
  source: SourceRecord | undefined,
  libraries: ReadonlyArray<{ folder: string; outRoot: string }>,
  signal: AbortSignal | undefined,
): Promise<FoundOriginal | null> {
  for (const lib of libraries) {
    stopIfAborted(signal);
    const rel = relativeInside(lib.outRoot, sgaiPath);
    if (rel === null) continue;
    let records;
    try {
      records = (await readManifest(lib.outRoot)).records;
    } catch {
      continue; // an unreadable manifest only means this route finds nothing
    }
    for (const rec of replay(records).values()) {
      if (rec.state !== 'done' || rec.output !== rel) continue;
      const path = resolve(lib.folder, ...rec.source.split('/'));
      if (relativeInside(lib.folder, path) === null) continue; // a damaged record must not point outside the library
      // The .sgai's own record says what it was made from; without one (older writers), the
      // manifest's record of the source at encode time does.
      const want: Expected = source ? { bytes: source.bytes, sha256: source.sha256 } : { bytes: rec.size, sha256: rec.sha256 };
      const bytes = await matches(path, want, signal);
      if (bytes !== null) return { path, bytes, how: 'manifest' };
    }
  }
  return null;
}

/**
 * The original photo of a .sgai, or null when neither route proves one. `libraries`: the app's
 * library folders with their output roots. `signal`: stops it (CANCELLED).
 */
export async function findOriginal(
  sgaiPath: string,
  source: SourceRecord | undefined,
  libraries: ReadonlyArray<{ folder: string; outRoot: string }>,
  signal?: AbortSignal,
): Promise<FoundOriginal | null> {
  // Without a source record, a name is all the beside route would have: not enough.
  if (source) {
    const beside = await besideOriginal(sgaiPath, { bytes: source.bytes, sha256: source.sha256 }, signal);
    if (beside) return beside;
  }
  const found = await manifestOriginal(sgaiPath, source, libraries, signal);
  // A proven original stands; a null after a stop may only mean the search was cut short.
  if (!found) stopIfAborted(signal);
  return found;
}
