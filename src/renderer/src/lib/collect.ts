/**
 * Walks a paged source from the start and keeps the rows that match, stopping once it has as many
 * as wanted (e.g. a batch's failed photos: jobs:rows has no state filter, and the totals say how
 * many failed, so the walk ends as soon as all are found).
 */
import type { Page } from './paged';

export interface CollectOptions<T> {
  pageSize: number;
  keep: (row: T) => boolean;
  /** Stop after this many matches. */
  want: number;
  /** Checked between pages: true stops the walk (the view went away or the source changed). */
  stopped?: () => boolean;
  /** After each page: what was found so far, and how far the walk got. */
  onProgress?: (found: T[], scanned: number, total: number) => void;
}

export async function collectRows<T>(fetchPage: (offset: number, limit: number) => Promise<Page<T>>, o: CollectOptions<T>): Promise<T[]> {
  const found: T[] = [];
  let offset = 0;
  let total = Number.POSITIVE_INFINITY;
  while (offset < total && found.length < o.want) {
    if (o.stopped?.()) break;
    const page = await fetchPage(offset, o.pageSize);
    total = page.total;
    for (const row of page.rows) if (o.keep(row) && found.length < o.want) found.push(row);
    offset += page.rows.length;
    o.onProgress?.(found, Math.min(offset, total), total);
    if (page.rows.length === 0) break; // the source shrank under us: nothing more to read
  }
  return found;
}
