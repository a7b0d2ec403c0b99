/**
 * The viewer's comparisons: the same-size JPEG search, the heatmap's colours, and Comparisons
 * (original / JPEG / heat tiles, PSNR and MS-SSIM) on real .sgai files encoded at the start, real
 * decodes and real photos. The files side is a small adapter over core's decoder (exact), so the
 * numbers can be checked against a decode made here.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, decodeSgai, encodeFile, initBackend, msssimRgb, psnr, readImage, type RasterImage } from '../src/core';
import type { ViewerFileInfo, ViewerOriginal } from '../src/ipc/schemas';
import { heatColour, tileRect } from '../src/ipc/viewer-tiles';
import { Comparisons, NO_ORIGINAL_MESSAGE } from '../src/engine/service/viewer/compare';
import { DecoderProcess } from '../src/engine/service/viewer/decoder-process';
import { type OriginalFinder, ViewerFiles, type ViewerFilesLike } from '../src/engine/service/viewer/files';
import { measurePair } from '../src/engine/service/viewer/measure';
import { measureOffThread } from '../src/engine/service/viewer/metrics-thread';
import { findOriginal } from '../src/engine/service/viewer/find-original';
import { heatPixels } from '../src/engine/service/viewer/heatmap';
import { encodeJpeg, JPEG_SIZE_TOLERANCE, searchJpeg } from '../src/engine/service/viewer/jpeg-search';
import { KODAK, ROOT, TEST_MODEL_ID, kodim, tempDir } from './helpers';

const SAMPLE = join(ROOT, 'resources', 'sample', 'mike-castro-demaria-94BUerwdFP8-unsplash.jpg');
const HAVE_KODAK = existsSync(KODAK);

beforeAll(async () => {
  await initBackend('wasm');
});

/** ViewerFilesLike over core's exact decoder: what the viewer's files would answer, decoded here. */
function coreFiles(o: { originalOverride?: Map<string, string> } = {}): ViewerFilesLike & { regions: number } {
  const files = {
    regions: 0,
    async original(path: string): Promise<ViewerOriginal> {
      const override = o.originalOverride?.get(path);
      const original = override
        ? { path: override, bytes: readFileSync(override).length, how: 'beside' as const }
        : await findOriginal(path, decodeSgai(readFileSync(path)).source, []);
      return { original, warnings: [] };
    },
    async open(path: string): Promise<ViewerFileInfo> {
      const bytes = readFileSync(path);
      const f = decodeSgai(bytes);
      const h = f.header;
      return {
        path, name: basename(path), bytes: bytes.length, width: h.width, height: h.height, bitDepth: h.sourceBitDepth,
        bpp: (8 * bytes.length) / (h.width * h.height), tileSize: h.tileSize, model: { id: h.modelId, lambda: null, installed: true },
        refine: null, preview: f.preview ? { width: f.preview.width, height: f.preview.height } : null, capture: {},
        colourProfile: 'sRGB (none embedded)', hadAlpha: h.hadAlpha, originalOrientation: h.originalOrientation,
        siblings: { index: 0, count: 1, prev: null, next: null }, warnings: [],
      };
    },
    async region(path: string, rect: { x: number; y: number; width: number; height: number }): Promise<RasterImage> {
      files.regions++;
      return (await decode(readFileSync(path), { region: rect, exact: true, bitDepth: 8 })).image;
    },
    close() {},
  };
  return files;
}

async function pngPixels(png: Uint8Array): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Encodes a photo with the test model into dir, beside a copy of the photo under the same stem. */
async function sgaiBeside(photo: string, dir: string, stem: string): Promise<{ sgai: string; original: string }> {
  const ext = photo.slice(photo.lastIndexOf('.'));
  const original = join(dir, `${stem}${ext}`);
  writeFileSync(original, readFileSync(photo));
  const r = await encodeFile(original, { model: TEST_MODEL_ID });
  const sgai = join(dir, `${stem}.sgai`);
  writeFileSync(sgai, r.bytes);
  return { sgai, original };
}

