/**
 * The engine's viewer on real files: a photo with EXIF and a Display P3 profile encoded to .sgai,
 * opened (every info field), its preview, its view tiles at levels 0-2 against sharp's downscale
 * of a full decode, the tile caches (same bytes, bounded), cancellation, four kinds of damaged
 * file, the decoder process (a bad request, a kill), and the service's channels and pixel routes.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, encodeFile, initBackend, type RasterImage, SgaiError } from '../src/core';
import { parseIcc } from '../src/core/image/icc';
import { invoke } from '../src/ipc/contract';
import { ViewerFileInfo } from '../src/ipc/schemas';
import { maxLevel, tileRect, tilesAcross } from '../src/ipc/viewer-tiles';
import { DecoderProcess, type DecodeCall } from '../src/engine/service/viewer/decoder-process';
import { decoderEntry } from '../src/engine/service/viewer/decoder-entry-path';
import { NewestViewFirst } from '../src/engine/service/viewer/request-order';
import { ViewerFiles, type OriginalFinder } from '../src/engine/service/viewer/files';
import { findOriginal } from '../src/engine/service/viewer/find-original';
import { cameraName, exifDate, shutterSpeed } from '../src/engine/service/viewer/capture';
import { siblingsOf } from '../src/engine/service/viewer/siblings';
import { ByteLru } from '../src/engine/service/viewer/tile-cache';
import { makePhoto } from './engine-fixtures';
import { outputTo, startService } from './engine-service-helpers';
import { ROOT, TEST_MODEL_PATH, tempDir } from './helpers';

const SAMPLE = join(ROOT, 'resources', 'sample', 'mike-castro-demaria-94BUerwdFP8-unsplash.jpg');
const W = 1152;
const H = 640;
const CODEC_TILE = 128;

const EXIF = {
  IFD0: { Make: 'Canon', Model: 'Canon EOS R5', Artist: 'Jane Doe', Copyright: '(c) Jane Doe 2024' },
  IFD2: {
    ExposureTime: '1/250', FNumber: '56/10', ISOSpeedRatings: '200', FocalLength: '35/1', DateTimeOriginal: '2024:05:06 07:08:09',
    OffsetTimeOriginal: '+02:00', LensModel: 'RF24-105mm F4 L IS USM',
  },
  IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2964/100', GPSLongitudeRef: 'E', GPSLongitude: '2/1 17/1 4020/100', GPSAltitudeRef: '0', GPSAltitude: '35/1' },
};

/** 1152x640 from the sample photo (a crop beside its mirror image: two level-1 tiles across), with EXIF and a P3 profile. */
async function makeSourcePhoto(path: string): Promise<void> {
  const crop = await sharp(SAMPLE).extract({ left: 0, top: 64, width: W / 2, height: H }).png().toBuffer();
  const mirrored = await sharp(crop).flop().png().toBuffer();
  await sharp({ create: { width: W, height: H, channels: 3, background: '#000' } })
    .composite([{ input: crop, left: 0, top: 0 }, { input: mirrored, left: W / 2, top: 0 }])
    .withExif(EXIF)
    .withIccProfile('p3')
    .jpeg({ quality: 92 })
    .toFile(path);
}

const bytesOf = (img: RasterImage) => Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
function crop(img: RasterImage, r: { x: number; y: number; width: number; height: number }): Buffer {
  const out = Buffer.alloc(r.width * r.height * 3);
  for (let row = 0; row < r.height; row++) {
    const from = ((r.y + row) * img.width + r.x) * 3;
    out.set((img.data as Uint8Array).subarray(from, from + r.width * 3), row * r.width * 3);
  }
  return out;
}
const rawOf = async (png: Uint8Array) => {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
};

/** A decoder that counts what it is asked for, around the real one. */
function counting(inner: DecoderProcess) {
  const calls: Array<{ path: string; o: DecodeCall }> = [];
  return { calls, decode: (path: string, o: DecodeCall) => (calls.push({ path, o }), inner.decode(path, o)) };
}

