/**
 * Path helpers for the viewer's ways in and for export, on the renderer's side (no Node `path`
 * here): is this a .sgai file, which folder holds it, and the one folder that holds them all.
 * Both separators are understood, so Windows paths work as POSIX ones do.
 */

/** A .sgai file, by its name (any case): what Open and drag and drop accept. */
export const isSgaiPath = (path: string): boolean => /\.sgai$/i.test(path.trim());

/** The folder a file is in: "/a/b/c.sgai" → "/a/b", "/c.sgai" → "/", "C:\\x\\c.sgai" → "C:\\x", "C:\\c.sgai" → "C:\\". */
export function dirName(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  if (i < 0) return '';
  const head = path.slice(0, i);
  // Keep the root's separator: "/" and "C:\" are folders, "" and "C:" are not.
  if (head === '' || /^[A-Za-z]:$/.test(head)) return path.slice(0, i + 1);
  return head;
}

/** Splits a folder into its root ("/", "C:\\", "\\\\server\\share\\") and its segments. */
function parts(folder: string): { root: string; segments: string[] } {
  const unc = /^(\\\\[^\\/]+[\\/][^\\/]+)(?:[\\/]|$)/.exec(folder);
  const drive = /^([A-Za-z]:)(?:[\\/]|$)/.exec(folder);
  const root = unc ? `${unc[1]}\\` : drive ? `${drive[1]}\\` : folder.startsWith('/') ? '/' : '';
  const rest = unc ? folder.slice(unc[0].length) : drive ? folder.slice(drive[0].length) : folder.replace(/^\/+/, '');
  return { root, segments: rest.split(/[\\/]+/).filter(Boolean) };
}

/**
 * The deepest folder holding every one of `paths` (files): the export's default destination,
 * "beside the files". Null when they share no root (two drives) or the list is empty.
 */
export function commonFolder(paths: readonly string[]): string | null {
  if (paths.length === 0) return null;
  const first = parts(dirName(paths[0]));
  const windows = first.root !== '/' && first.root !== '';
  const same = (a: string, b: string) => (windows ? a.toLowerCase() === b.toLowerCase() : a === b);
  let shared = first.segments;
  for (const p of paths.slice(1)) {
    const d = parts(dirName(p));
    if (!same(d.root, first.root)) return null;
    let k = 0;
    while (k < shared.length && k < d.segments.length && same(shared[k], d.segments[k])) k++;
    shared = shared.slice(0, k);
  }
  if (!first.root) return shared.length ? shared.join('/') : null;
  const sep = windows ? '\\' : '/';
  return first.root + shared.join(sep);
}
