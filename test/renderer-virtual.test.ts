/**
 * The renderer's virtualised-list math (which rows a scroll position shows) and its paged row
 * source (which pages it asks for, in what order, and which answers it keeps), against an
 * in-memory library of 100k rows whose answers the test releases in any order.
 */
import { describe, expect, it } from 'vitest';
import { collectRows } from '../src/renderer/src/lib/collect';
import { PagedRows, type Page } from '../src/renderer/src/lib/paged';
import { pagesFor, rowWindow, scrollToReveal } from '../src/renderer/src/lib/virtual';

describe('rowWindow', () => {
  const base = { rowHeight: 50, height: 500, overscan: 5, count: 100_000 };

  it('shows the rows in view plus the overscan, and nothing else', () => {
    const w = rowWindow({ ...base, scrollTop: 0 });
    expect(w).toMatchObject({ start: 0, end: 15, visibleStart: 0, visibleEnd: 10, offsetTop: 0, totalHeight: 5_000_000 });
    const mid = rowWindow({ ...base, scrollTop: 1_000_025 });
    expect(mid.visibleStart).toBe(20_000);
    expect(mid.visibleEnd).toBe(20_011); // a row cut at the top and one at the bottom
    expect(mid.start).toBe(19_995);
    expect(mid.end).toBe(20_016);
    expect(mid.offsetTop).toBe(19_995 * 50);
    // However far it scrolls, the DOM holds a screenful and the overscan.
    expect(mid.end - mid.start).toBeLessThanOrEqual(10 + 1 + 2 * 5);
  });

  it('clamps at the end, also when the list shrank under the scroll position', () => {
    const end = rowWindow({ ...base, count: 100, scrollTop: 99_999 });
    expect(end.visibleEnd).toBe(100);
    expect(end.visibleStart).toBe(90);
    expect(end.end).toBe(100);
    const short = rowWindow({ ...base, count: 3, scrollTop: 4000 });
    expect(short).toMatchObject({ start: 0, end: 3, visibleStart: 0, visibleEnd: 3 });
  });

  it('is empty for an empty list, and sane before the box has a height', () => {
    expect(rowWindow({ ...base, count: 0, scrollTop: 0 })).toMatchObject({ start: 0, end: 0, totalHeight: 0 });
    const noHeight = rowWindow({ ...base, height: 0, scrollTop: 0 });
    expect(noHeight.visibleEnd - noHeight.visibleStart).toBe(1);
  });
});

describe('pagesFor and scrollToReveal', () => {
  it('lists the pages a row range touches', () => {
    expect(pagesFor(0, 15, 200)).toEqual([0]);
    expect(pagesFor(195, 215, 200)).toEqual([0, 1]);
    expect(pagesFor(400, 400, 200)).toEqual([]);
    expect(pagesFor(399, 801, 200)).toEqual([1, 2, 3, 4]);
  });

  it('scrolls as little as possible to show a row', () => {
    expect(scrollToReveal(5, 0, 500, 50)).toBe(0); // already visible
    expect(scrollToReveal(10, 0, 500, 50)).toBe(50); // just below: its bottom at the edge
    expect(scrollToReveal(2, 400, 500, 50)).toBe(100); // above: its top at the edge
  });
});

/** 100k rows behind a paged API whose answers wait until the test lets them go. */
function library(total = 100_000) {
  const rows = Array.from({ length: total }, (_, i) => ({ rel: `photo-${i}.jpg`, v: 0 }));
  const asked: number[] = [];
  const waiting: { offset: number; release: () => void; fail: (e: Error) => void }[] = [];
  const fetchPage = (offset: number, limit: number) =>
    new Promise<Page<{ rel: string; v: number }>>((resolve, reject) => {
      asked.push(offset);
      waiting.push({
        offset,
        release: () => resolve({ total: rows.length, rows: rows.slice(offset, offset + limit).map((r) => ({ ...r })) }),
        fail: reject,
      });
    });
  const settle = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
    await new Promise((r) => setTimeout(r, 0));
  };
  const releaseAll = async () => {
    while (waiting.length) {
      waiting.shift()!.release();
      await settle();
    }
  };
  return { rows, asked, waiting, fetchPage, settle, releaseAll };
}

