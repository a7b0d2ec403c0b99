/**
 * Window math for virtualised lists with a fixed row height: which rows a scroll position shows
 * (plus a few above and below, so a fast flick does not show gaps), where they sit, and which
 * pages of a paged source they need. Pure, so it is unit-tested without a DOM.
 */

export interface Viewport {
  scrollTop: number;
  /** Height of the scrolling box's visible area, in CSS pixels. */
  height: number;
  rowHeight: number;
  count: number;
  /** Rows rendered beyond each edge of the visible area. */
  overscan: number;
}

export interface RowWindow {
  /** First rendered row (inclusive). */
  start: number;
  /** Past the last rendered row (exclusive). */
  end: number;
  /** Top of the first rendered row inside the scrolling content. */
  offsetTop: number;
  /** Height of the whole scrolling content. */
  totalHeight: number;
  /** First and past-last row actually visible (no overscan): what a screen reader or a test counts. */
  visibleStart: number;
  visibleEnd: number;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

export function rowWindow(v: Viewport): RowWindow {
  const count = Math.max(0, Math.floor(v.count));
  const rowHeight = Math.max(1, v.rowHeight);
  const totalHeight = count * rowHeight;
  if (count === 0) return { start: 0, end: 0, offsetTop: 0, totalHeight: 0, visibleStart: 0, visibleEnd: 0 };
  // A scroll position past the end (the list shrank under a filter) shows the last screenful.
  const maxScroll = Math.max(0, totalHeight - v.height);
  const top = clamp(v.scrollTop, 0, maxScroll);
  const visibleStart = clamp(Math.floor(top / rowHeight), 0, count - 1);
  const visibleEnd = clamp(Math.ceil((top + Math.max(0, v.height)) / rowHeight), visibleStart + 1, count);
  const overscan = Math.max(0, Math.floor(v.overscan));
  const start = Math.max(0, visibleStart - overscan);
  const end = Math.min(count, visibleEnd + overscan);
  return { start, end, offsetTop: start * rowHeight, totalHeight, visibleStart, visibleEnd };
}

/** Indexes of the pages (of `pageSize` rows) that rows [start, end) fall in. */
export function pagesFor(start: number, end: number, pageSize: number): number[] {
  if (end <= start || pageSize < 1) return [];
  const first = Math.floor(start / pageSize);
  const last = Math.floor((end - 1) / pageSize);
  const pages: number[] = [];
  for (let p = first; p <= last; p++) pages.push(p);
  return pages;
}

/**
 * The scrollTop that brings row `index` fully into view, moving as little as possible (what a
 * keyboard user expects when the focused row walks off the edge); unchanged if already visible.
 */
export function scrollToReveal(index: number, scrollTop: number, height: number, rowHeight: number): number {
  const top = index * rowHeight;
  const bottom = top + rowHeight;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + height) return Math.max(0, bottom - height);
  return scrollTop;
}
