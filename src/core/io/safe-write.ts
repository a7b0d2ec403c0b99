/**
 * The one way sgai writes a file. A photo library is the user's only copy, so a write must
 * either put the complete, checked file under its final name or change nothing:
 *
 *   temp file in the same folder (O_EXCL, hidden name) → write loop that continues short writes
 *   → fsync → read back and compare → caller's verify → input guard again → rename over the
 *   final name → fsync the folder.
 *
 * Any failure or abort removes the temp file, leaves an existing final file untouched and throws
 * SgaiError ('IO' with a plain message naming the final path, 'CANCELLED', or 'INVALID_ARGUMENT'
 * when the output would replace an input).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { basename, join } from 'node:path';
import { SgaiError } from '../errors';
import { nodeFs, type FileStat, type SafeWriteFs } from './fs-port';
import { installWriteGuards, registerTemp, unregisterTemp } from './live-temp';
import {
  existsError,
  identifyInputs,
  matchingInput,
  preflightOutput,
  refuseInput,
  type InputIdentity,
  type OutputTarget,
} from './preflight';
import { cancelledError, diskFullError, errnoCode, writeError, type WriteContext } from './write-errors';

export { preflightOutput, type OutputTarget, type PreflightOptions, type InputIdentity } from './preflight';
export { removeLiveTempFiles, installWriteGuards, liveTempFiles } from './live-temp';
export { nodeFs, type SafeWriteFs, type FileStat } from './fs-port';

export interface SafeWriteOptions {
  /** Replace an existing file. Default: the target's own setting (false for a plain path). */
  force?: boolean;
  /** Files the output must never be (checked by device+inode, again right before the rename). */
  inputs?: readonly string[];
  /**
   * Checks the written file; throwing rejects it and nothing is put in place. Receives the bytes
   * after they were read back from the temp file and found identical to what was written.
   */
  verify?: (written: Uint8Array) => void | Promise<void>;
  signal?: AbortSignal;
  /** Injected file system (tests). */
  fs?: SafeWriteFs;
}

/** Bytes per write/read call: bounds memory for the read-back and how long an abort waits. */
const CHUNK = 1 << 20;
const NAME_MAX = 255;

/** Hidden, unique, and within the 255-byte name limit however long the photo's name is. */
function tempName(finalName: string): string {
  const suffix = `.sgai-tmp-${randomBytes(6).toString('hex')}`;
  let name = finalName;
  while (Buffer.byteLength(`.${name}${suffix}`) > NAME_MAX) name = name.slice(0, -1);
  return `.${name}${suffix}`;
}

function checkAbort(signal: AbortSignal | undefined, path: string): void {
  if (signal?.aborted) throw cancelledError(path);
}

/** Writes every byte, continuing short writes; a write that makes no progress means disk full. */
async function writeAll(fs: SafeWriteFs, fd: number, bytes: Uint8Array, signal: AbortSignal | undefined, path: string): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    checkAbort(signal, path);
    const len = Math.min(CHUNK, bytes.length - off);
    const n = await fs.write(fd, bytes, off, len, off);
    if (!Number.isInteger(n) || n < 0 || n > len) throw new SgaiError('IO', `could not write ${path}: the system reported an impossible write of ${String(n)} bytes`);
    if (n === 0) throw diskFullError();
    off += n;
  }
}

/** Reads the temp file back and compares it with what should be there: catches silent short writes and lying disks. */
async function readBack(fs: SafeWriteFs, fd: number, bytes: Uint8Array, signal: AbortSignal | undefined, path: string): Promise<void> {
  const buf = Buffer.alloc(Math.min(CHUNK, Math.max(bytes.length, 1)));
  const differs = (why: string) => new SgaiError('IO', `could not write ${path}: the copy read back from the disk ${why}`);
  let off = 0;
  while (off < bytes.length) {
    checkAbort(signal, path);
    const want = Math.min(buf.length, bytes.length - off);
    const n = await fs.read(fd, buf, 0, want, off);
    if (n === 0) throw differs(`is shorter than written (${off} of ${bytes.length} bytes)`);
    if (Buffer.compare(buf.subarray(0, n), bytes.subarray(off, off + n)) !== 0) throw differs(`differs from what was written near byte ${off}`);
    off += n;
  }
  if ((await fs.read(fd, buf, 0, 1, bytes.length)) !== 0) throw differs(`is longer than the ${bytes.length} bytes written`);
}