describe('PagedRows', () => {
  it('fetches only the pages in view, a few at a time, and serves their rows', async () => {
    const lib = library();
    let changes = 0;
    const paged = new PagedRows({ pageSize: 200, fetchPage: lib.fetchPage, onChange: () => changes++, concurrency: 2 });
    paged.ensure(150, 650); // pages 0..3
    expect(lib.asked).toEqual([0, 200]); // two at once
    expect(paged.get(150)).toBeUndefined();
    await lib.releaseAll();
    expect(lib.asked).toEqual([0, 200, 400, 600]);
    expect(paged.total).toBe(100_000);
    expect(paged.get(150)?.rel).toBe('photo-150.jpg');
    expect(paged.get(649)?.rel).toBe('photo-649.jpg');
    expect(changes).toBeGreaterThanOrEqual(4);
    // Asking again for rows already here costs nothing.
    paged.ensure(150, 650);
    expect(lib.asked).toHaveLength(4);
  });

  it('after a fast scroll, asks for where the list is now, not for every page flown past', async () => {
    const lib = library();
    const paged = new PagedRows({ pageSize: 200, fetchPage: lib.fetchPage, onChange: () => {}, concurrency: 1 });
    paged.ensure(0, 20);
    for (let top = 0; top < 90_000; top += 1_000) paged.ensure(top, top + 20); // one request in flight meanwhile
    paged.ensure(90_000, 90_020);
    await lib.releaseAll();
    expect(lib.asked).toEqual([0, 90_000]);
    expect(paged.get(90_010)?.rel).toBe('photo-90010.jpg');
  });

  it('drops answers from before a reset (new filter or search)', async () => {
    const lib = library();
    const paged = new PagedRows({ pageSize: 200, fetchPage: lib.fetchPage, onChange: () => {} });
    paged.ensure(0, 20);
    const stale = lib.waiting.shift()!;
    paged.reset();
    lib.rows.splice(0, lib.rows.length, ...lib.rows.slice(0, 10).map((r) => ({ ...r, rel: `filtered-${r.rel}` })));
    stale.release();
    await lib.settle();
    expect(paged.get(0)).toBeUndefined(); // the old answer is not shown under the new filter
    paged.ensure(0, 20);
    await lib.releaseAll();
    expect(paged.total).toBe(10);
    expect(paged.get(0)?.rel).toBe('filtered-photo-0.jpg');
  });

  it('refresh keeps showing the old rows until the new ones arrive', async () => {
    const lib = library();
    const paged = new PagedRows({ pageSize: 200, fetchPage: lib.fetchPage, onChange: () => {} });
    paged.ensure(0, 20);
    await lib.releaseAll();
    lib.rows[5].v = 1;
    paged.refresh();
    expect(lib.waiting).toHaveLength(1);
    expect(paged.get(5)?.v).toBe(0); // still shown meanwhile
    await lib.releaseAll();
    expect(paged.get(5)?.v).toBe(1);
  });

  it('keeps a bounded number of pages, dropping the farthest', async () => {
    const lib = library();
    const paged = new PagedRows({ pageSize: 100, fetchPage: lib.fetchPage, onChange: () => {}, maxPages: 3 });
    for (const top of [0, 100, 200, 300, 400]) {
      paged.ensure(top, top + 10);
      await lib.releaseAll();
    }
    expect(paged.get(0)).toBeUndefined();
    expect(paged.get(150)).toBeUndefined();
    expect(paged.get(250)?.rel).toBe('photo-250.jpg');
    expect(paged.get(405)?.rel).toBe('photo-405.jpg');
  });

  it('says why a page failed and does not hammer the source, then retries', async () => {
    const lib = library();
    let now = 0;
    const paged = new PagedRows({ pageSize: 200, fetchPage: lib.fetchPage, onChange: () => {}, retryAfterMs: 1000, now: () => now });
    paged.ensure(0, 20);
    lib.waiting.shift()!.fail(new Error('the engine is restarting'));
    await lib.settle();
    expect(paged.error).toBe('the engine is restarting');
    paged.ensure(0, 20);
    expect(lib.asked).toHaveLength(1); // too soon
    now = 1500;
    paged.ensure(0, 20);
    expect(lib.asked).toHaveLength(2);
    await lib.releaseAll();
    expect(paged.error).toBeNull();
    expect(paged.get(0)?.rel).toBe('photo-0.jpg');
  });
});

describe('collectRows', () => {
  it('walks pages until it has found as many matches as wanted', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => ({ id: i, failed: i === 10 || i === 2100 || i === 4999 }));
    const asked: number[] = [];
    const fetchPage = async (offset: number, limit: number) => {
      asked.push(offset);
      return { total: rows.length, rows: rows.slice(offset, offset + limit) };
    };
    const two = await collectRows(fetchPage, { pageSize: 1000, want: 2, keep: (r) => r.failed });
    expect(two.map((r) => r.id)).toEqual([10, 2100]);
    expect(asked).toEqual([0, 1000, 2000]); // stopped once both were found
    asked.length = 0;
    const all = await collectRows(fetchPage, { pageSize: 1000, want: 10, keep: (r) => r.failed });
    expect(all.map((r) => r.id)).toEqual([10, 2100, 4999]);
    expect(asked).toEqual([0, 1000, 2000, 3000, 4000]);
    let stop = false;
    const stopped = await collectRows(fetchPage, { pageSize: 1000, want: 10, keep: (r) => r.failed, stopped: () => stop, onProgress: () => (stop = true) });
    expect(stopped.map((r) => r.id)).toEqual([10]);
  });
});
