/**
 * The decoder process's open files: one decode session per file (z and the y tiles decoded so
 * far), the few most recently used kept. Keyed by path, size and modification time, so a file
 * overwritten in place (a re-encode) is read again instead of answered from stale latents.
 */
import { stat, readFile } from 'node:fs/promises';
import { decodeSgai, type DecodeSession, openDecodeSession, SgaiError } from '../../../core';

/** Sessions kept: the file on screen, its neighbours (←/→), and an export. */
export const KEEP_SESSIONS = 3;

export async function fileKey(path: string): Promise<string> {
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new SgaiError('INPUT_UNREADABLE', `${path} is not a file`);
    return `${st.size}:${st.mtimeMs}`;
  } catch (e) {
    if (e instanceof SgaiError) throw e;
    throw unreadable(path, e);
  }
}

export function unreadable(path: string, e: unknown): SgaiError {
  const code = (e as NodeJS.ErrnoException)?.code;
  const why = code === 'ENOENT' ? 'it does not exist (was it moved or deleted?)' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error)?.message ?? String(e);
  return new SgaiError('INPUT_UNREADABLE', `cannot read ${path}: ${why}`);
}

export class SessionCache {
  private readonly open = new Map<string, { key: string; session: Promise<DecodeSession> }>();

  constructor(private readonly keep = KEEP_SESSIONS) {}

  async get(path: string): Promise<DecodeSession> {
    const key = await fileKey(path);
    const hit = this.open.get(path);
    this.open.delete(path);
    if (hit && hit.key === key) {
      this.open.set(path, hit); // most recently used goes last
      return hit.session;
    }
    if (hit) void hit.session.then((s) => s.dispose(), () => undefined);
    const session = openFile(path);
    this.open.set(path, { key, session });
    // A file that did not open is not kept: the next request tries again (it may have been fixed).
    session.catch(() => this.open.get(path)?.session === session && this.open.delete(path));
    while (this.open.size > this.keep) {
      const [oldest, entry] = this.open.entries().next().value!;
      this.open.delete(oldest);
      void entry.session.then((s) => s.dispose(), () => undefined);
    }
    return session;
  }

  get size(): number {
    return this.open.size;
  }
}

async function openFile(path: string): Promise<DecodeSession> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw unreadable(path, e);
  }
  return openDecodeSession(decodeSgai(bytes));
}