/** Last check before the rename: the encode may have run for hours, and files move meanwhile. */
async function guardBeforeRename(fs: SafeWriteFs, target: OutputTarget, inputs: readonly InputIdentity[], force: boolean): Promise<void> {
  let st: FileStat;
  try {
    st = await fs.stat(target.path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return; // nothing there (or a dangling link): the rename harms nothing
    throw e;
  }
  const input = matchingInput(st, target.path, inputs);
  if (input) throw refuseInput(target.requested, input);
  if (st.isDirectory()) throw new SgaiError('IO', `${target.path} is a folder`);
  if (!force) throw existsError(target.requested);
}

/** Makes the rename itself durable; some systems (Windows, some network drives) cannot, and that is fine. */
async function syncFolder(fs: SafeWriteFs, folder: string): Promise<void> {
  let fd: number | undefined;
  try {
    fd = await fs.open(folder, constants.O_RDONLY);
    await fs.fsync(fd);
  } catch {
    // best effort
  } finally {
    if (fd !== undefined) await fs.close(fd).catch(() => undefined);
  }
}

/**
 * Writes `bytes` to `target` (a path, or an OutputTarget from preflightOutput) so that the final
 * name only ever holds the complete, verified file. Throws SgaiError; never leaves a temp file.
 */
export async function writeFileSafely(target: OutputTarget | string, bytes: Uint8Array, opts: SafeWriteOptions = {}): Promise<void> {
  installWriteGuards();
  if (!(bytes instanceof Uint8Array)) throw new SgaiError('INVALID_ARGUMENT', 'expected the file contents as a Uint8Array or Buffer');
  const fs = opts.fs ?? nodeFs;
  const { signal } = opts;
  checkAbort(signal, typeof target === 'string' ? target : target.path);
  // A plain path gets the same checks a preflight does; the write itself proves the folder writable.
  const t = typeof target === 'string' ? await preflightOutput(target, { force: opts.force, inputs: opts.inputs, fs, probe: false }) : target;
  const force = opts.force ?? t.force;
  const inputs = typeof target === 'string' || !opts.inputs?.length ? t.inputs : [...t.inputs, ...(await identifyInputs(opts.inputs, fs))];
  const ctx: WriteContext = { path: t.path, folder: t.folder, bytes: bytes.length };
  const tmp = join(t.folder, tempName(basename(t.path)));

  let fd: number | undefined;
  let created = false;
  try {
    checkAbort(signal, t.path);
    fd = await fs.open(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o666);
    created = true;
    registerTemp(tmp, fs);
    await writeAll(fs, fd, bytes, signal, t.path);
    checkAbort(signal, t.path);
    await fs.fsync(fd); // delayed-allocation and network drives report ENOSPC/EIO here
    await readBack(fs, fd, bytes, signal, t.path);
    const open = fd;
    fd = undefined;
    await fs.close(open); // NFS reports write errors at close
    if (opts.verify) {
      try {
        await opts.verify(bytes); // identical to the file on disk, as just compared
      } catch (e) {
        if (e instanceof SgaiError && e.code === 'CANCELLED') throw e;
        const code = e instanceof SgaiError && e.code === 'VERIFY_FAILED' ? 'VERIFY_FAILED' : 'IO';
        throw new SgaiError(code, `could not write ${t.path}: the written file failed its check (${e instanceof Error ? e.message : String(e)})`, { cause: e });
      }
    }
    checkAbort(signal, t.path);
    await guardBeforeRename(fs, t, inputs, force);
    await fs.rename(tmp, t.path); // replaces a symlink entry itself, never what it points to
    created = false;
    unregisterTemp(tmp);
  } catch (e) {
    if (fd !== undefined) await fs.close(fd).catch(() => undefined);
    if (created) {
      try {
        await fs.unlink(tmp);
        unregisterTemp(tmp);
      } catch {
        // stays registered: the exit hook tries once more
      }
    }
    throw writeError(e, ctx, [tmp]);
  }
  await syncFolder(fs, t.folder);
}
