/**
 * A paged, lazily fetched row source for a virtualised list: the list says which rows it shows,
 * this fetches the pages they fall in (a few at a time, the latest wish first, so a fast scroll
 * over 100k rows does not queue hundreds of requests for rows already gone by), keeps a bounded
 * number of pages, and drops answers that arrive after the source changed (a new filter or
 * search). `refresh()` refetches what is shown while still showing the old rows, so a live update
 * never blanks the list.
 */
import { pagesFor } from './virtual';

export interface Page<T> {
  total: number;
  rows: T[];
}

export interface PagedOptions<T> {
  pageSize: number;
  fetchPage: (offset: number, limit: number) => Promise<Page<T>>;
  /** Called whenever rows, total or error changed (the view re-reads). */
  onChange: () => void;
  /** Pages kept in memory; the ones farthest from what is shown go first. */
  maxPages?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  /** A page whose fetch failed is not asked for again for this long. */
  retryAfterMs?: number;
  now?: () => number;
}

interface Loaded<T> {
  rows: T[];
  /** Fetched for the current generation (else it is an older answer still shown while refreshing). */
  fresh: boolean;
}

export class PagedRows<T> {
  private pages = new Map<number, Loaded<T>>();
  private inFlight = new Set<number>();
  private failedAt = new Map<number, number>();
  private wanted: number[] = [];
  private generation = 0;
  private lastRange: [number, number] = [0, 0];
  /** Rows in the source, once a page has said; null before. */
  total: number | null = null;
  /** The last fetch error, in words; cleared by the next success. */
  error: string | null = null;

  constructor(private readonly o: PagedOptions<T>) {}

  get pageSize(): number {
    return this.o.pageSize;
  }

  get loading(): boolean {
    return this.inFlight.size > 0;
  }

  /** Row `index`, or undefined while its page is not here yet. */
  get(index: number): T | undefined {
    const page = this.pages.get(Math.floor(index / this.o.pageSize));
    return page?.rows[index % this.o.pageSize];
  }

  /** Asks for the rows [start, end): missing or stale pages are fetched, nearest the window first. */
  ensure(start: number, end: number): void {
    this.lastRange = [start, end];
    const limit = this.total ?? Number.POSITIVE_INFINITY;
    const pages = pagesFor(start, Math.max(start + 1, Math.min(end, limit)), this.o.pageSize);
    const now = (this.o.now ?? Date.now)();
    const retryAfter = this.o.retryAfterMs ?? 2000;
    this.wanted = pages.filter((p) => {
      if (this.inFlight.has(p)) return false;
      if (this.pages.get(p)?.fresh) return false;
      const failed = this.failedAt.get(p);
      return failed === undefined || now - failed >= retryAfter;
    });
    this.pump();
  }

  /** The source changed (filter, search, folder): forget everything. */
  reset(): void {
    this.generation++;
    this.pages.clear();
    this.failedAt.clear();
    this.wanted = [];
    this.total = null;
    this.error = null;
    this.o.onChange();
  }

  /** The rows may have changed (states, sizes): refetch the pages in view, showing the old ones meanwhile. */
  refresh(): void {
    this.generation++;
    for (const page of this.pages.values()) page.fresh = false;
    this.failedAt.clear();
    this.ensure(...this.lastRange);
  }

  private pump(): void {
    const concurrency = this.o.concurrency ?? 3;
    while (this.inFlight.size < concurrency && this.wanted.length) {
      const page = this.wanted.shift()!;
      this.fetch(page);
    }
  }

  private fetch(page: number): void {
    const generation = this.generation;
    this.inFlight.add(page);
    this.o
      .fetchPage(page * this.o.pageSize, this.o.pageSize)
      .then(
        (res) => {
          if (generation !== this.generation) return;
          this.pages.set(page, { rows: res.rows, fresh: true });
          this.failedAt.delete(page);
          this.total = res.total;
          this.error = null;
          this.evict();
        },
        (e: unknown) => {
          if (generation !== this.generation) return;
          this.failedAt.set(page, (this.o.now ?? Date.now)());
          this.error = e instanceof Error ? e.message : String(e);
        },
      )
      .finally(() => {
        this.inFlight.delete(page);
        const stale = generation !== this.generation;
        if (!stale) this.o.onChange();
        // An answer from an older generation still frees its slot; what is wanted now is re-planned.
        if (stale) this.ensure(...this.lastRange);
        else this.pump();
      });
  }

  private evict(): void {
    const max = this.o.maxPages ?? 200;
    if (this.pages.size <= max) return;
    const centre = Math.floor((this.lastRange[0] + this.lastRange[1]) / 2 / this.o.pageSize);
    const byDistance = [...this.pages.keys()].sort((a, b) => Math.abs(b - centre) - Math.abs(a - centre));
    for (const p of byDistance.slice(0, this.pages.size - max)) this.pages.delete(p);
  }
}