describe('viewer: small parts', () => {
  it('words for cameras, shutter speeds and dates', () => {
    expect(cameraName('Canon', 'Canon EOS R5')).toBe('Canon EOS R5');
    expect(cameraName('NIKON CORPORATION', 'NIKON D750')).toBe('NIKON D750');
    expect(cameraName('FUJIFILM', 'X-T4')).toBe('FUJIFILM X-T4');
    expect(cameraName(undefined, 'X-T4')).toBe('X-T4');
    expect([shutterSpeed(0.004), shutterSpeed(1 / 3), shutterSpeed(0.8), shutterSpeed(30)]).toEqual(['1/250 s', '1/3 s', '0.8 s', '30 s']);
    expect(exifDate('2024:05:06 07:08:09', undefined)).toBe('2024-05-06T07:08:09');
    expect(exifDate('2024:05:06 07:08:09', '-05:00')).toBe('2024-05-06T07:08:09-05:00');
    expect(exifDate('0000:00:00 00:00:00', undefined)).toBeUndefined();
  });

  it('answers the newest view first, in the order each view asked', () => {
    let now = 0;
    const q = new NewestViewFirst<string>(() => now, 100);
    q.push('a1');
    q.push('a2');
    q.push('a3');
    now = 500;
    q.push('b1');
    q.push('b2');
    expect(q.take()).toBe('b1');
    now = 1000;
    q.push('c1');
    expect(q.remove((x) => x === 'a2')).toBe('a2');
    expect([q.take(), q.take(), q.take(), q.take(), q.take()]).toEqual(['c1', 'b2', 'a1', 'a3', undefined]);
    expect(q.size).toBe(0);
  });

  it('the byte-bounded LRU keeps the newest within its bound', () => {
    const lru = new ByteLru<string>(100);
    lru.set('a', 'A', 40);
    lru.set('b', 'B', 40);
    expect(lru.get('a')).toBe('A'); // a is now the most recent
    lru.set('c', 'C', 40);
    expect([lru.get('a'), lru.get('b'), lru.get('c'), lru.bytes]).toEqual(['A', undefined, 'C', 80]);
    lru.set('huge', 'H', 101);
    expect([lru.get('huge'), lru.bytes]).toEqual([undefined, 80]);
    lru.deletePrefix('a');
    expect([lru.size, lru.bytes]).toEqual([1, 40]);
  });

  it('finds the built decoder beside the built encoder entry, the launcher from sources', () => {
    const built = tempDir('sgai-built-');
    writeFileSync(join(built, 'worker.js'), '');
    writeFileSync(join(built, 'decoder.js'), '');
    expect(decoderEntry(undefined, { SGAI_WORKER_ENTRY: join(built, 'worker.js') }).path).toBe(join(built, 'decoder.js'));
    expect(decoderEntry(undefined, { SGAI_DECODER_ENTRY: '/opt/x/decoder.js', SGAI_WORKER_ENTRY: join(built, 'worker.js') }).path).toBe('/opt/x/decoder.js');
    expect(decoderEntry(undefined, {}).path).toBe(join(ROOT, 'src', 'engine', 'service', 'viewer', 'decoder-launcher.mjs'));
    expect(existsSync(decoderEntry(undefined, {}).path)).toBe(true);
  });
});

