/**
 * One writer per output folder (or per shard of it). An unsharded run removes every stray temp
 * file under the output root and may rename over any file it owns, so it must not run beside
 * another run on the same folder; shards of one library may run together (that is their point),
 * but not the same shard twice. The lock is a file created with O_EXCL in the manifest folder,
 * holding who took it; a lock left by a process that died on this machine is taken over.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { SgaiError, writeError } from '../core';
import { MANIFEST_DIR } from './manifest';
import type { Shard } from './plan';

interface Holder {
  pid: number;
  host: string;
  startedAt: string;
  shard: string | null;
}

export interface BatchLock {
  path: string;
  release(): Promise<void>;
}

const LOCK = /^lock(?:\.shard-(\d+)-of-(\d+))?$/;
const lockName = (shard?: Shard) => (shard ? `lock.shard-${shard.k}-of-${shard.n}` : 'lock');
const describeShard = (s?: Shard) => (s ? `${s.k}/${s.n}` : null);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

async function readHolder(path: string): Promise<Holder | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Holder;
  } catch {
    return null; // vanished, or torn by a crash between create and write
  }
}

/** A holder that provably no longer runs: same machine, process gone. Elsewhere we cannot tell. */
const stale = (h: Holder | null) => h === null || (h.host === hostname() && !alive(h.pid));

function busy(h: Holder, folder: string): SgaiError {
  const who = `another sgai batch${h.shard ? ` (shard ${h.shard})` : ''} started ${h.startedAt} by process ${h.pid} on ${h.host}`;
  return new SgaiError(
    'BUSY',
    `${who} is writing to ${folder}. Wait for it to finish or stop it; if it is no longer running (a machine that crashed), delete ${join(folder, MANIFEST_DIR, 'lock*')} and run again.`,
  );
}

/** The lock files that conflict with a run of this shard (or an unsharded run). */
function conflicts(names: string[], shard?: Shard): string[] {
  return names.filter((n) => {
    const m = LOCK.exec(n);
    if (!m) return false;
    if (!shard) return true; // an unsharded run conflicts with every other run
    return m[1] === undefined || (Number(m[1]) === shard.k && Number(m[2]) === shard.n) || Number(m[2]) !== shard.n;
  });
}

/** Why the manifest folder cannot be made: the output folder's own state says more than mkdir's errno. */
async function cannotCreate(e: unknown, outRoot: string, path: string): Promise<SgaiError> {
  let cause = e;
  if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
    // A recursive mkdir on a read-only disk can report ENOENT; ask the folder itself.
    cause = await access(outRoot, constants.W_OK).then(() => e, (x: unknown) => x);
  }
  return writeError(cause, { path, folder: outRoot });
}

export async function acquireBatchLock(outRoot: string, shard?: Shard): Promise<BatchLock> {
  const dir = join(outRoot, MANIFEST_DIR);
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw await cannotCreate(e, outRoot, dir);
  }
  const path = join(dir, lockName(shard));
  const me: Holder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), shard: describeShard(shard) };
  for (let attempt = 0; attempt < 3; attempt++) {
    for (const name of conflicts(await readdir(dir), shard)) {
      const other = join(dir, name);
      const h = await readHolder(other);
      if (!stale(h)) throw busy(h!, outRoot);
      await unlink(other).catch(() => undefined);
    }
    let fh;
    try {
      fh = await open(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue; // lost a race: look again
      throw await cannotCreate(e, outRoot, path);
    }
    await fh.writeFile(JSON.stringify(me));
    await fh.sync();
    await fh.close();
    // Another process may have created a conflicting lock between our look and our create.
    const late = conflicts(await readdir(dir), shard).filter((n) => n !== lockName(shard));
    for (const name of late) {
      const h = await readHolder(join(dir, name));
      if (!stale(h)) {
        await unlink(path).catch(() => undefined);
        throw busy(h!, outRoot);
      }
    }
    let released = false;
    return {
      path,
      release: async () => {
        if (released) return;
        released = true;
        const h = await readHolder(path);
        if (h?.pid === process.pid && h.host === me.host) await unlink(path).catch(() => undefined);
      },
    };
  }
  throw new SgaiError('BUSY', `could not take the batch lock in ${dir}: other runs keep starting there`);
}
