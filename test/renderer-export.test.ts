/**
 * The renderer's export and open logic, run as it is: .sgai path helpers (both separators), the
 * export dialog's form (checked into the contract's own request schema, remembered in a real
 * Storage-like object), which export:state report wins when they arrive out of order, and the
 * "Select all done" walk over an in-memory library of done photos, capped at what one export takes.
 */
import { describe, expect, it } from 'vitest';
import { invoke } from '../src/ipc/contract';
import type { ExportState, PhotoRow } from '../src/ipc/schemas';
import type { Page } from '../src/renderer/src/lib/paged';
import {
  checkExportDraft, DEFAULTS, draftFor, readRemembered, remember, REMEMBER_KEY, type ExportDraft,
} from '../src/renderer/src/lib/export-form';
import { collectDone, EXPORT_CAP, exportable } from '../src/renderer/src/lib/export-selection';
import { currentName, exportFolder, isFinal, newerState } from '../src/renderer/src/lib/export-state';
import { commonFolder, dirName, isSgaiPath } from '../src/renderer/src/lib/sgai-paths';
import { exportStrings, openStrings, strings } from '../src/renderer/src/lib/strings';

/** A Storage stand-in with the two methods the form uses (node has no localStorage). */
class MemoryStorage {
  items = new Map<string, string>();
  getItem(k: string): string | null {
    return this.items.get(k) ?? null;
  }
  setItem(k: string, v: string): void {
    this.items.set(k, v);
  }
}

describe('.sgai paths', () => {
  it('knows a .sgai by its name, in any case, and nothing else', () => {
    expect(isSgaiPath('/a/IMG_1.sgai')).toBe(true);
    expect(isSgaiPath('C:\\x\\IMG_1.SGAI')).toBe(true);
    expect(isSgaiPath('IMG_1.sgai ')).toBe(true);
    expect(isSgaiPath('/a/IMG_1.jpg')).toBe(false);
    expect(isSgaiPath('/a/sgai')).toBe(false);
    expect(isSgaiPath('/a/x.sgai.png')).toBe(false);
  });

  it('gives the folder of a file, keeping a root as a folder', () => {
    expect(dirName('/a/b/c.sgai')).toBe('/a/b');
    expect(dirName('/c.sgai')).toBe('/');
    expect(dirName('C:\\Photos\\c.sgai')).toBe('C:\\Photos');
    expect(dirName('C:\\c.sgai')).toBe('C:\\');
    expect(dirName('c.sgai')).toBe('');
  });

  it('finds the deepest folder holding all the files', () => {
    expect(commonFolder(['/out/2019/a.sgai'])).toBe('/out/2019');
    expect(commonFolder(['/out/2019/a.sgai', '/out/2019/b.sgai'])).toBe('/out/2019');
    expect(commonFolder(['/out/2019/x/a.sgai', '/out/2020/b.sgai', '/out/2019/c.sgai'])).toBe('/out');
    // A shared prefix of a name is not a shared folder.
    expect(commonFolder(['/out/2019/a.sgai', '/out/2019b/b.sgai'])).toBe('/out');
    expect(commonFolder(['/a/x.sgai', '/b/y.sgai'])).toBe('/');
    expect(commonFolder([])).toBeNull();
  });

  it('handles Windows drives (case-insensitively) and UNC shares, and gives up across drives', () => {
    expect(commonFolder(['C:\\Pics\\2019\\a.sgai', 'c:\\pics\\2020\\b.sgai'])).toBe('C:\\Pics');
    expect(commonFolder(['C:\\a.sgai', 'C:\\b.sgai'])).toBe('C:\\');
    expect(commonFolder(['\\\\nas\\photos\\2019\\a.sgai', '\\\\nas\\photos\\2020\\b.sgai'])).toBe('\\\\nas\\photos\\');
    expect(commonFolder(['C:\\a\\x.sgai', 'D:\\a\\y.sgai'])).toBeNull();
    expect(commonFolder(['C:\\a\\x.sgai', '/a/y.sgai'])).toBeNull();
  });
});

