/**
 * export:start / export:cancel (Exports): real .sgai files encoded at the start (with EXIF, GPS
 * and a Display P3 profile where it matters), decoded exactly in the real viewer decoder process,
 * written through core's safe writer, checked with sharp and exifr as a photographer would.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import exifr from 'exifr';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, decodeSgai, encodeFile, encodeSgai, initBackend, listChunks, readImage } from '../src/core';
import type { ExportSettings, ExportState } from '../src/ipc/schemas';
import { ExportState as ExportStateSchema } from '../src/ipc/schemas';
import { Exports } from '../src/engine/service/viewer/export-jobs';
import { fitLongEdge } from '../src/engine/service/viewer/export-naming';
import { ROOT, TEST_MODEL_ID, tempDir } from './helpers';

const SAMPLE = join(ROOT, 'resources', 'sample', 'mike-castro-demaria-94BUerwdFP8-unsplash.jpg');

describe('Exports', () => {
  let dir: string;
  /** 240×320, Display P3, EXIF with camera and GPS. */
  let tagged: string;
  let taggedIcc: Buffer;
  /** 192×128 sRGB, no metadata. */
  let plain: string;
  let corrupt: string;
  let truncated: string;
  let unknownModel: string;
  /** 1152×1536: a decode of seconds, long enough to cancel in the middle. */
  let big: string;
  let exports: Exports;
  const events: ExportState[] = [];
  const logs: string[] = [];

  beforeAll(async () => {
    await initBackend('wasm');
    dir = tempDir('sgai-export-');
    const src = join(dir, 'src');
    mkdirSync(src);
    const taggedPhoto = join(src, 'IMG_0042.jpg');
    await sharp(SAMPLE)
      .resize(240, 320)
      .withIccProfile('p3')
      .withExif({
        IFD0: { Make: 'SgaiCam', Model: 'Field 7', Copyright: 'Jo Photographer' },
        IFD2: { DateTimeOriginal: '2024:06:21 18:42:07' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '52/1 31/1 1200/100', GPSLongitudeRef: 'E', GPSLongitude: '13/1 24/1 3600/100' },
      })
      .jpeg({ quality: 95 })
      .toFile(taggedPhoto);
    taggedIcc = (await sharp(taggedPhoto).metadata()).icc!;
    const plainPhoto = join(src, 'plain.png');
    await sharp(SAMPLE).extract({ left: 100, top: 200, width: 192, height: 128 }).png().toFile(plainPhoto);

    const sgai = join(dir, 'sgai');
    mkdirSync(sgai);
    const enc = async (photo: string, name: string) => {
      const p = join(sgai, name);
      writeFileSync(p, (await encodeFile(photo, { model: TEST_MODEL_ID })).bytes);
      return p;
    };
    tagged = await enc(taggedPhoto, 'IMG_0042.sgai');
    plain = await enc(plainPhoto, 'plain.sgai');
    const bigPhoto = join(src, 'big.png');
    await sharp(SAMPLE).resize(1152, 1536).png().toFile(bigPhoto);
    big = await enc(bigPhoto, 'big.sgai');
    const bytes = readFileSync(plain);
    const ytil = listChunks(bytes).chunks.find((c) => c.type === 'YTIL')!;
    bytes[ytil.offset + 4 + (ytil.length >> 1)] ^= 0x5a; // inside a y stream: its checksum no longer matches
    corrupt = join(sgai, 'damaged.sgai');
    writeFileSync(corrupt, bytes);
    truncated = join(sgai, 'truncated.sgai');
    writeFileSync(truncated, readFileSync(plain).subarray(0, Math.round(bytes.length * 0.6)));
    const f = decodeSgai(readFileSync(plain));
    unknownModel = join(sgai, 'unknown-model.sgai');
    writeFileSync(unknownModel, encodeSgai({ ...f, header: { ...f.header, modelId: 'sgai-not-installed-x9' } }));

    exports = new Exports({ emit: (_, s) => events.push(s), log: (l) => logs.push(l) });
  });

  afterAll(async () => {
    await exports?.shutdown();
  });

  /** Starts an export and waits for its final event; every event of it, in order. */
  async function run(files: string[], settings: Partial<ExportSettings> & { folder: string }) {
    const full: ExportSettings = { format: 'png', bitDepth: 8, quality: 90, metadata: 'all', longEdge: null, ...settings };
    const start = exports.start(files, full);
    const mine = () => events.filter((e) => e.exportId === start.exportId);
    while (!mine().some((e) => e.state !== 'running')) await new Promise((r) => setTimeout(r, 20));
    const seen = mine();
    return { start, events: seen, final: seen[seen.length - 1] };
  }

  const outDir = (name: string) => {
    const d = join(dir, 'out', name);
    mkdirSync(d, { recursive: true });
    return d;
  };

  it('PNG 8-bit: the exact decode, ICC and EXIF kept, orientation 1; events in order', async () => {
    const folder = outDir('png8');
    const r = await run([plain, tagged], { folder });
    expect(r.start).toMatchObject({ state: 'running', total: 2, done: 0, written: [], failed: [] });
    for (const e of r.events) expect(ExportStateSchema.safeParse(e).success).toBe(true);
    expect(r.final).toMatchObject({ state: 'done', total: 2, done: 2, failed: [] });
    expect(r.final.current).toBeUndefined();
    // Ordered: done never goes back, only the last event is final, each file announced before it is counted.
    const dones = r.events.map((e) => e.done);
    expect(dones).toEqual([...dones].sort((a, b) => a - b));
    expect(r.events.filter((e) => e.state !== 'running')).toHaveLength(1);
    expect(r.events.map((e) => e.current ?? null)).toEqual([plain, null, tagged, null, null]);

    expect(r.final.written.map((w) => w.path)).toEqual([join(folder, 'plain.png'), join(folder, 'IMG_0042.png')]);
    const [wPlain, wTagged] = r.final.written;
    expect(wPlain).toMatchObject({ source: plain, width: 192, height: 128, bytes: readFileSync(wPlain.path).length });
    // Pixels: the reference (exact) decode, byte for byte (an sRGB file, so no colour conversion).
    const want = await decode(readFileSync(plain), { exact: true, bitDepth: 8 });
    const got = await sharp(wPlain.path).raw().toBuffer();
    expect(Buffer.compare(got, Buffer.from(want.image.data.buffer, want.image.data.byteOffset, want.image.data.byteLength))).toBe(0);

    const m = await sharp(wTagged.path).metadata();
    expect([m.format, m.width, m.height, m.depth]).toEqual(['png', 240, 320, 'uchar']);
    expect(Buffer.compare(m.icc!, taggedIcc)).toBe(0);
    const tags = await exifr.parse(wTagged.path, { gps: true });
    expect(tags.Make).toBe('SgaiCam');
    expect(tags.latitude).toBeCloseTo(52 + 31 / 60 + 12 / 3600, 4);
    expect([1, undefined, 'Horizontal (normal)']).toContain(tags.Orientation);
    expect(readdirSync(folder).sort()).toEqual(['IMG_0042.png', 'plain.png']);
  });

  it('PNG 16-bit: the 16-bit exact decode', async () => {
    const folder = outDir('png16');
    const r = await run([plain], { folder, bitDepth: 16 });
    expect(r.final.state).toBe('done');
    expect((await sharp(r.final.written[0].path).metadata()).depth).toBe('ushort');
    // Read back through core's reader (sharp alone would hand back 8-bit sRGB).
    const back = (await readImage(r.final.written[0].path)).image;
    expect([back.width, back.height, back.bitDepth]).toEqual([192, 128, 16]);
    const want = (await decode(readFileSync(plain), { exact: true, bitDepth: 16 })).image.data as Uint16Array;
    const got = back.data as Uint16Array;
    expect(got.length).toBe(want.length);
    const bad = [...got].findIndex((v, i) => v !== want[i]);
    expect(bad < 0 ? null : [bad, got[bad], want[bad], got.filter((v, i) => v !== want[i]).length]).toBeNull();
  });

  it('JPEG with a long-edge resize: aspect kept, never enlarged, ICC and EXIF kept', async () => {
    const folder = outDir('jpeg');
    const r = await run([tagged, plain], { folder, format: 'jpeg', quality: 80, longEdge: 200 });
    expect(r.final.state).toBe('done');
    const [a, b] = r.final.written;
    expect([a.path, a.width, a.height]).toEqual([join(folder, 'IMG_0042.jpg'), 150, 200]);
    expect([b.path, b.width, b.height]).toEqual([join(folder, 'plain.jpg'), 192, 128]); // smaller already: left as it is
    const m = await sharp(a.path).metadata();
    expect([m.format, m.width, m.height]).toEqual(['jpeg', 150, 200]);
    expect(Buffer.compare(m.icc!, taggedIcc)).toBe(0);
    const tags = await exifr.parse(a.path, { gps: true });
    expect(tags.Make).toBe('SgaiCam');
    expect(tags.ExifImageWidth ?? 150).toBe(150);
    expect(fitLongEdge(4000, 6000, 1000)).toEqual({ width: 667, height: 1000 });
    expect(fitLongEdge(6000, 4000, 7000)).toEqual({ width: 6000, height: 4000 });
  });

  it('metadata all / no-location / copyright / none: GPS gone where asked, Make kept, the ICC always kept', async () => {
    const gps = async (p: string) => (await exifr.parse(p, { gps: true }))?.latitude;
    const tagsOf = async (p: string) => (await exifr.parse(p, { tiff: true, exif: true, gps: true })) ?? {};
    for (const metadata of ['all', 'no-location', 'copyright', 'none'] as const) {
      const folder = outDir(`meta-${metadata}`);
      const r = await run([tagged], { folder, format: 'jpeg', metadata });
      expect(r.final.state, metadata).toBe('done');
      const p = r.final.written[0].path;
      const t = await tagsOf(p);
      expect(Buffer.compare((await sharp(p).metadata()).icc!, taggedIcc), metadata).toBe(0);
      if (metadata === 'all') {
        expect(await gps(p)).toBeCloseTo(52.52, 2);
        expect(t.Make).toBe('SgaiCam');
      } else if (metadata === 'no-location') {
        expect(await gps(p)).toBeUndefined();
        expect(t.Make).toBe('SgaiCam');
        expect(t.Model).toBe('Field 7');
      } else if (metadata === 'copyright') {
        expect(await gps(p)).toBeUndefined();
        expect(t.Make).toBeUndefined();
        expect(t.Copyright).toBe('Jo Photographer');
      } else {
        expect(await gps(p)).toBeUndefined();
        expect(t.Make).toBeUndefined();
        expect(t.Copyright).toBeUndefined();
      }
    }
  });

  it('never replaces a file: taken names get " (2)", " (3)"', async () => {
    const folder = outDir('unique');
    writeFileSync(join(folder, 'plain.png'), 'not mine');
    const r1 = await run([plain], { folder });
    const r2 = await run([plain], { folder });
    expect(r1.final.written[0].path).toBe(join(folder, 'plain (2).png'));
    expect(r2.final.written[0].path).toBe(join(folder, 'plain (3).png'));
    expect(readFileSync(join(folder, 'plain.png'), 'utf8')).toBe('not mine');
    expect(readdirSync(folder).sort()).toEqual(['plain (2).png', 'plain (3).png', 'plain.png']);
  });

  it('a folder that does not exist yet is made, parents too; a damaged file makes none; a file in the way fails with IO', async () => {
    const folder = join(dir, 'out', 'new', 'Trip 2024');
    const r = await run([plain], { folder });
    expect(r.final.state).toBe('done');
    expect(readdirSync(folder)).toEqual(['plain.png']);
    const untouched = join(dir, 'out', 'never-made');
    const bad = await run([corrupt], { folder: untouched });
    expect(bad.final.state).toBe('failed');
    expect(() => readdirSync(untouched)).toThrow(/ENOENT/);
    const blocker = join(outDir('blocked'), 'not-a-folder');
    writeFileSync(blocker, 'a file');
    const blocked = await run([plain], { folder: blocker });
    expect(blocked.final.state).toBe('failed');
    expect(blocked.final.failed[0].code).toBe('IO');
    expect(blocked.final.failed[0].message).toMatch(/not-a-folder.*is a file, not a folder/);
    const below = await run([plain], { folder: join(blocker, 'sub') });
    expect(below.final.failed[0]).toMatchObject({ code: 'IO', message: expect.stringMatching(/part of the path is a file/) });
    expect(readFileSync(blocker, 'utf8')).toBe('a file');
  });

  it('a damaged file and a file of a missing model fail alone with their codes; the rest is written', async () => {
    const folder = outDir('mixed');
    const r = await run([corrupt, plain, unknownModel, truncated, join(dir, 'sgai', 'gone.sgai')], { folder });
    expect(r.final).toMatchObject({ state: 'done', total: 5, done: 5 });
    expect(r.final.written.map((w) => w.source)).toEqual([plain]);
    const failed = Object.fromEntries(r.final.failed.map((f) => [f.source, f]));
    expect(failed[corrupt].code).toBe('CHECKSUM');
    expect(failed[truncated].code).toBe('TRUNCATED');
    expect(failed[unknownModel].code).toBe('MODEL_NOT_INSTALLED');
    expect(failed[unknownModel].message).toMatch(/sgai-not-installed-x9/);
    expect(failed[join(dir, 'sgai', 'gone.sgai')].code).toBe('INPUT_UNREADABLE');
    expect(readdirSync(folder)).toEqual(['plain.png']);
    // Every file failing is a failed export.
    const r2 = await run([corrupt], { folder: outDir('all-failed') });
    expect(r2.final).toMatchObject({ state: 'failed', done: 1, written: [] });
  });

  it('cancel: the running decode stops, nothing is left (no file, no temp), the rest is not started', async () => {
    const folder = outDir('cancel');
    const start = exports.start([big, big, big], { format: 'png', bitDepth: 16, quality: 90, metadata: 'all', longEdge: null, folder });
    // Cancel while the first file is being decoded (it is read and checked in milliseconds; its decode takes seconds).
    const mine = () => events.filter((e) => e.exportId === start.exportId);
    while (!mine().some((e) => e.current === big)) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 1000));
    expect(mine().at(-1)).toMatchObject({ state: 'running', current: big, done: 0 });
    expect(exports.cancel(start.exportId)).toBe(true);
    while (!mine().some((e) => e.state !== 'running')) await new Promise((r) => setTimeout(r, 20));
    const final = mine().at(-1)!;
    expect(final).toMatchObject({ state: 'cancelled', total: 3, done: 0, written: [], failed: [] });
    expect(readdirSync(folder)).toEqual([]);
    expect(exports.cancel(start.exportId)).toBe(false); // finished: nothing to cancel
    expect(exports.cancel('no-such-export')).toBe(false);
    // The decoder is still usable afterwards.
    const r = await run([plain], { folder });
    expect(r.final.state).toBe('done');
  });

  it('one export at a time: a second waits for the first; cancelling a waiting one ends it at once', async () => {
    const folder = outDir('queue');
    const settings: ExportSettings = { format: 'png', bitDepth: 8, quality: 90, metadata: 'all', longEdge: null, folder };
    const first = exports.start([plain, tagged], settings);
    const second = exports.start([plain], settings);
    const third = exports.start([tagged], settings);
    expect(exports.cancel(third.exportId)).toBe(true);
    const ended = (id: string) => events.some((e) => e.exportId === id && e.state !== 'running');
    while (!ended(first.exportId) || !ended(second.exportId)) await new Promise((r) => setTimeout(r, 20));
    const order = events.filter((e) => [first.exportId, second.exportId, third.exportId].includes(e.exportId));
    const firstEnd = order.findIndex((e) => e.exportId === first.exportId && e.state === 'done');
    const secondStart = order.findIndex((e) => e.exportId === second.exportId);
    expect(secondStart).toBeGreaterThan(firstEnd);
    expect(order.filter((e) => e.exportId === third.exportId)).toEqual([
      expect.objectContaining({ state: 'cancelled', done: 0, written: [], failed: [] }),
    ]);
    expect(readdirSync(folder).sort()).toEqual(['IMG_0042.png', 'plain (2).png', 'plain.png']);
  });
});