describe('heatmap colours', () => {
  it('is black where the images are identical', () => {
    const a = new Uint8Array(7 * 5 * 3).map((_, i) => (i * 31) % 256);
    const h = heatPixels(a, a.slice(), 7, 5);
    expect(h.width).toBe(7);
    expect([...h.data].every((v) => v === 0)).toBe(true);
  });

  it('colours a known difference through the shared stops, per pixel and averaged over a block', () => {
    const orig = new Uint8Array(4 * 2 * 3).fill(100);
    const dec = orig.slice();
    // Pixel (0,0): +6 on every channel → mean 6 levels; pixel (1,0): +12 on red only → mean 4.
    dec.set([106, 106, 106], 0);
    dec.set([112, 100, 100], 3);
    const full = heatPixels(dec, orig, 4, 2);
    expect([...full.data.subarray(0, 3)]).toEqual([150, 30, 140]);
    expect([...full.data.subarray(3, 6)]).toEqual(heatColour(4));
    expect([...full.data.subarray(6, 9)]).toEqual([0, 0, 0]);
    // 2×2 blocks: the left block's mean error is (6·3 + 4·3) / 3 / 4 = 2.5 levels; the right one is 0.
    const half = heatPixels(dec, orig, 4, 2, 2);
    expect([half.width, half.height]).toEqual([2, 1]);
    expect([...half.data.subarray(0, 3)]).toEqual(heatColour(2.5));
    expect([...half.data.subarray(3, 6)]).toEqual([0, 0, 0]);
    // An edge block (3 wide, factor 2 → 2 columns, the last of 1 px) averages only its own pixels.
    const edge = heatPixels(new Uint8Array([0, 0, 0, 0, 0, 0, 48, 48, 48]), new Uint8Array(9), 3, 1, 2);
    expect([...edge.data.subarray(3, 6)]).toEqual(heatColour(48));
  });
});

describe('same-size JPEG search', () => {
  const cases: Array<[string, string]> = [['the sample photo', SAMPLE]];
  if (HAVE_KODAK) cases.push(['Kodak kodim23', kodim(23)]);
  for (const [name, photo] of cases) it(`lands within 2 percent of a real .sgai on ${name}`, async () => {
    const dir = tempDir('sgai-jpeg-search-');
    const { sgai, original } = await sgaiBeside(photo, dir, 'photo');
    const target = readFileSync(sgai).length;
    const { image } = await readImage(original);
    const m = await searchJpeg(image as RasterImage & { data: Uint8Array }, target);
    expect(Math.abs(m.bytes - target) / target).toBeLessThanOrEqual(JPEG_SIZE_TOLERANCE);
    expect(m.bytes).toBe(m.data.length);
    expect(m.quality).toBeGreaterThanOrEqual(1);
    expect(m.quality).toBeLessThanOrEqual(100);
    // A real JPEG of the photo's size, without metadata.
    const meta = await sharp(m.data).metadata();
    expect([meta.format, meta.width, meta.height, meta.exif, meta.icc]).toEqual(['jpeg', image.width, image.height, undefined, undefined]);
  });

  it('reaches a size between two quality steps through the other subsampling and tables', async () => {
    const { image } = await readImage(SAMPLE);
    const px = image as RasterImage & { data: Uint8Array };
    const base = { chromaSubsampling: '4:2:0', quantisationTable: 3 } as const;
    const a = (await encodeJpeg(px, 5, base)).length;
    const b = (await encodeJpeg(px, 6, base)).length;
    const target = Math.round((a + b) / 2);
    // Quality alone cannot land within 2 % here: the step is wider than 4 %.
    expect((b - a) / target).toBeGreaterThan(2 * JPEG_SIZE_TOLERANCE);
    const m = await searchJpeg(px, target);
    expect(Math.abs(m.error)).toBeLessThanOrEqual(JPEG_SIZE_TOLERANCE);
    expect(m.variant).not.toEqual(base);
  });
});