describe('the export form', () => {
  const exportReq = invoke.exportStart.req;
  const draft = (over: Partial<ExportDraft> = {}): ExportDraft => ({ ...draftFor(['/out/a.sgai'], DEFAULTS), ...over });

  it('starts from PNG 8-bit, quality 92, all metadata, full size, beside the files', () => {
    expect(DEFAULTS).toEqual({ format: 'png', bitDepth: 8, quality: 92, metadata: 'all', resize: false, longEdge: 2048, folder: null });
    const d = draftFor(['/out/2019/a.sgai', '/out/2020/b.sgai'], DEFAULTS);
    expect(d).toEqual({ format: 'png', bitDepth: 8, quality: '92', metadata: 'all', resize: false, longEdge: '2048', folder: '/out' });
  });

  it('checks into settings the contract accepts', () => {
    const c = checkExportDraft(draft({ format: 'jpeg', quality: ' 85 ', metadata: 'none', resize: true, longEdge: '400', folder: ' /tmp/exports ' }));
    expect(c).toEqual({ ok: true, value: { format: 'jpeg', bitDepth: 8, quality: 85, metadata: 'none', longEdge: 400, folder: '/tmp/exports' } });
    if (!c.ok) throw new Error('unreachable');
    expect(exportReq.safeParse({ files: ['/out/a.sgai'], settings: c.value }).success).toBe(true);
    const png16 = checkExportDraft(draft({ bitDepth: 16, metadata: 'no-location' }));
    expect(png16.ok && png16.value).toMatchObject({ format: 'png', bitDepth: 16, longEdge: null, metadata: 'no-location', folder: '/out' });
  });

  it('names the field and the reason for each bad value', () => {
    const c = checkExportDraft(draft({ format: 'jpeg', quality: '101', resize: true, longEdge: '8', folder: 'exports' }));
    expect(c).toEqual({
      ok: false,
      errors: { quality: exportStrings.invalid.quality, longEdge: exportStrings.invalid.longEdge, folder: exportStrings.invalid.folderAbsolute },
    });
    expect(checkExportDraft(draft({ format: 'jpeg', quality: '9.5' })).ok).toBe(false);
    expect(checkExportDraft(draft({ format: 'jpeg', quality: '' })).ok).toBe(false);
    expect(checkExportDraft(draft({ resize: true, longEdge: '70000' })).ok).toBe(false);
    expect(checkExportDraft(draft({ folder: '   ' }))).toEqual({ ok: false, errors: { folder: exportStrings.invalid.folderRequired } });
  });

  it('does not hold a value the format does not use against it', () => {
    // A half-typed JPEG quality does not stop a PNG export, nor a long edge with resizing off.
    const c = checkExportDraft(draft({ format: 'png', quality: 'abc', resize: false, longEdge: '' }));
    expect(c.ok && c.value).toMatchObject({ format: 'png', quality: 92, longEdge: null });
    expect(checkExportDraft(draft({ folder: 'C:\\Exports' })).ok).toBe(true);
  });

  it('remembers the last settings and offers, not imposes, the last folder', () => {
    const storage = new MemoryStorage();
    const c = checkExportDraft(draft({ format: 'jpeg', quality: '70', metadata: 'copyright', resize: true, longEdge: '1600', folder: '/exports' }));
    if (!c.ok) throw new Error('a valid draft');
    remember(storage, c.value, DEFAULTS);
    const r = readRemembered(storage);
    expect(r).toEqual({ format: 'jpeg', bitDepth: 8, quality: 70, metadata: 'copyright', resize: true, longEdge: 1600, folder: '/exports' });
    // The next dialog starts with those choices, but saves beside its own files.
    expect(draftFor(['/out/b.sgai'], r)).toMatchObject({ format: 'jpeg', quality: '70', resize: true, longEdge: '1600', folder: '/out' });
    // Files with no folder in common (two drives): the last folder is the best guess.
    expect(draftFor(['C:\\a\\x.sgai', 'D:\\y.sgai'], r).folder).toBe('/exports');
    // A full-size export keeps the long edge typed before, for the next time resizing is on.
    const full = checkExportDraft(draft({ folder: '/exports' }));
    if (!full.ok) throw new Error('a valid draft');
    remember(storage, full.value, r);
    expect(readRemembered(storage)).toMatchObject({ resize: false, longEdge: 1600 });
  });

  it('falls back to the defaults, field by field, for anything unreadable it finds', () => {
    const storage = new MemoryStorage();
    expect(readRemembered(storage)).toEqual(DEFAULTS);
    expect(readRemembered(null)).toEqual(DEFAULTS);
    storage.setItem(REMEMBER_KEY, '{not json');
    expect(readRemembered(storage)).toEqual(DEFAULTS);
    storage.setItem(REMEMBER_KEY, JSON.stringify({ format: 'webp', bitDepth: 16, quality: 0, metadata: 'none', longEdge: 'big', folder: '' }));
    expect(readRemembered(storage)).toEqual({ ...DEFAULTS, bitDepth: 16, metadata: 'none' });
    storage.setItem(REMEMBER_KEY, 'null');
    expect(readRemembered(storage)).toEqual(DEFAULTS);
  });

  it('summarises the settings in one line', () => {
    expect(exportStrings.summary({ format: 'png', bitDepth: 16, quality: 92, metadata: 'all', longEdge: null, folder: '/x' })).toBe('PNG 16-bit · all metadata · full size');
    expect(exportStrings.summary({ format: 'jpeg', bitDepth: 8, quality: 85, metadata: 'none', longEdge: 2400, folder: '/x' })).toBe('JPEG quality 85 · no metadata · long edge 2,400 px');
    expect(exportStrings.summary({ format: 'jpeg', bitDepth: 8, quality: 85, metadata: 'no-location', longEdge: null, folder: '/x' })).toBe('JPEG quality 85 · no location · full size');
  });

  it('is re-exported with the rest of the strings', () => {
    expect(strings.app.name).toBe('sgai');
    expect(openStrings.pathLabel).toBe('Path of a .sgai file');
    expect(exportStrings.title(1)).toBe('Export 1 file');
    expect(exportStrings.title(12_000)).toBe('Export 12,000 files');
  });
});

