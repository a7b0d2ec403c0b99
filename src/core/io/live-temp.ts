/**
 * Registry of temp files that exist right now, so a process that exits mid-write (Ctrl-C: the
 * CLI's SIGINT/SIGTERM handlers call process.exit) leaves no hidden debris next to the photos.
 */
import { constants } from 'node:os';
import type { SafeWriteFs } from './fs-port';

const live = new Map<string, SafeWriteFs>();

export function registerTemp(path: string, fs: SafeWriteFs): void {
  live.set(path, fs);
}

export function unregisterTemp(path: string): void {
  live.delete(path);
}

/** Paths of temp files currently being written (for tests and diagnostics). */
export function liveTempFiles(): string[] {
  return [...live.keys()];
}

/**
 * Removes every temp file still being written. Synchronous, so it can run from process 'exit'.
 * The interrupted writes then fail on their own; the final files were never touched.
 */
export function removeLiveTempFiles(): void {
  for (const [path, fs] of live) {
    try {
      fs.unlinkSync(path);
    } catch {
      // already gone, or the disk vanished: nothing more we can do at exit
    }
    live.delete(path);
  }
}

let installed = false;

/**
 * Installs, once: cleanup of live temp files on process 'exit', and a no-op SIGXFSZ handler.
 * Without the handler, exceeding a file-size limit (ulimit -f) kills Node silently with exit
 * 153; with it, the write fails with EFBIG and the user gets a message. Called automatically
 * by the writer before its first write; the CLI may call it earlier.
 */
export function installWriteGuards(): void {
  if (installed) return;
  installed = true;
  process.on('exit', removeLiveTempFiles);
  // SIGXFSZ does not exist on Windows; there the event name would be a plain event.
  if (constants.signals.SIGXFSZ !== undefined) process.on('SIGXFSZ', () => {});
}