describe('Comparisons', () => {
  let dir: string;
  let sgai: string;
  let original: string;
  let decoded: RasterImage;
  let origImage: RasterImage;

  beforeAll(async () => {
    dir = tempDir('sgai-compare-');
    ({ sgai, original } = await sgaiBeside(SAMPLE, dir, 'sample'));
    decoded = (await decode(readFileSync(sgai), { exact: true, bitDepth: 8 })).image;
    origImage = (await readImage(original)).image;
  });

  it('against the original: PSNR as core measures a full decode, MS-SSIM in (0, 1], labels and bpp', async () => {
    const c = new Comparisons({ files: coreFiles(), log: () => {} });
    const r = await c.compare(sgai, 'original');
    const bytes = readFileSync(sgai).length;
    const pixels = decoded.width * decoded.height;
    expect(r.sgai.psnr).toBe(psnr(decoded, origImage));
    expect(r.sgai.msssim).toBe(msssimRgb(decoded, origImage));
    expect(r.sgai.msssim!).toBeGreaterThan(0);
    expect(r.sgai.msssim!).toBeLessThanOrEqual(1);
    expect(r.sgai).toMatchObject({ layer: 'sgai', label: `sgai · ${TEST_MODEL_ID}`, bytes, bpp: (8 * bytes) / pixels });
    const origBytes = readFileSync(original).length;
    expect(r.other).toEqual({
      layer: 'original', label: 'Original · JPEG', bytes: origBytes,
      bpp: (8 * origBytes) / pixels, psnr: null, msssim: null,
    });
  });

  it('against a JPEG of the same size (within 2 %), measured the same way', async () => {
    const logs: string[] = [];
    const c = new Comparisons({ files: coreFiles(), log: (l) => logs.push(l) });
    const r = await c.compare(sgai, 'jpeg');
    const bytes = readFileSync(sgai).length;
    expect(Math.abs(r.other.bytes - bytes) / bytes).toBeLessThanOrEqual(0.02);
    expect(r.other.layer).toBe('jpeg');
    expect(r.other.label).toBe(`JPEG · mozjpeg q ${r.other.jpegQuality}`);
    expect(r.other.psnr!).toBeGreaterThan(15);
    expect(r.other.psnr!).toBeLessThan(60);
    expect(r.other.msssim!).toBeGreaterThan(0);
    expect(r.other.msssim!).toBeLessThanOrEqual(1);
    expect(r.sgai.psnr).toBe(psnr(decoded, origImage));
    expect(logs.join('\n')).toMatch(/same-size JPEG .* mozjpeg q \d+/);
    // Its tiles are the decoded JPEG: close to the original (the PSNR above), not equal to it.
    const t = await pngPixels(await c.tile(sgai, 'jpeg', 0, 0, 0));
    expect([t.width, t.height, t.channels]).toEqual([512, 512, 3]);
    const o = await pngPixels(await c.tile(sgai, 'original', 0, 0, 0));
    let se = 0;
    for (let i = 0; i < t.data.length; i++) se += (t.data[i] - o.data[i]) ** 2;
    const tilePsnr = 10 * Math.log10((255 * 255) / (se / t.data.length));
    expect(tilePsnr).toBeGreaterThan(r.other.psnr! - 3);
    expect(tilePsnr).toBeLessThan(r.other.psnr! + 3);
  });

  it('original tiles are the original pixels at 100 % and shrunk by 2^level above', async () => {
    const c = new Comparisons({ files: coreFiles(), log: () => {} });
    const { width: W, height: H } = origImage;
    for (const [tx, ty] of [[0, 0], [1, 1]] as const) {
      const r = tileRect(W, H, 0, tx, ty)!;
      const t = await pngPixels(await c.tile(sgai, 'original', 0, tx, ty));
      expect([t.width, t.height]).toEqual([r.outWidth, r.outHeight]);
      for (let y = 0; y < r.height; y += 37) {
        for (let x = 0; x < r.width; x += 29) {
          const s = ((r.y + y) * W + r.x + x) * 3;
          const d = (y * r.width + x) * 3;
          expect([...t.data.subarray(d, d + 3)]).toEqual([...origImage.data.subarray(s, s + 3)]);
        }
      }
    }
    const r1 = tileRect(W, H, 1, 0, 0)!;
    const t1 = await pngPixels(await c.tile(sgai, 'original', 1, 0, 0));
    expect([t1.width, t1.height]).toEqual([r1.outWidth, r1.outHeight]);
    expect([r1.outWidth, r1.outHeight]).toEqual([Math.ceil(W / 2), Math.ceil(H / 2)]);
    await expect(c.tile(sgai, 'original', 0, 9, 9)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('heat tiles colour the error between the decoded .sgai and the original', async () => {
    const files = coreFiles();
    const c = new Comparisons({ files, log: () => {} });
    const { width: W, height: H } = origImage;
    const r = tileRect(W, H, 0, 1, 0)!;
    const t = await pngPixels(await c.tile(sgai, 'heat', 0, 1, 0));
    expect(files.regions).toBe(1); // a 100 % tile decodes only its own rectangle
    const cut = (img: RasterImage) => {
      const out = new Uint8Array(r.width * r.height * 3);
      for (let y = 0; y < r.height; y++) out.set(img.data.subarray(((r.y + y) * W + r.x) * 3, ((r.y + y) * W + r.x + r.width) * 3) as Uint8Array, y * r.width * 3);
      return out;
    };
    const want = heatPixels(cut(decoded), cut(origImage), r.width, r.height);
    expect([t.width, t.height]).toEqual([r.width, r.height]);
    expect(Buffer.compare(t.data, Buffer.from(want.data))).toBe(0);
    // Not a blank map: a lossy codec leaves some error somewhere.
    expect(want.data.some((v) => v > 0)).toBe(true);
    // Zoomed out: the whole image is decoded once and the block averages coloured.
    const z = await pngPixels(await c.tile(sgai, 'heat', 2, 0, 0));
    expect([z.width, z.height]).toEqual([Math.ceil(W / 4), Math.ceil(H / 4)]);
    const wantZ = heatPixels(decoded.data as Uint8Array, origImage.data as Uint8Array, W, H, 4);
    expect(Buffer.compare(z.data, Buffer.from(wantZ.data))).toBe(0);
  });

  it('says plainly when there is no original to compare with', async () => {
    const d = join(dir, 'alone');
    mkdirSync(d);
    const lone = join(d, 'sample.sgai');
    writeFileSync(lone, readFileSync(sgai));
    const c = new Comparisons({ files: coreFiles(), log: () => {} });
    for (const against of ['original', 'jpeg'] as const) {
      await expect(c.compare(lone, against)).rejects.toMatchObject({ code: 'NOT_FOUND', message: NO_ORIGINAL_MESSAGE });
    }
    await expect(c.tile(lone, 'heat', 0, 0, 0)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('never compares with a photo whose bytes differ from the source record, whatever its name', async () => {
    const d = join(dir, 'edited');
    mkdirSync(d);
    const lone = join(d, 'sample.sgai');
    writeFileSync(lone, readFileSync(sgai));
    const edited = new Uint8Array(readFileSync(original));
    edited[edited.length >> 1] ^= 0xff; // same name, same size, one byte changed: an edit, not the original
    writeFileSync(join(d, 'sample.jpg'), edited);
    const c = new Comparisons({ files: coreFiles(), log: () => {} });
    await expect(c.compare(lone, 'original')).rejects.toMatchObject({ code: 'NOT_FOUND', message: NO_ORIGINAL_MESSAGE });
    await expect(c.tile(lone, 'original', 0, 0, 0)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses an original of other dimensions with a clear error', async () => {
    const other = join(dir, 'other.png');
    await sharp({ create: { width: 100, height: 80, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toFile(other);
    const c = new Comparisons({ files: coreFiles({ originalOverride: new Map([[sgai, other]]) }), log: () => {} });
    await expect(c.compare(sgai, 'original')).rejects.toThrow(/100×80 but this \.sgai is 576×768/);
  });

  it('keeps the comparison images of at most two files, and close drops one', async () => {
    const c = new Comparisons({ files: coreFiles(), log: () => {} });
    const paths: string[] = [];
    for (const stem of ['a', 'b', 'c']) {
      const d = join(dir, `lru-${stem}`);
      mkdirSync(d);
      copyFileSync(original, join(d, `${stem}.jpg`));
      copyFileSync(sgai, join(d, `${stem}.sgai`));
      paths.push(join(d, `${stem}.sgai`));
    }
    await c.tile(paths[0], 'original', 3, 0, 0);
    await c.tile(paths[1], 'original', 3, 0, 0);
    expect(c.heldFiles()).toEqual([paths[0], paths[1]]);
    await c.tile(paths[0], 'original', 3, 0, 0); // most recently used again
    await c.tile(paths[2], 'original', 3, 0, 0);
    expect(c.heldFiles()).toEqual([paths[0], paths[2]]);
    c.close(paths[0]);
    expect(c.heldFiles()).toEqual([paths[2]]);
  });
});

describe('Comparisons over the viewer files and their decoder process', () => {
  let decoder: DecoderProcess;
  afterAll(async () => {
    await decoder?.close();
  });

  it('waits for the original\'s lookup, then measures what the viewer shows: PSNR of the decoded .sgai equals core psnr of a full decode', async () => {
    const dir = tempDir('sgai-compare-viewer-');
    const { sgai, original } = await sgaiBeside(SAMPLE, dir, 'photo');
    const logs: string[] = [];
    const log = (l: string) => logs.push(l);
    // wasm: the viewer's fast path then runs the reference synthesis, so the numbers must match exactly.
    decoder = new DecoderProcess({ log, backend: 'wasm' });
    // The real finder, held until the test lets it look: the comparison must wait for its proof.
    let letLook!: () => void;
    const looking = new Promise<void>((r) => (letLook = r));
    let lookups = 0;
    const finder: OriginalFinder = async (...args) => {
      lookups++;
      await looking;
      return findOriginal(...args);
    };
    const files = new ViewerFiles({ decoder, log, findOriginal: finder });
    const c = new Comparisons({ files, log });
    await files.open(sgai);
    let answered = false;
    const comparing = c.compare(sgai, 'original').finally(() => (answered = true));
    const originalTile = c.tile(sgai, 'original', 3, 0, 0).finally(() => (answered = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(answered).toBe(false);
    letLook();
    const r = await comparing;
    await originalTile;
    expect(lookups).toBe(1); // open, compare and the tile share one lookup
    const decoded = (await decode(readFileSync(sgai), { exact: true, bitDepth: 8 })).image;
    const orig = (await readImage(original)).image;
    expect(r.sgai.psnr).toBe(psnr(decoded, orig));
    expect(r.sgai.msssim).toBe(msssimRgb(decoded, orig));
    expect(r.other.layer).toBe('original');
    const heat = await pngPixels(await c.tile(sgai, 'heat', 1, 0, 0));
    expect([heat.width, heat.height]).toEqual([288, 384]); // level 1: one tile holds the whole 576×768 image at half size
  });
});

describe('metrics off the event loop', () => {
  const W = 200;
  const H = 180;
  const a: RasterImage = { width: W, height: H, bitDepth: 8, data: new Uint8Array(W * H * 3).map((_, i) => (i * 7) % 251) };
  const b: RasterImage = { ...a, data: (a.data as Uint8Array).map((v, i) => (i % 5 ? v : v ^ 3)) };

  it('a worker thread measures what core measures here', async () => {
    const logs: string[] = [];
    const m = await measureOffThread(a, b, { log: (l) => logs.push(l) });
    expect(m).toEqual(measurePair(a, b));
    expect(m).toEqual({ psnr: psnr(a, b), msssim: msssimRgb(a, b) });
    expect(logs).toEqual([]);
    // Too small for five scales: no MS-SSIM, not an error.
    const s: RasterImage = { width: 100, height: 100, bitDepth: 8, data: new Uint8Array(30000) };
    expect(await measureOffThread(s, s, { log: () => {} })).toEqual({ psnr: Infinity, msssim: null });
  });

  it('an abort ends the measurement as CANCELLED', async () => {
    const ac = new AbortController();
    const p = measureOffThread(a, b, { log: () => {}, signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
  });

  it('where the thread cannot load, measures here and says so', async () => {
    const logs: string[] = [];
    process.env.SGAI_METRICS_ENTRY = join(tempDir('sgai-no-metrics-'), 'metrics.js');
    try {
      expect(await measureOffThread(a, b, { log: (l) => logs.push(l) })).toEqual(measurePair(a, b));
    } finally {
      delete process.env.SGAI_METRICS_ENTRY;
    }
    expect(logs.join('\n')).toMatch(/metrics thread could not start .*measuring on the engine's own thread/);
  });
});
