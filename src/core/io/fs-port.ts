/**
 * The few file-system calls the safe writer needs, behind an interface so tests can inject
 * short writes, ENOSPC at any byte and other faults that real disks produce only rarely.
 * The default implementation is plain Node fs on numeric descriptors (pwrite/pread semantics:
 * every call names its file position, so continuing a short write is exact).
 */
import * as fs from 'node:fs';

/** Identity of a file: two names are the same file exactly when dev and ino match. */
export interface FileStat {
  dev: bigint | number;
  ino: bigint | number;
  size: bigint | number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

export interface SafeWriteFs {
  open(path: string, flags: number, mode?: number): Promise<number>;
  /** Returns how many bytes were written; may be fewer than `length` (a short write). */
  write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Returns how many bytes were read; 0 at end of file. */
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  fsync(fd: number): Promise<void>;
  close(fd: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Used only by the at-exit cleanup, where nothing asynchronous can run any more. */
  unlinkSync(path: string): void;
  stat(path: string): Promise<FileStat>;
  lstat(path: string): Promise<FileStat>;
  realpath(path: string): Promise<string>;
  readlink(path: string): Promise<string>;
}

function cb<T>(run: (done: (err: NodeJS.ErrnoException | null, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((res, rej) => run((err, value) => (err ? rej(err) : res(value as T))));
}

export const nodeFs: SafeWriteFs = {
  open: (path, flags, mode = 0o666) => cb<number>((d) => fs.open(path, flags, mode, d)),
  write: (fd, buf, offset, length, position) => cb<number>((d) => fs.write(fd, buf, offset, length, position, (e, n) => d(e, n))),
  read: (fd, buf, offset, length, position) => cb<number>((d) => fs.read(fd, buf, offset, length, position, (e, n) => d(e, n))),
  fsync: (fd) => cb<void>((d) => fs.fsync(fd, d)),
  close: (fd) => cb<void>((d) => fs.close(fd, d)),
  rename: (from, to) => cb<void>((d) => fs.rename(from, to, d)),
  unlink: (path) => cb<void>((d) => fs.unlink(path, d)),
  unlinkSync: (path) => fs.unlinkSync(path),
  // bigint: inode numbers on some file systems (btrfs, NFS, Windows) exceed 2^53.
  stat: (path) => fs.promises.stat(path, { bigint: true }),
  lstat: (path) => fs.promises.lstat(path, { bigint: true }),
  realpath: (path) => fs.promises.realpath(path),
  readlink: (path) => fs.promises.readlink(path),
};

/** Same device and inode. Inode 0 means "unknown" (some FAT/network drives), never a match. */
export function sameFile(a: Pick<FileStat, 'dev' | 'ino'>, b: Pick<FileStat, 'dev' | 'ino'>): boolean {
  const ino = BigInt(a.ino);
  return ino !== 0n && ino === BigInt(b.ino) && BigInt(a.dev) === BigInt(b.dev);
}
