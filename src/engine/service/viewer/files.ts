/**
 * The viewer's open .sgai files, on the engine's side: viewer:open (header, metadata, preview,
 * siblings; cached per path, size and modification time, so an overwritten file is read again),
 * viewer:original, the embedded preview, full-resolution regions and the 'sgai' layer's view tiles.
 *
 * Open answers from the .sgai alone: proving the original means reading and hashing it (most of
 * a second for a big scan), so that lookup starts when the file is read and runs in the
 * background, one promise per open file shared by viewer:original and the comparisons, and is
 * stopped when the file is closed or read again.
 *
 * Regions are assembled from blocks aligned to the file's codec tiles (8-bit RGB, decoded by the
 * decoder process and kept in a byte-bounded LRU), so panning and zooming decode each block once
 * and a view tile only waits for the blocks it lacks. A request asks for all its blocks at once,
 * in row order: the decoder answers one view's requests in the order they came (request-order.ts),
 * so the tiles asked for first are finished first. View tiles (PNG) have a small LRU of their own.
 */
import { readFile, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { type RasterImage, SgaiError, type SourceRecord } from '../../../core';
import { ApiError } from '../../../ipc/result';
import type { ViewerFileInfo, ViewerOriginal } from '../../../ipc/schemas';
import { tileRect, type TileRect } from '../../../ipc/viewer-tiles';
import type { DecodeCall, Rect } from './decoder-process';
import { unreadable } from './decoder-sessions';
import { describeFile, parseForViewer } from './info';
import { siblingsOf } from './siblings';
import { ByteLru } from './tile-cache';

export type { Rect } from './decoder-process';

export interface ViewerFilesLike {
  /** Cached per path + size + mtime. */
  open(path: string): Promise<ViewerFileInfo>;
  /** The original photo, once the lookup the open started has proven it (or found none). */
  original(path: string): Promise<ViewerOriginal>;
  /** Full-res 8-bit RGB of rect, assembled from cached decoded codec-tile-aligned blocks. */
  region(path: string, rect: Rect, signal?: AbortSignal): Promise<RasterImage>;
  close(path: string): void;
}

/** What decodes blocks: the decoder process (tests may hand in another). */
export interface BlockDecoder {
  decode(path: string, o: DecodeCall): Promise<RasterImage>;
}

export type LibraryRoots = ReadonlyArray<{ folder: string; outRoot: string }>;
export type OriginalFinder = (
  sgaiPath: string,
  source: SourceRecord | undefined,
  libraries: LibraryRoots,
  signal?: AbortSignal,
) => Promise<{ path: string; bytes: number; how: 'beside' | 'manifest' } | null>;

export interface ViewerFilesOptions {
  decoder: BlockDecoder;
  log: (line: string) => void;
  /** Finds the photo a file was made from (find-original.ts); none: no original. */
  findOriginal?: OriginalFinder;
  /** Every library folder and its output root, where batch manifests are. */
  libraries?: () => LibraryRoots;
  /** Bound of the decoded blocks kept (default 256 MB: a 24 MP photo three times over). */
  blockBytes?: number;
  /** Bound of the PNG view tiles kept (default 48 MB). */
  tileBytes?: number;
}

interface OpenFile {
  /** path, size and mtime: every cache key of this version of the file starts with it. */
  key: string;
  path: string;
  info: Omit<ViewerFileInfo, 'siblings'>;
  preview: { data: Uint8Array<ArrayBuffer>; mime: string } | null;
  /** The original's lookup, started when the file was read; it rejects only with CANCELLED (stopped through `lookup`). */
  original: Promise<ViewerOriginal>;
  /** Stops the lookup: nobody can ask for this version's original any more. */
  lookup: AbortController;
}

/** One decoder call for a rectangle of blocks. */
interface Group {
  ctrl: AbortController;
  /** Requests waiting on it; when every one of them has given up, the decode is cancelled. */
  waiters: number;
  keys: string[];
}

interface InFlight {
  group: Group;
  promise: Promise<RasterImage>;
}

/** Files whose header and preview are kept (browsing a folder with ←/→ opens one after another). */
const KEEP_FILES = 32;

/** Display pixels of neighbouring tiles a shrunk tile is computed with: lanczos3 reaches 3 of them. */
const SHRINK_MARGIN = 4;

const rawSharp = (px: RasterImage) => sharp(px.data, { raw: { width: px.width, height: px.height, channels: 3 }, limitInputPixels: false });
const notFound = (message: string) => new ApiError({ code: 'NOT_FOUND', message });
const u8 = (b: Buffer): Uint8Array<ArrayBuffer> => new Uint8Array(b.buffer as ArrayBuffer, b.byteOffset, b.byteLength);

export class ViewerFiles implements ViewerFilesLike {
  private readonly files = new Map<string, Promise<OpenFile>>();
  private readonly blocks: ByteLru<RasterImage>;
  private readonly tiles: ByteLru<Uint8Array<ArrayBuffer>>;
  private readonly decoding = new Map<string, InFlight>();
  private readonly rendering = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();

  constructor(private readonly o: ViewerFilesOptions) {
    this.blocks = new ByteLru(o.blockBytes ?? 256e6);
    this.tiles = new ByteLru(o.tileBytes ?? 48e6);
  }

  /** Bytes of decoded blocks and PNG tiles held now (tests, logs). */
  get cachedBytes(): { blocks: number; tiles: number } {
    return { blocks: this.blocks.bytes, tiles: this.tiles.bytes };
  }

  async open(path: string): Promise<ViewerFileInfo> {
    const f = await this.file(path);
    // The folder may have changed since the file was first opened: siblings are read every time.
    return { ...f.info, siblings: await siblingsOf(path) };
  }

  /**
   * The file's original photo: the lookup its open started (started now when it is not open),
   * shared by everyone who asks. Only a photo whose size and SHA-256 match is ever answered.
   */
  async original(path: string): Promise<ViewerOriginal> {
    return (await this.file(path)).original;
  }

  /** The preview stored in the file, as stored (WebP or JPEG). */
  async preview(path: string): Promise<{ bytes: Uint8Array<ArrayBuffer>; mime: string }> {
    const f = await this.file(path);
    if (!f.preview) throw notFound('this file has no preview');
    return { bytes: f.preview.data, mime: f.preview.mime };
  }

  async region(path: string, rect: Rect, signal?: AbortSignal): Promise<RasterImage> {
    const f = await this.file(path);
    const { width: W, height: H, tileSize: ts } = f.info;
    if (![rect.x, rect.y, rect.width, rect.height].every(Number.isInteger) || rect.width < 1 || rect.height < 1 || rect.x < 0 || rect.y < 0 || rect.x + rect.width > W || rect.y + rect.height > H) {
      throw new SgaiError('INVALID_ARGUMENT', `region ${rect.width}x${rect.height}+${rect.x}+${rect.y} is outside the ${W}x${H} image`);
    }
    const bx0 = Math.floor(rect.x / ts);
    const by0 = Math.floor(rect.y / ts);
    const bx1 = Math.floor((rect.x + rect.width - 1) / ts);
    const by1 = Math.floor((rect.y + rect.height - 1) / ts);
    const wanted: Array<{ bx: number; by: number }> = [];
    for (let by = by0; by <= by1; by++) for (let bx = bx0; bx <= bx1; bx++) wanted.push({ bx, by });
    const got = await this.blocksOf(f, wanted, signal);
    const out = new Uint8Array(rect.width * rect.height * 3);
    wanted.forEach(({ bx, by }, i) => {
      const b = got[i].data as Uint8Array;
      const bw = got[i].width;
      const x0 = Math.max(rect.x, bx * ts);
      const x1 = Math.min(rect.x + rect.width, bx * ts + bw);
      const y0 = Math.max(rect.y, by * ts);
      const y1 = Math.min(rect.y + rect.height, by * ts + got[i].height);
      for (let y = y0; y < y1; y++) {
        const from = ((y - by * ts) * bw + (x0 - bx * ts)) * 3;
        out.set(b.subarray(from, from + (x1 - x0) * 3), ((y - rect.y) * rect.width + (x0 - rect.x)) * 3);
      }
    });
    return { width: rect.width, height: rect.height, bitDepth: 8, data: out };
  }

  /** View tile (tx, ty) of `level` (src/ipc/viewer-tiles.ts) of the decoded file, as PNG. */
  async tile(path: string, level: number, tx: number, ty: number): Promise<Uint8Array<ArrayBuffer>> {
    const f = await this.file(path);
    const t = tileRect(f.info.width, f.info.height, level, tx, ty);
    if (!t) throw notFound(`there is no tile ${tx},${ty} at level ${level} in this ${f.info.width}x${f.info.height} image`);
    const key = `${f.key}\0${level}/${tx}/${ty}`;
    const hit = this.tiles.get(key);
    if (hit) return hit;
    let made = this.rendering.get(key);
    if (!made) {
      made = (async () => {
        const png = u8(await (level === 0 ? rawSharp(await this.region(path, t)) : await this.shrunk(path, f, t, level)).png({ compressionLevel: 1 }).toBuffer());
        // Kept only while the file is still this version (a close or an overwrite meanwhile drops it).
        if ((await this.files.get(path)?.catch(() => undefined))?.key === f.key) this.tiles.set(key, png, png.byteLength);
        return png;
      })().finally(() => this.rendering.delete(key));
      this.rendering.set(key, made);
    }
    return made;
  }

  /**
   * A tile of level > 0: its source rectangle plus a margin from its neighbours, shrunk by 2^level
   * (lanczos3, as the compare layers shrink theirs), then cut to the tile. With the margin the
   * kernel sees real pixels across tile edges, so the tiles join without seams and equal a
   * shrink of the whole image.
   */
  private async shrunk(path: string, f: OpenFile, t: TileRect, level: number): Promise<sharp.Sharp> {
    const s = 2 ** level;
    const m = SHRINK_MARGIN * s;
    const x0 = Math.max(0, t.x - m);
    const y0 = Math.max(0, t.y - m);
    const x1 = Math.min(f.info.width, t.x + t.width + m);
    const y1 = Math.min(f.info.height, t.y + t.height + m);
    const px = await this.region(path, { x: x0, y: y0, width: x1 - x0, height: y1 - y0 });
    return rawSharp(px)
      .resize(Math.ceil((x1 - x0) / s), Math.ceil((y1 - y0) / s), { fit: 'fill', kernel: 'lanczos3' })
      .extract({ left: (t.x - x0) / s, top: (t.y - y0) / s, width: t.outWidth, height: t.outHeight });
  }

  /** The viewer moved on: this file's blocks, tiles and header go, and its decodes stop. False: it was not open. */
  close(path: string): boolean {
    const known = this.files.get(path);
    const was = this.files.delete(path);
    // Its original is no longer wanted: stop hashing candidates for it.
    void known?.then((f) => f.lookup.abort(), () => undefined);
    this.forget(`${path}\0`);
    return was;
  }

  private forget(prefix: string): void {
    this.blocks.deletePrefix(prefix);
    this.tiles.deletePrefix(prefix);
    for (const [k, d] of [...this.decoding]) if (k.startsWith(prefix)) this.cancelGroup(d.group);
  }

  /** The file as opened, read again when its size or time changed since. */
  private async file(path: string): Promise<OpenFile> {
    let st;
    try {
      st = await stat(path);
    } catch (e) {
      throw unreadable(path, e);
    }
    if (!st.isFile()) throw new SgaiError('INPUT_UNREADABLE', `${path} is not a file`);
    const key = `${path}\0${st.size}\0${st.mtimeMs}`;
    const known = this.files.get(path);
    if (known) {
      const f = await known.catch(() => undefined);
      if (f?.key === key && this.files.get(path) === known) {
        this.files.delete(path); // most recently used goes last
        this.files.set(path, known);
        return f;
      }
      if (f && f.key !== key) {
        f.lookup.abort();
        this.forget(`${f.key}\0`);
      }
    }
    const opening = this.read(path, key);
    this.files.set(path, opening);
    // A file that failed to open is not remembered: it may be fixed or replaced.
    opening.catch(() => this.files.get(path) === opening && this.files.delete(path));
    while (this.files.size > KEEP_FILES) this.close(this.files.keys().next().value!);
    return opening;
  }

  private async read(path: string, key: string): Promise<OpenFile> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw unreadable(path, e);
    }
    const { file, model } = parseForViewer(bytes);
    const info = await describeFile(path, bytes.length, file, model);
    // Not awaited: open answers now, viewer:original and the comparisons wait for it.
    const lookup = new AbortController();
    const original = this.lookForOriginal(path, file.source, lookup.signal);
    // Nobody may ask before it is stopped: a cancelled lookup is not an unhandled rejection.
    original.catch(() => undefined);
    // A copy: the stored preview is a view into the whole file's bytes, which are not kept.
    const preview = file.preview ? { data: new Uint8Array(file.preview.data), mime: file.preview.mime } : null;
    return { key, path, info, preview, original, lookup };
  }

  /** The finder's answer; a failure becomes a warning (no original), a stop CANCELLED. */
  private async lookForOriginal(path: string, source: SourceRecord | undefined, signal: AbortSignal): Promise<ViewerOriginal> {
    const find = this.o.findOriginal;
    if (!find) return { original: null, warnings: [] };
    const cancelled = () => new SgaiError('CANCELLED', `the viewer closed ${path} before its original was found`);
    try {
      const original = await find(path, source, this.o.libraries?.() ?? [], signal);
      // A null after a stop may be a search cut short, not "there is none".
      if (!original && signal.aborted) throw cancelled();
      return { original, warnings: [] };
    } catch (e) {
      if (signal.aborted) throw cancelled();
      this.o.log(`warning: looking for the original of ${path} failed: ${(e as Error).message}`);
      return { original: null, warnings: [`The original photo could not be looked for (${(e as Error).message}).`] };
    }
  }

  /**
   * The blocks asked for: from the cache, joined to a decode already running, or decoded now.
   * The missing ones are decoded together, a rectangle of blocks per decoder call (one call for a
   * whole view tile of a higher level), so the decoder's tiles and h_s bands are shared.
   */
  private blocksOf(f: OpenFile, wanted: Array<{ bx: number; by: number }>, signal?: AbortSignal): Promise<RasterImage[]> {
    if (signal?.aborted) return Promise.reject(new SgaiError('CANCELLED', 'cancelled'));
    const keyOf = (bx: number, by: number) => `${f.key}\0b${bx},${by}`;
    const missing = wanted.filter(({ bx, by }) => !this.blocks.has(keyOf(bx, by)) && !this.decoding.has(keyOf(bx, by)));
    for (const r of blockRectangles(missing)) this.startGroup(f, r, keyOf);
    const joined = new Set<Group>();
    const results = wanted.map(({ bx, by }) => {
      const key = keyOf(bx, by);
      const hit = this.blocks.get(key);
      if (hit) return Promise.resolve(hit);
      const d = this.decoding.get(key)!;
      joined.add(d.group);
      return d.promise;
    });
    if (!joined.size) return Promise.all(results);
    for (const g of joined) g.waiters++;
    return new Promise<RasterImage[]>((resolve, reject) => {
      let left = false;
      const leave = () => {
        if (left) return;
        left = true;
        signal?.removeEventListener('abort', onAbort);
        for (const g of joined) if (--g.waiters === 0) this.cancelGroup(g);
      };
      const onAbort = () => {
        leave();
        reject(new SgaiError('CANCELLED', 'cancelled'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      Promise.all(results).then(
        (r) => {
          signal?.removeEventListener('abort', onAbort);
          left = true;
          for (const g of joined) g.waiters--;
          resolve(r);
        },
        (e) => {
          leave();
          reject(e);
        },
      );
    });
  }

  /** One decoder call for a rectangle of blocks; each block is cut out, cached and handed to its waiters. */
  private startGroup(f: OpenFile, r: BlockRect, keyOf: (bx: number, by: number) => string): void {
    const ts = f.info.tileSize;
    const x = r.bx0 * ts;
    const y = r.by0 * ts;
    const rect = { x, y, width: Math.min((r.bx1 + 1) * ts, f.info.width) - x, height: Math.min((r.by1 + 1) * ts, f.info.height) - y };
    const group: Group = { ctrl: new AbortController(), waiters: 0, keys: [] };
    const decoded = this.o.decoder.decode(f.path, { rect, exact: false, bitDepth: 8, signal: group.ctrl.signal });
    for (let by = r.by0; by <= r.by1; by++)
      for (let bx = r.bx0; bx <= r.bx1; bx++) {
        const key = keyOf(bx, by);
        const d: InFlight = { group, promise: undefined as unknown as Promise<RasterImage> };
        d.promise = decoded.then(
          (img) => {
            const block = cut(img, { x: bx * ts - x, y: by * ts - y, width: Math.min(ts, f.info.width - bx * ts), height: Math.min(ts, f.info.height - by * ts) });
            if (this.decoding.get(key) === d) {
              this.decoding.delete(key);
              this.blocks.set(key, block, block.data.byteLength);
            }
            return block;
          },
          (e: unknown) => {
            if (this.decoding.get(key) === d) this.decoding.delete(key);
            throw e;
          },
        );
        // Nobody may be listening any more (all gave up): the rejection is theirs, not unhandled.
        d.promise.catch(() => undefined);
        this.decoding.set(key, d);
        group.keys.push(key);
      }
  }

  /** Stops a group's decode; its blocks leave the map at once, so a request arriving now starts afresh. */
  private cancelGroup(g: Group): void {
    for (const k of g.keys) if (this.decoding.get(k)?.group === g) this.decoding.delete(k);
    g.ctrl.abort();
  }
}

interface BlockRect { bx0: number; by0: number; bx1: number; by1: number }

/**
 * Blocks (in row order) as rectangles: runs of adjacent blocks in a row, merged with the same
 * runs in the rows below; the usual case (a view tile's blocks, none cached) is one rectangle.
 */
export function blockRectangles(blocks: Array<{ bx: number; by: number }>): BlockRect[] {
  const runs: BlockRect[] = [];
  for (const { bx, by } of blocks) {
    const last = runs[runs.length - 1];
    if (last && last.by0 === by && last.bx1 === bx - 1) last.bx1 = bx;
    else runs.push({ bx0: bx, bx1: bx, by0: by, by1: by });
  }
  const out: BlockRect[] = [];
  for (const r of runs) {
    const above = out.find((o) => o.bx0 === r.bx0 && o.bx1 === r.bx1 && o.by1 === r.by0 - 1);
    if (above) above.by1 = r.by1;
    else out.push(r);
  }
  return out;
}

/** A rectangle of an 8-bit RGB raster, copied. */
function cut(img: RasterImage, r: Rect): RasterImage {
  const src = img.data as Uint8Array;
  if (r.x === 0 && r.y === 0 && r.width === img.width && r.height === img.height) return img;
  const out = new Uint8Array(r.width * r.height * 3);
  for (let row = 0; row < r.height; row++) {
    const from = ((r.y + row) * img.width + r.x) * 3;
    out.set(src.subarray(from, from + r.width * 3), row * r.width * 3);
  }
  return { width: r.width, height: r.height, bitDepth: 8, data: out };
}
