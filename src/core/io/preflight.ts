/**
 * Output checks that run BEFORE a long encode, so a bad -o fails in a second, not after hours:
 * where the file will really go, whether it would clobber something (above all the input photo),
 * and whether the folder accepts a new file at all.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { SgaiError } from '../errors';
import { nodeFs, sameFile, type FileStat, type SafeWriteFs } from './fs-port';
import { registerTemp, unregisterTemp } from './live-temp';
import { errnoCode, writeError } from './write-errors';

/** An input file the output must never be, identified by device + inode. */
export interface InputIdentity {
  /** As the caller gave it (used in messages). */
  readonly path: string;
  /** Its real path, for file systems that report no inode numbers. */
  readonly real: string;
  readonly dev: bigint | number;
  readonly ino: bigint | number;
}

/** A checked output location; pass it to writeFileSafely after the encode. */
export interface OutputTarget {
  /** The path as the caller gave it. */
  readonly requested: string;
  /** Absolute final path: symlinked folders resolved, and a symlink at the name followed to where it points. */
  readonly path: string;
  /** Real folder of `path`. */
  readonly folder: string;
  readonly force: boolean;
  readonly inputs: readonly InputIdentity[];
}

export interface PreflightOptions {
  force?: boolean;
  /** Files that must never be overwritten (the photo being encoded, the .sgai being decoded). */
  inputs?: readonly string[];
  /** Injected file system (tests). */
  fs?: SafeWriteFs;
  /** Create and remove a probe file to prove the folder is writable (default true). */
  probe?: boolean;
}

const MAX_LINK_HOPS = 40; // Linux's own limit

/** Device+inode of each input that exists; missing inputs cannot be overwritten, so they are skipped. */
export async function identifyInputs(paths: readonly string[] = [], fs: SafeWriteFs = nodeFs): Promise<InputIdentity[]> {
  const out: InputIdentity[] = [];
  for (const p of paths) {
    try {
      const st = await fs.stat(p);
      out.push({ path: p, real: await fs.realpath(p), dev: st.dev, ino: st.ino });
    } catch {
      // a missing or unreadable input is reported by whoever reads it
    }
  }
  return out;
}

/** The input that `st` (the existing file at `path`) is, if any. */
export function matchingInput(st: FileStat, path: string, inputs: readonly InputIdentity[]): InputIdentity | undefined {
  return inputs.find((i) => sameFile(st, i) || i.real === path);
}

export function refuseInput(requested: string, input: InputIdentity): SgaiError {
  return new SgaiError('INVALID_ARGUMENT', `refusing to write ${requested}: it is the input photo ${input.path} (originals are never touched)`);
}

export const existsError = (requested: string): SgaiError => new SgaiError('INVALID_ARGUMENT', `${requested} exists; pass --force to replace it`);

/**
 * Follows the path to where a file would really be written: the folder through realpath, and a
 * symlink at the name to its target (repeatedly). Returns the existing file there, if any.
 */
async function resolveFinal(fs: SafeWriteFs, requested: string): Promise<{ path: string; folder: string; existing?: FileStat }> {
  let p = resolve(requested);
  for (let hop = 0; ; hop++) {
    const wanted = dirname(p);
    let folder: string;
    try {
      folder = await fs.realpath(wanted);
    } catch (e) {
      throw writeError(e, { path: p, folder: wanted });
    }
    p = join(folder, basename(p));
    let st: FileStat;
    try {
      st = await fs.lstat(p);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return { path: p, folder };
      throw writeError(e, { path: p, folder });
    }
    if (!st.isSymbolicLink()) return { path: p, folder, existing: st };
    if (hop >= MAX_LINK_HOPS) throw new SgaiError('IO', `could not write ${requested}: too many symbolic links in the path`);
    try {
      p = resolve(folder, await fs.readlink(p));
    } catch (e) {
      throw writeError(e, { path: p, folder });
    }
  }
}

/** Proves the folder takes a new file by making one: access() lies for root, ACLs and read-only mounts. */
async function probeFolder(fs: SafeWriteFs, path: string, folder: string): Promise<void> {
  const probe = join(folder, `.sgai-probe-${randomBytes(6).toString('hex')}`);
  let fd: number;
  try {
    fd = await fs.open(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (e) {
    throw writeError(e, { path, folder }, [probe]);
  }
  registerTemp(probe, fs);
  try {
    await fs.close(fd);
  } finally {
    await fs.unlink(probe).catch(() => undefined);
    unregisterTemp(probe);
  }
}

/** Checks an output location before the work that produces its bytes. Throws SgaiError. */
export async function preflightOutput(path: string, opts: PreflightOptions = {}): Promise<OutputTarget> {
  if (typeof path !== 'string' || path.length === 0) throw new SgaiError('INVALID_ARGUMENT', 'An output file path is required.');
  const fs = opts.fs ?? nodeFs;
  const force = opts.force ?? false;
  const inputs = await identifyInputs(opts.inputs, fs);
  const { path: finalPath, folder, existing } = await resolveFinal(fs, path);
  if (existing) {
    // The input check comes first: it is the one that protects an original.
    const input = matchingInput(existing, finalPath, inputs);
    if (input) throw refuseInput(path, input);
    if (existing.isDirectory()) throw new SgaiError('IO', `${finalPath} is a folder`);
    if (!existing.isFile()) throw new SgaiError('IO', `could not write ${finalPath}: it is a device, pipe or socket, not a file`);
    if (!force) throw existsError(path);
  }
  if (opts.probe ?? true) await probeFolder(fs, finalPath, folder);
  return Object.freeze({ requested: path, path: finalPath, folder, force, inputs: Object.freeze(inputs) });
}