describe('export:state', () => {
  const state = (over: Partial<ExportState>): ExportState => ({ exportId: 'e1', state: 'running', total: 3, done: 0, written: [], failed: [], ...over });
  const w = (n: number) => ({ source: `/out/${n}.sgai`, path: `/exp/${n}.png`, bytes: 1000 * n, width: 768, height: 512 });

  it('keeps the report that is further along, whatever order they arrive in', () => {
    const started = state({});
    const one = state({ done: 1, written: [w(1)], current: '/out/2.sgai' });
    const over = state({ state: 'done', done: 3, written: [w(1), w(2), w(3)] });
    // export:start's answer arriving after the first event does not wind the card back.
    expect(newerState(one, started)).toBe(one);
    expect(newerState(started, one)).toBe(one);
    expect(newerState(over, one)).toBe(over);
    // A final report wins even when it did fewer files (cancelled after one).
    const cancelled = state({ state: 'cancelled', done: 1, written: [w(1)] });
    expect(newerState(state({ done: 1, written: [w(1)], current: '/out/2.sgai' }), cancelled)).toBe(cancelled);
    expect(newerState(undefined, started)).toBe(started);
    // A report of another export replaces nothing by mistake.
    const other = state({ exportId: 'e2' });
    expect(newerState(over, other)).toBe(other);
  });

  it('says where the files went and what is being decoded', () => {
    const s = state({ state: 'done', done: 2, written: [w(1), { ...w(2), path: '/exp/sub/2.png' }], current: '/out/x/IMG 7.sgai' });
    expect(isFinal(s)).toBe(true);
    expect(isFinal(state({}))).toBe(false);
    expect(exportFolder(s, '/chosen')).toBe('/chosen');
    expect(exportFolder(s, undefined)).toBe('/exp');
    expect(exportFolder(state({}), undefined)).toBeNull();
    expect(currentName(s)).toBe('IMG 7.sgai');
    expect(exportStrings.exporting(2, 12, 'IMG 7.sgai')).toBe('Exporting 3 of 12 · IMG 7.sgai');
    expect(exportStrings.exporting(12, 12, null)).toBe('Exporting 12 of 12');
    expect(exportStrings.finished(12, '/exp')).toBe('12 files exported to /exp');
    expect(exportStrings.finished(1, null)).toBe('1 file exported');
  });
});