describe('viewer: files, tiles and the decoder process', () => {
  let dir: string;
  let sgai: string;
  let sgaiBytes: Uint8Array;
  let full: RasterImage;
  let decoder: DecoderProcess;
  const damaged: Record<'corrupt' | 'truncated' | 'unknownModel' | 'notSgai', string> = { corrupt: '', truncated: '', unknownModel: '', notSgai: '' };
  const logs: string[] = [];

  beforeAll(async () => {
    await initBackend('ort'); // the decoder process's 'auto' is ort too: the same fast pixels
    dir = await realpath(tempDir('sgai-viewer-'));
    const photo = join(dir, 'photo.jpg');
    await makeSourcePhoto(photo);
    sgaiBytes = (await encodeFile(photo, { model: TEST_MODEL_PATH, tileSize: CODEC_TILE })).bytes;
    sgai = join(dir, 'photo.sgai');
    writeFileSync(sgai, sgaiBytes);
    full = (await decode(sgaiBytes, { exact: false })).image;
    // Siblings, in an order only a numeric sort gets right, and things that are not siblings.
    for (const n of ['IMG_10.sgai', 'IMG_2.sgai', '.hidden.sgai']) copyFileSync(sgai, join(dir, n));
    writeFileSync(join(dir, 'notes.txt'), 'not a photo');

    const bad = join(dir, 'damaged');
    mkdirSync(bad);
    const flipped = new Uint8Array(sgaiBytes);
    flipped[Math.floor(flipped.length * 0.6)] ^= 0x40; // inside the y tiles: a checksum fails
    writeFileSync((damaged.corrupt = join(bad, 'corrupt.sgai')), flipped);
    writeFileSync((damaged.truncated = join(bad, 'truncated.sgai')), sgaiBytes.subarray(0, Math.floor(sgaiBytes.length * 0.7)));
    copyFileSync(photo, (damaged.notSgai = join(bad, 'photo-renamed.sgai')));
    // A model that is installed nowhere: the test model's weights under another id.
    const elsewhere = tempDir('sgai-model-elsewhere-');
    const card = JSON.parse(readFileSync(TEST_MODEL_PATH.replace(/\.safetensors$/, '.json'), 'utf8'));
    writeFileSync(join(elsewhere, 'sgai-only-here.json'), JSON.stringify({ ...card, id: 'sgai-only-here', file: 'sgai-only-here.safetensors' }));
    copyFileSync(TEST_MODEL_PATH, join(elsewhere, 'sgai-only-here.safetensors'));
    const small = join(bad, 'small.png');
    await makePhoto(small, { w: 96, h: 64 });
    writeFileSync((damaged.unknownModel = join(bad, 'unknown-model.sgai')), (await encodeFile(small, { model: join(elsewhere, 'sgai-only-here.safetensors') })).bytes);
    // Not damaged: a small file without a preview.
    writeFileSync(join(bad, 'no-preview.sgai'), (await encodeFile(small, { model: TEST_MODEL_PATH, preview: false })).bytes);

    decoder = new DecoderProcess({ log: (l) => logs.push(l) });
  });
  afterAll(async () => {
    await decoder?.close();
  });

  it('opens a file: size, bpp, model, preview, capture metadata, colour profile, siblings; its original from the lookup', async () => {
    const found: Parameters<OriginalFinder>[] = [];
    const files = new ViewerFiles({
      decoder,
      log: (l) => logs.push(l),
      findOriginal: async (...args) => (found.push(args), { path: join(dir, 'photo.jpg'), bytes: 123, how: 'beside' }),
      libraries: () => [{ folder: '/lib', outRoot: '/out' }],
    });
    const info = await files.open(sgai);
    expect(ViewerFileInfo.parse(info)).toEqual(info);
    expect(info).toMatchObject({
      path: sgai, name: 'photo.sgai', bytes: sgaiBytes.length, width: W, height: H, bitDepth: 8, tileSize: CODEC_TILE,
      model: { id: 'sgai-test-n32m48', lambda: 0.0067, installed: true }, refine: null, hadAlpha: false, originalOrientation: 1, warnings: [],
    });
    expect(info).not.toHaveProperty('original');
    expect(await files.original(sgai)).toEqual({ original: { path: join(dir, 'photo.jpg'), bytes: 123, how: 'beside' }, warnings: [] });
    expect(info.bpp).toBeCloseTo((8 * sgaiBytes.length) / (W * H), 10);
    expect(info.preview!.width).toBeLessThanOrEqual(256);
    expect(info.preview!.width / info.preview!.height).toBeCloseTo(W / H, 1);
    expect(info.capture).toEqual({
      camera: 'Canon EOS R5', lens: 'RF24-105mm F4 L IS USM', date: '2024-05-06T07:08:09+02:00', exposure: '1/250 s · f/5.6 · ISO 200 · 35 mm',
      gps: { latitude: expect.closeTo(48.858233, 5), longitude: expect.closeTo(2.2945, 5), altitude: 35 }, copyright: '(c) Jane Doe 2024', artist: 'Jane Doe',
    });
    const p3 = parseIcc(new Uint8Array((await sharp(join(dir, 'photo.jpg')).metadata()).icc!))!.description!;
    expect(p3).toMatch(/P3/);
    expect(info.colourProfile).toBe(p3);
    expect(info.siblings).toEqual({ index: 2, count: 3, prev: join(dir, 'IMG_10.sgai'), next: null });
    expect(found).toEqual([[
      sgai, { sha256: expect.stringMatching(/^[0-9a-f]{64}$/), bytes: readFileSync(join(dir, 'photo.jpg')).length }, [{ folder: '/lib', outRoot: '/out' }], expect.any(AbortSignal),
    ]]);
    // Cached: the finder is not asked again for the same version of the file.
    await files.open(sgai);
    await files.original(sgai);
    expect(found.length).toBe(1);

    // IMG_2 before IMG_10: numeric order.
    expect((await siblingsOf(join(dir, 'IMG_2.sgai')))).toEqual({ index: 0, count: 3, prev: null, next: join(dir, 'IMG_10.sgai') });
    await expect(files.open(join(dir, 'missing.sgai'))).rejects.toMatchObject({ code: 'INPUT_UNREADABLE', message: expect.stringMatching(/does not exist/) });
  });

  it('open answers before the original is hashed; viewer:original then proves it (or finds none), one lookup per open file', async () => {
    const d = await realpath(tempDir('sgai-viewer-original-'));
    const photo = readFileSync(join(dir, 'photo.jpg'));
    // A: the right photo beside it. B: a same-sized photo with one byte changed (an edit, not the original).
    mkdirSync(join(d, 'a'));
    mkdirSync(join(d, 'b'));
    const a = join(d, 'a', 'photo.sgai');
    const b = join(d, 'b', 'photo.sgai');
    copyFileSync(sgai, a);
    copyFileSync(sgai, b);
    writeFileSync(join(d, 'a', 'photo.jpg'), photo);
    const edited = new Uint8Array(photo);
    edited[edited.length >> 1] ^= 0xff;
    writeFileSync(join(d, 'b', 'photo.jpg'), edited);

    // The real finder behind a gate per .sgai: each lookup's read of the photo waits until the test opens its gate.
    const gates = new Map<string, { open: () => void; opened: Promise<void> }>();
    const gate = (p: string) => {
      let open!: () => void;
      const opened = new Promise<void>((r) => (open = r));
      gates.set(p, { open, opened });
    };
    const asked: string[] = [];
    const finder: OriginalFinder = async (path, source, libraries, signal) => {
      asked.push(path);
      await gates.get(path)?.opened;
      return findOriginal(path, source, libraries, signal);
    };
    gate(a);
    gate(b);
    const files = new ViewerFiles({ decoder, log: (l) => logs.push(l), findOriginal: finder });
    const settled = <T>(p: Promise<T>) => {
      const s: { done: boolean; value?: T; error?: unknown } = { done: false };
      p.then((value) => Object.assign(s, { done: true, value }), (error) => Object.assign(s, { done: true, error }));
      return s;
    };
    const tick = () => new Promise((r) => setTimeout(r, 50));

    // Open answers while A's lookup has not even read the photo; the lookup has started.
    const info = await files.open(a);
    expect(info.width).toBe(W);
    expect(asked).toEqual([a]);
    const first = settled(files.original(a));
    const second = settled(files.original(a));
    await tick();
    expect([first.done, second.done]).toEqual([false, false]);

    // Another file opened meanwhile gets its own answer, while A's is still out: B's photo has other bytes, so none.
    await files.open(b);
    gates.get(b)!.open();
    expect(await files.original(b)).toEqual({ original: null, warnings: [] });
    expect(first.done).toBe(false);

    // A's gate opens: both callers get the one lookup's answer, the proven photo beside it.
    gates.get(a)!.open();
    const wantA = { original: { path: join(d, 'a', 'photo.jpg'), bytes: photo.length, how: 'beside' }, warnings: [] };
    await expect.poll(() => first.done).toBe(true);
    await expect.poll(() => second.done).toBe(true);
    expect([first.value, second.value]).toEqual([wantA, wantA]);
    expect(asked).toEqual([a, b]);

    // Closed before its lookup answers: the lookup stops, whoever waited hears CANCELLED, and the next ask starts afresh.
    gate(a);
    files.close(a);
    const stopped = files.original(a); // not open: this reads it and starts its lookup
    await expect.poll(() => asked.length).toBe(3);
    files.close(a);
    gates.get(a)!.open();
    await expect(stopped).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await files.original(a)).toEqual(wantA);
    expect(asked).toEqual([a, b, a, a]);

    // A finder that fails: no original, the reason as a warning and in the log; open itself is unharmed.
    const failing = new ViewerFiles({ decoder, log: (l) => logs.push(l), findOriginal: async () => { throw new Error('the manifest could not be read'); } });
    expect((await failing.open(a)).warnings).toEqual([]);
    expect(await failing.original(a)).toEqual({ original: null, warnings: ['The original photo could not be looked for (the manifest could not be read).'] });
    expect(logs.some((l) => l.includes(`looking for the original of ${a} failed: the manifest could not be read`))).toBe(true);
    // A damaged file answers its SgaiError here too.
    await expect(files.original(damaged.notSgai)).rejects.toMatchObject({ code: 'BAD_MAGIC' });
  });

  it('serves the stored preview with its type; a file without one answers NOT_FOUND', async () => {
    const files = new ViewerFiles({ decoder, log: () => undefined });
    const info = await files.open(sgai);
    const p = await files.preview(sgai);
    const meta = await sharp(p.bytes).metadata();
    expect(p.mime).toBe(`image/${meta.format}`);
    expect([meta.width, meta.height]).toEqual([info.preview!.width, info.preview!.height]);
    const bare = join(dir, 'damaged', 'no-preview.sgai');
    expect((await files.open(bare)).preview).toBeNull();
    await expect(files.preview(bare)).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'this file has no preview' });
  });

  it('refuses damaged files with their SgaiError: corrupt, truncated, unknown model, not an .sgai', async () => {
    const files = new ViewerFiles({ decoder, log: () => undefined });
    const err = (p: string) => files.open(p).then(() => null, (e: SgaiError) => ({ code: e.code, message: e.message }));
    const corrupt = await err(damaged.corrupt);
    expect(corrupt).toMatchObject({ code: 'CHECKSUM', message: expect.stringMatching(/damaged/) });
    expect(corrupt!.message).not.toMatch(/pass --salvage/);
    expect(await err(damaged.truncated)).toMatchObject({ code: 'TRUNCATED', message: expect.stringMatching(/truncated/) });
    expect(await err(damaged.unknownModel)).toMatchObject({ code: 'MODEL_NOT_INSTALLED', message: expect.stringMatching(/"sgai-only-here", which is not installed/) });
    expect(await err(damaged.notSgai)).toMatchObject({ code: 'BAD_MAGIC', message: expect.stringMatching(/not an \.sgai file/) });
    // A file that was fixed opens the next time (failures are not cached).
    copyFileSync(sgai, damaged.truncated);
    expect((await files.open(damaged.truncated)).width).toBe(W);
  });

  it('view tiles at levels 0, 1 and 2 are the full decode, and sharp\'s downscale of it', async () => {
    const files = new ViewerFiles({ decoder, log: () => undefined });
    await files.open(sgai);
    expect(maxLevel(W, H)).toBe(2);
    for (const level of [0, 1, 2]) {
      const scaled = Math.ceil(W / 2 ** level);
      const want = level === 0 ? full : await (async () => {
        const { data, info } = await sharp(bytesOf(full), { raw: { width: W, height: H, channels: 3 } })
          .resize(scaled, Math.ceil(H / 2 ** level), { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer({ resolveWithObject: true });
        return { width: info.width, height: info.height, bitDepth: 8 as const, data: new Uint8Array(data) };
      })();
      const { cols, rows } = tilesAcross(W, H, level);
      for (let ty = 0; ty < rows; ty++)
        for (let tx = 0; tx < cols; tx++) {
          const t = tileRect(W, H, level, tx, ty)!;
          const got = await rawOf(await files.tile(sgai, level, tx, ty));
          expect([got.width, got.height, got.channels]).toEqual([t.outWidth, t.outHeight, 3]);
          const ref = crop(want, { x: t.x >> level, y: t.y >> level, width: t.outWidth, height: t.outHeight });
          if (level === 0) {
            expect(got.data.equals(ref), `level 0 tile ${tx},${ty}`).toBe(true);
            continue;
          }
          // Shrunk with a margin of its neighbours' pixels: the tiles join like a shrink of the whole image.
          let worst = 0;
          for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got.data[i] - ref[i]));
          expect(worst, `level ${level} tile ${tx},${ty}: largest difference from the whole-image shrink`).toBeLessThanOrEqual(2);
        }
    }
    await expect(files.tile(sgai, 0, 3, 0)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('regions are exact crops of the decode; the caches answer the same bytes, decode each block once and stay within their bound', async () => {
    const counted = counting(decoder);
    const blockBytes = CODEC_TILE * CODEC_TILE * 3;
    const files = new ViewerFiles({ decoder: counted, log: () => undefined, blockBytes: 12 * blockBytes });
    const r = { x: 100, y: 90, width: 300, height: 200 };
    expect(bytesOf(await files.region(sgai, r)).equals(crop(full, r))).toBe(true);
    // Blocks x 0..3, y 0..2, none cached: one decoder call for the rectangle they make.
    expect(counted.calls.map((c) => [c.o.rect, c.o.exact, c.o.bitDepth])).toEqual([[{ x: 0, y: 0, width: 4 * CODEC_TILE, height: 3 * CODEC_TILE }, false, 8]]);
    const asked = counted.calls.length;
    // Overlapping, inside the cached blocks: nothing new is decoded.
    expect(bytesOf(await files.region(sgai, { x: 130, y: 130, width: 200, height: 100 })).equals(crop(full, { x: 130, y: 130, width: 200, height: 100 }))).toBe(true);
    expect(counted.calls.length).toBe(asked);
    // Partly cached: only the missing blocks (x 4 of row 2, x 2..4 of row 3), as two rectangles.
    expect(bytesOf(await files.region(sgai, { x: 300, y: 300, width: 300, height: 150 })).equals(crop(full, { x: 300, y: 300, width: 300, height: 150 }))).toBe(true);
    expect(counted.calls.slice(asked).map((c) => c.o.rect)).toEqual([
      { x: 4 * CODEC_TILE, y: 2 * CODEC_TILE, width: CODEC_TILE, height: CODEC_TILE },
      { x: 2 * CODEC_TILE, y: 3 * CODEC_TILE, width: 3 * CODEC_TILE, height: CODEC_TILE },
    ]);

    const first = await files.tile(sgai, 0, 1, 0);
    const again = await files.tile(sgai, 0, 1, 0);
    expect(Buffer.from(again).equals(Buffer.from(first))).toBe(true);
    // The whole image at level 0: 45 blocks through a 12-block cache.
    for (let tx = 0; tx < 3; tx++) for (let ty = 0; ty < 2; ty++) await files.tile(sgai, 0, tx, ty);
    expect(files.cachedBytes.blocks).toBeLessThanOrEqual(12 * blockBytes);
    expect(files.cachedBytes.blocks).toBeGreaterThan(0);
    // The same request at once is decoded once.
    const fresh = new ViewerFiles({ decoder: counting(decoder), log: () => undefined });
    const same = await Promise.all([fresh.tile(sgai, 1, 0, 0), fresh.tile(sgai, 1, 0, 0)]);
    expect(same[0]).toBe(same[1]);
    // An overwritten file is read again, here and in the decoder process.
    const swap = join(dir, 'damaged', 'swap.sgai');
    copyFileSync(sgai, swap);
    expect((await files.open(swap)).width).toBe(W);
    await files.tile(sgai, 0, 0, 0);
    copyFileSync(join(dir, 'damaged', 'no-preview.sgai'), swap);
    utimesSync(swap, new Date(), new Date(Date.now() + 5000));
    expect((await files.open(swap)).width).toBe(96);
    const small = (await decode(readFileSync(swap), { exact: false })).image;
    expect(bytesOf(await files.region(swap, { x: 0, y: 0, width: 96, height: 64 })).equals(bytesOf(small))).toBe(true);
    // Closing forgets it all.
    files.close(swap);
    expect(files.close(sgai)).toBe(true);
    expect(files.cachedBytes).toEqual({ blocks: 0, tiles: 0 });
    expect(files.close(sgai)).toBe(false);
  });

  it('a cancelled request stops: the region fails CANCELLED, the decoder leaves the rest undecoded and answers the next request', async () => {
    const files = new ViewerFiles({ decoder, log: () => undefined });
    const other = join(dir, 'IMG_2.sgai');
    await files.open(other);
    const ctrl = new AbortController();
    const all = files.region(other, { x: 0, y: 0, width: W, height: H }, ctrl.signal);
    setTimeout(() => ctrl.abort(), 50);
    await expect(all).rejects.toMatchObject({ code: 'CANCELLED' });

    // Straight to the process: cancelled at its first progress, a whole-image decode stops after a tile or two,
    // so the next whole-image decode of the file still has (almost) every tile to entropy-decode.
    const third = join(dir, 'IMG_10.sgai');
    const stop = new AbortController();
    const cancelled = decoder.decode(third, { exact: true, bitDepth: 8, signal: stop.signal, onProgress: () => stop.abort() });
    await expect(cancelled).rejects.toMatchObject({ code: 'CANCELLED' });
    const totals: number[] = [];
    const pid = decoder.pid;
    const whole = await decoder.decode(third, { exact: false, bitDepth: 8, onProgress: (_d, total) => totals.push(total) });
    expect(bytesOf(whole).equals(bytesOf(full))).toBe(true);
    const tiles = Math.ceil(W / CODEC_TILE) * Math.ceil(H / CODEC_TILE);
    expect(totals[0]).toBeGreaterThan(tiles + tiles - 5);
    expect(decoder.pid).toBe(pid);
  });

  it('the decoder process survives bad requests, keeps SgaiError codes, and is restarted after a kill', async () => {
    const pid = (await decoder.decode(sgai, { rect: { x: 0, y: 0, width: 8, height: 8 }, exact: false, bitDepth: 8 }), decoder.pid);
    await expect(decoder.decode(join(dir, 'missing.sgai'), { exact: false, bitDepth: 8 })).rejects.toMatchObject({ code: 'INPUT_UNREADABLE', message: expect.stringMatching(/does not exist/) });
    await expect(decoder.decode(sgai, { rect: { x: W - 4, y: 0, width: 8, height: 8 }, exact: false, bitDepth: 8 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/outside/) });
    await expect(decoder.decode(damaged.corrupt, { exact: false, bitDepth: 8 })).rejects.toMatchObject({ code: 'CHECKSUM' });
    await expect(decoder.decode(damaged.unknownModel, { exact: false, bitDepth: 8 })).rejects.toMatchObject({ code: 'MODEL_NOT_INSTALLED' });
    expect(decoder.pid).toBe(pid);
    // 16-bit, exact (what exports ask for): the same as core's decode.
    const r = { x: 500, y: 300, width: 70, height: 40 };
    const exact16 = await decoder.decode(sgai, { rect: r, exact: true, bitDepth: 16 });
    expect(exact16.bitDepth).toBe(16);
    expect(bytesOf(exact16).equals(bytesOf((await decode(sgaiBytes, { region: r, bitDepth: 16 })).image))).toBe(true);

    // Killed mid-decode: what waited fails as ENCODER_CRASHED, and the next request gets a new process.
    let killed = false;
    const kill = () => void (killed || ((killed = true), process.kill(pid!, 'SIGKILL')));
    const pending = decoder.decode(join(dir, 'IMG_10.sgai'), { exact: true, bitDepth: 8, onProgress: kill });
    await expect(pending).rejects.toMatchObject({ code: 'ENCODER_CRASHED', message: expect.stringMatching(/stopped unexpectedly \(signal SIGKILL\) while decoding IMG_10\.sgai/) });
    const again = await decoder.decode(sgai, { rect: r, exact: false, bitDepth: 8 });
    expect(bytesOf(again).equals(crop(full, r))).toBe(true);
    expect(decoder.pid).not.toBe(pid);
    expect(logs.some((l) => /viewer decoder process \d+ stopped: signal SIGKILL/.test(l))).toBe(true);
    await decoder.close();
    await expect(decoder.decode(sgai, { exact: false, bitDepth: 8 })).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});

describe('viewer: through the engine service', () => {
  it('viewer:open, the preview and tile routes, viewer:close, and outputPath on done library photos', async () => {
    const data = tempDir('sgai-viewer-data-');
    const lib = await realpath(tempDir('sgai-viewer-lib-'));
    await makePhoto(join(lib, '1.jpg'), { w: 160, h: 112 });
    const out = join(await realpath(tempDir('sgai-viewer-out-')), 'out');
    const t = await startService(data);
    try {
      await t.call('settingsSet', { workers: 1 });
      const folder = await t.call('libraryAdd', { path: lib, output: outputTo(out) });
      await t.until(() => t.of('library:scan').find((e) => e.folderId === folder.id && e.done), 'the scan');
      const b = await t.call('jobsStart', { folderId: folder.id });
      const end = await t.until(() => t.of('batch:state').find((s) => s.batchId === b.batchId && ['done', 'failed', 'cancelled'].includes(s.state)), 'the batch');
      expect(end.state).toBe('done');
      await t.until(() => t.of('library:changed').find((f) => f.id === folder.id && f.states.done === 1), 'the photo done');
      const row = (await t.call('libraryPhotos', { folderId: folder.id, offset: 0, limit: 10, filter: 'all' })).rows[0];
      expect(row).toMatchObject({ rel: '1.jpg', state: 'done', output: '1.sgai', outputPath: join(out, '1.sgai') });

      const info = await t.call('viewerOpen', { path: row.outputPath! });
      expect(info).toMatchObject({ name: '1.sgai', width: 160, height: 112, siblings: { index: 0, count: 1 } });
      // The real finder: the batch's manifest names the photo it was made from.
      expect(await t.call('viewerOriginal', { path: row.outputPath! })).toEqual({
        original: { path: join(lib, '1.jpg'), bytes: readFileSync(join(lib, '1.jpg')).length, how: 'manifest' }, warnings: [],
      });

      const preview = await t.svc.pixels('viewer-preview', { path: row.outputPath });
      expect(preview.ok).toBe(true);
      if (preview.ok) expect((await sharp(preview.bytes).metadata()).width).toBe(info.preview!.width);
      const tile = await t.svc.pixels('viewer-tile', { path: row.outputPath, layer: 'sgai', level: 0, tx: 0, ty: 0 });
      expect(tile.ok && tile.mime).toBe('image/png');
      if (tile.ok) expect(await sharp(tile.bytes).metadata()).toMatchObject({ format: 'png', width: 160, height: 112 });
      const outside = await t.svc.pixels('viewer-tile', { path: row.outputPath, layer: 'sgai', level: 0, tx: 1, ty: 0 });
      expect(outside).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
      const badReq = await t.svc.pixels('viewer-tile', { path: row.outputPath, layer: 'sgai', level: -1, tx: 0, ty: 0 });
      expect(badReq).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      const damagedOpen = await t.svc.invoke(invoke.viewerOpen.channel, { path: join(lib, '1.jpg') });
      expect(damagedOpen).toMatchObject({ ok: false, error: { code: 'BAD_MAGIC' } });
      expect(await t.svc.invoke(invoke.viewerOriginal.channel, { path: join(lib, '1.jpg') })).toMatchObject({ ok: false, error: { code: 'BAD_MAGIC' } });
      expect(await t.svc.invoke(invoke.viewerOriginal.channel, { path: row.outputPath, also: 'the photo' })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });

      expect(await t.call('viewerClose', { path: row.outputPath! })).toEqual({ closed: true });
      expect(await t.call('viewerClose', { path: row.outputPath! })).toEqual({ closed: false });
    } finally {
      await t.svc.shutdown();
    }
  });
});
