/**
 * The .sgai files a command line asks the app to open: the first launch's process.argv, or the
 * argv a second instance hands over (then resolved against that instance's working folder).
 *
 * What an argv holds: the executable; in development (`electron <app>`) the app's own path; flags
 * that Electron, Chromium or a test driver add (`--inspect=0`, `--allow-file-access-from-files`,
 * macOS's old `-psn_0_123`), placed anywhere; and what the user or the OS gave: plain paths,
 * relative ones, or file:// URLs (a Linux .desktop entry's %U may pass either).
 */
import { statSync } from 'node:fs';
import { posix, win32 } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface OpenArgsOptions {
  /** The folder relative paths are relative to: the launching shell's, or the second instance's. */
  cwd: string;
  /** Whether argv carries the app's path after the executable (`electron .` in development: process.defaultApp). */
  hasAppPath: boolean;
  /** Whether a path is an existing regular file. */
  isFile: (path: string) => boolean;
  /** Windows paths (C:\..., \\server\share) or POSIX ones; default: this machine's. */
  platform?: 'win32' | 'posix';
  /** Told about each argument left out, in words. */
  log?: (line: string) => void;
}

const SGAI = /\.sgai$/i;

/** The existing .sgai files named in `argv`, as absolute paths, in order, each once. */
export function sgaiPathsFromArgv(argv: readonly string[], o: OpenArgsOptions): string[] {
  const positionals = argv.slice(1).filter((a) => a !== '' && !a.startsWith('-'));
  if (o.hasAppPath) positionals.shift();
  const found: string[] = [];
  for (const arg of positionals) {
    const abs = sgaiPathOf(arg, o);
    if (abs !== null && !found.includes(abs)) found.push(abs);
  }
  return found;
}

/** One argument (or a path the OS hands over) as an existing .sgai file's absolute path, or null (logged). */
export function sgaiPathOf(arg: string, o: Omit<OpenArgsOptions, 'hasAppPath'>): string | null {
  const windows = (o.platform ?? (process.platform === 'win32' ? 'win32' : 'posix')) === 'win32';
  const given = fromFileUrl(arg, windows);
  if (given === null) {
    o.log?.(`not opening ${arg}: only files on this computer can be opened`);
    return null;
  }
  const abs = (windows ? win32 : posix).resolve(o.cwd, given);
  if (!SGAI.test(abs)) o.log?.(`not opening ${abs}: sgai opens .sgai files`);
  else if (!o.isFile(abs)) o.log?.(`not opening ${abs}: there is no such file`);
  else return abs;
  return null;
}

/** A file:// URL as a path; other URLs (http:, sgai-pixels:, ...) as null; anything else as given. */
function fromFileUrl(arg: string, windows: boolean): string | null {
  // Only scheme://... is a URL: a drive letter ("C:\x") or a name with a colon is a path.
  if (!/^[a-z][a-z0-9+.-]+:\/\//i.test(arg)) return arg;
  if (!/^file:/i.test(arg)) return null;
  try {
    return fileURLToPath(arg, { windows });
  } catch {
    return null;
  }
}

/** Whether `path` is a regular file on this machine (following symlinks). */
export function isFileOnDisk(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