describe('select all done', () => {
  /** A folder's done photos as library:photos (filter 'done') pages them; a few have no .sgai (an original copied for lack of savings). */
  function library(n: number) {
    const rows: PhotoRow[] = Array.from({ length: n }, (_, i) => ({
      rel: `d${Math.floor(i / 1000)}/IMG_${i}.jpg`,
      bytes: 5_000_000,
      mtimeMs: 0,
      state: 'done',
      output: `d${Math.floor(i / 1000)}/IMG_${i}.sgai`,
      outputPath: i % 97 === 5 ? `/out/d${Math.floor(i / 1000)}/IMG_${i}.jpg` : `/out/d${Math.floor(i / 1000)}/IMG_${i}.sgai`,
      bytesOut: 1_000_000,
    }));
    const asked: Array<[number, number]> = [];
    const fetch = async (offset: number, limit: number): Promise<Page<PhotoRow>> => {
      asked.push([offset, limit]);
      return { total: rows.length, rows: rows.slice(offset, offset + limit) };
    };
    return { rows, asked, fetch };
  }

  it('collects every done .sgai but the rows unticked since, in pages the contract allows', async () => {
    const lib = library(2_345);
    const excluded = new Set([lib.rows[0].rel, lib.rows[1_000].rel]);
    const progress: number[] = [];
    const got = await collectDone(lib.fetch, { excluded, onProgress: (found) => progress.push(found) });
    const expected = lib.rows.filter((r) => exportable(r) && !excluded.has(r.rel)).map((r) => r.outputPath);
    expect(got.files).toEqual(expected);
    expect(got.files.every((f) => f.endsWith('.sgai'))).toBe(true);
    expect(got).toMatchObject({ all: expected.length, capped: false });
    expect(lib.asked.every(([, limit]) => limit <= 500)).toBe(true);
    expect(invoke.libraryPhotos.req.safeParse({ folderId: 'f1', offset: 0, limit: lib.asked[0][1], filter: 'done' }).success).toBe(true);
    expect(progress.at(-1)).toBe(expected.length);
  });

  it('stops at the cap and says how many there were', async () => {
    const lib = library(1_300);
    const got = await collectDone(lib.fetch, { excluded: new Set(), cap: 1_000 });
    expect(got.files).toHaveLength(1_000);
    expect(got.capped).toBe(true);
    expect(got.all).toBeGreaterThan(1_000);
    expect(got.all).toBeLessThanOrEqual(1_300);
    // The cap is the contract's: export:start refuses one file more.
    const files = Array.from({ length: EXPORT_CAP + 1 }, (_, i) => `/out/${i}.sgai`);
    const settings = { format: 'png', bitDepth: 8, quality: 92, metadata: 'all', longEdge: null, folder: '/exp' } as const;
    expect(invoke.exportStart.req.safeParse({ files: files.slice(0, EXPORT_CAP), settings }).success).toBe(true);
    expect(invoke.exportStart.req.safeParse({ files, settings }).success).toBe(false);
  });

  it('stops walking when told the selection changed', async () => {
    const lib = library(5_000);
    let pages = 0;
    const got = await collectDone(
      async (o, l) => {
        pages++;
        return lib.fetch(o, l);
      },
      { excluded: new Set(), stopped: () => pages >= 2 },
    );
    expect(pages).toBe(2);
    expect(got.files.length).toBeLessThan(1_000);
  });
});
