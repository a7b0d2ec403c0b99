/**
 * The files behind "Select all done" in the Library: a folder can hold far more done photos than
 * the list has loaded, so they are collected page by page from library:photos (filter 'done'),
 * without the ones unticked since, up to what one export takes (the contract's 100,000).
 */
import type { PhotoRow } from '../../../ipc/schemas';
import { collectRows } from './collect';
import type { Page } from './paged';
import { isSgaiPath } from './sgai-paths';

/** The most files one export:start takes (src/ipc/contract.ts). */
export const EXPORT_CAP = 100_000;
/** library:photos' largest page. */
const PAGE = 500;

/** A row the viewer can open and export: done, with a written .sgai (not an original copied for lack of savings). */
export const exportable = (r: PhotoRow): r is PhotoRow & { outputPath: string } =>
  r.state === 'done' && !!r.outputPath && isSgaiPath(r.outputPath);

export interface Collected {
  files: string[];
  /** Exportable files there are in all (before the cap). */
  all: number;
  capped: boolean;
}

export interface CollectDoneOptions {
  /** Rows (rel) unticked after "Select all done". */
  excluded: ReadonlySet<string>;
  cap?: number;
  stopped?: () => boolean;
  onProgress?: (found: number, scanned: number, total: number) => void;
}

export async function collectDone(fetchDone: (offset: number, limit: number) => Promise<Page<PhotoRow>>, o: CollectDoneOptions): Promise<Collected> {
  const cap = o.cap ?? EXPORT_CAP;
  let all = 0;
  let scannedAll = true;
  const rows = await collectRows<PhotoRow>(fetchDone, {
    pageSize: PAGE,
    // One more than the cap: finding it is how we know there are more than the cap.
    want: cap + 1,
    keep: (r) => exportable(r) && !o.excluded.has(r.rel),
    stopped: o.stopped,
    onProgress: (found, scanned, total) => {
      scannedAll = scanned >= total;
      // Until the walk is over, the rows not yet read are counted as exportable (the estimate the message needs).
      all = found.length + Math.max(0, total - scanned);
      o.onProgress?.(Math.min(found.length, cap), scanned, total);
    },
  });
  if (scannedAll) all = rows.length;
  const files = rows.slice(0, cap).map((r) => r.outputPath!);
  return { files, all: Math.max(all, rows.length), capped: rows.length > cap };
}
