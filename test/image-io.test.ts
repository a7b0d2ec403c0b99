/**
 * Image input: orientation, colour management (Display P3, gray profiles, CMYK, the sharp 16-bit
 * P3 trap), bit depth, alpha, error mapping, memory; and the raster float helpers.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import exifr from 'exifr';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SgaiError } from '../src/core/errors';
import { parseIcc, SRGB, sameRgbModel, type RgbModel } from '../src/core/image/icc';
import { splicePng } from '../src/core/image/metadata';
import { floatToRaster, pasteRegion, rasterToFloatRegion, type RasterImage } from '../src/core/image/raster';
import { readImage } from '../src/core/image/read';
import { mulberry32 as rng } from './seeded-random';
import { kodim } from './helpers';


let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sgai-image-io-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function diffStats(a: ArrayLike<number>, b: ArrayLike<number>, scale = 1): { mean: number; max: number; psnr: number } {
  expect(a.length).toBe(b.length);
  let sum = 0, max = 0, sq = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) / scale;
    sum += d;
    sq += d * d;
    if (d > max) max = d;
  }
  const mse = sq / a.length;
  return { mean: sum / a.length, max, psnr: mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse) };
}

async function expectCode(p: Promise<unknown>, code: string, msg?: RegExp): Promise<SgaiError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(SgaiError);
  expect((e as SgaiError).code).toBe(code);
  if (msg) expect((e as SgaiError).message).toMatch(msg);
  return e as SgaiError;
}

/** Minimal ICC v2 gray display profile whose kTRC is `curve` (a complete 'curv' tag). */
function grayProfile(curve: Uint8Array, description: string): Uint8Array {
  const desc = new Uint8Array(12 + description.length + 1 + 67 + 12);
  desc.set([0x64, 0x65, 0x73, 0x63]); // 'desc'
  new DataView(desc.buffer).setUint32(8, description.length + 1);
  for (let i = 0; i < description.length; i++) desc[12 + i] = description.charCodeAt(i);
  const wtpt = new Uint8Array(20);
  wtpt.set([0x58, 0x59, 0x5a, 0x20]);
  const wdv = new DataView(wtpt.buffer);
  [0.9642, 1, 0.8249].forEach((v, i) => wdv.setInt32(8 + i * 4, Math.round(v * 65536)));
  const tags: [string, Uint8Array][] = [['desc', desc], ['wtpt', wtpt], ['kTRC', curve]];
  const pad = (n: number): number => (n + 3) & ~3;
  let off = 128 + 4 + tags.length * 12;
  const offsets = tags.map(([, d]) => {
    const o = off;
    off = pad(off + d.length);
    return o;
  });
  const out = new Uint8Array(off);
  const dv = new DataView(out.buffer);
  const str = (o: number, s: string): void => { for (let i = 0; i < 4; i++) out[o + i] = s.charCodeAt(i); };
  dv.setUint32(0, off);
  dv.setUint32(8, 0x02100000);
  str(12, 'mntr');
  str(16, 'GRAY');
  str(20, 'XYZ ');
  str(36, 'acsp');
  [0.9642, 1, 0.8249].forEach((v, i) => dv.setInt32(68 + i * 4, Math.round(v * 65536)));
  dv.setUint32(128, tags.length);
  tags.forEach(([sig, d], i) => {
    str(132 + i * 12, sig);
    dv.setUint32(136 + i * 12, offsets[i]);
    dv.setUint32(140 + i * 12, d.length);
    out.set(d, offsets[i]);
  });
  return out;
}

function curvGamma(g: number): Uint8Array {
  const c = new Uint8Array(14);
  c.set([0x63, 0x75, 0x72, 0x76]);
  new DataView(c.buffer).setUint32(8, 1);
  new DataView(c.buffer).setUint16(12, Math.round(g * 256));
  return c;
}

function curvTable(f: (x: number) => number, n: number): Uint8Array {
  const c = new Uint8Array(12 + 2 * n);
  c.set([0x63, 0x75, 0x72, 0x76]);
  const dv = new DataView(c.buffer);
  dv.setUint32(8, n);
  for (let i = 0; i < n; i++) dv.setUint16(12 + 2 * i, Math.round(f(i / (n - 1)) * 65535));
  return c;
}

/** The curve a 'curv' table really describes: 16-bit entries, linearly interpolated. */
function quantisedTable(f: (x: number) => number, n: number): (x: number) => number {
  const t = Array.from({ length: n }, (_, i) => Math.round(f(i / (n - 1)) * 65535) / 65535);
  return (x) => {
    const p = x * (n - 1);
    const i = Math.min(n - 2, Math.floor(p));
    return t[i] + (t[i + 1] - t[i]) * (p - i);
  };
}

function invert3(m: readonly number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m;
  const A = e * i - f * h, B = f * g - d * i, C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [A, c * h - b * i, b * f - c * e, B, a * i - c * g, c * d - a * f, C, b * g - a * h, a * e - b * d].map((v) => v / det);
}

function mul3(a: readonly number[], b: readonly number[]): number[] {
  const o: number[] = [];
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) o.push(a[r * 3] * b[c] + a[r * 3 + 1] * b[3 + c] + a[r * 3 + 2] * b[6 + c]);
  return o;
}

/** Uncompressed little-endian 16-bit RGB TIFF (sharp only writes 8-bit TIFF), optional ICC. */
function tiff16(w: number, h: number, px: Uint16Array, icc?: Uint8Array): Uint8Array {
  const tags: [number, number, number, number | Uint8Array][] = []; // tag, type, count, value|bytes
  const pixels = new Uint8Array(px.buffer, px.byteOffset, px.byteLength);
  const bps = new Uint8Array(new Uint16Array([16, 16, 16]).buffer);
  tags.push([256, 4, 1, w], [257, 4, 1, h], [258, 3, 3, bps], [259, 3, 1, 1], [262, 3, 1, 2], [273, 4, 1, pixels],
    [277, 3, 1, 3], [278, 4, 1, h], [279, 4, 1, pixels.length], [284, 3, 1, 1]);
  if (icc) tags.push([34675, 7, icc.length, icc]);
  const ifdSize = 2 + tags.length * 12 + 4;
  let extra = 8 + ifdSize;
  const blobs: [number, Uint8Array][] = [];
  for (const t of tags) {
    if (t[3] instanceof Uint8Array) {
      blobs.push([extra, t[3]]);
      extra += t[3].length + (t[3].length & 1);
    }
  }
  const out = new Uint8Array(extra);
  const dv = new DataView(out.buffer);
  out.set([0x49, 0x49, 42, 0]);
  dv.setUint32(4, 8, true);
  dv.setUint16(8, tags.length, true);
  let bi = 0;
  tags.forEach(([tag, type, count, v], i) => {
    const e = 10 + i * 12;
    dv.setUint16(e, tag, true);
    dv.setUint16(e + 2, type, true);
    dv.setUint32(e + 4, count, true);
    if (v instanceof Uint8Array) dv.setUint32(e + 8, blobs[bi++][0], true);
    else if (type === 3) dv.setUint16(e + 8, v, true);
    else dv.setUint32(e + 8, v, true);
  });
  for (const [o, b] of blobs) out.set(b, o);
  return out;
}

const srgbDecode = (v: number): number => (v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));

/** kodim(i) encoded exactly (float64) as 16-bit Display P3 with libvips' P3 profile. */
async function exactP3(i: number): Promise<{ p3px: Uint16Array; ref8: Buffer; width: number; height: number; p3Icc: Uint8Array }> {
  const { data: ref8, info } = await sharp(kodim(i)).raw().toBuffer({ resolveWithObject: true });
  const p3Icc = new Uint8Array((await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } }).withIccProfile('p3').png().toBuffer().then((b) => sharp(b).metadata())).icc!);
  const p3 = parseIcc(p3Icc)!.model as RgbModel;
  const toP3 = mul3(invert3(p3.matrix), SRGB.matrix);
  const p3px = new Uint16Array(ref8.length);
  for (let k = 0; k < ref8.length; k += 3) {
    const l = [srgbDecode(ref8[k] / 255), srgbDecode(ref8[k + 1] / 255), srgbDecode(ref8[k + 2] / 255)];
    for (let c = 0; c < 3; c++) {
      const y = toP3[c * 3] * l[0] + toP3[c * 3 + 1] * l[1] + toP3[c * 3 + 2] * l[2];
      p3px[k + c] = Math.round(srgbEncode(Math.min(1, Math.max(0, y))) * 65535);
    }
  }
  return { p3px, ref8, width: info.width, height: info.height, p3Icc };
}

const srgbEncode = (y: number): number => (y <= 0.0031308 ? 12.92 * y : 1.055 * Math.pow(y, 1 / 2.4) - 0.055);

describe('readImage: portrait JPEG, EXIF orientation 6, Display P3', () => {
  let file: string;
  let upright: Buffer; // what the photo looks like, in sRGB
  beforeAll(async () => {
    // Camera held sideways: stored landscape, tagged "rotate 90° CW to view" (orientation 6).
    // withMetadata must come first: it would otherwise reset the profile to sRGB.
    file = join(dir, 'p3-orient6.jpg');
    await sharp(kodim(23))
      .withMetadata({ orientation: 6 })
      .withIccProfile('p3')
      .withExif({ IFD0: { Make: 'Acme', Model: 'Sideways 1' }, IFD2: { DateTimeOriginal: '2021:03:04 05:06:07' } })
      .jpeg({ quality: 95 })
      .toFile(file);
    upright = await sharp(kodim(23)).rotate(90).raw().toBuffer();
    const m = await sharp(file).metadata();
    expect([m.width, m.height, m.orientation]).toEqual([768, 512, 6]);
  });

  it('returns upright portrait sRGB pixels and the original metadata', async () => {
    const { image, meta } = await readImage(file);
    expect([image.width, image.height, image.bitDepth]).toEqual([512, 768, 8]);
    expect(image.data).toBeInstanceOf(Uint8Array);
    expect(image.data.length).toBe(512 * 768 * 3);
    expect(meta.format).toBe('jpeg');
    expect(meta.orientation).toBe(6);
    expect(meta.hadAlpha).toBe(false);
    expect(meta.bitDepth).toBe(8);

    // Original ICC bytes, and they describe Display P3 (libvips names its P3 profile "sP3C").
    const fileIcc = (await sharp(file).metadata()).icc!;
    expect(Buffer.compare(Buffer.from(meta.icc!), fileIcc)).toBe(0);
    expect(meta.iccDescription).toMatch(/P3/);
    const model = parseIcc(meta.icc!)!.model as RgbModel;
    expect(model.kind).toBe('rgb');
    expect(sameRgbModel(model, SRGB)).toBe(false);
    // Display P3 red is far more saturated than sRGB red: chromaticity x of the red colorant.
    const redX = (m: readonly number[]): number => m[0] / (m[0] + m[3] + m[6]);
    expect(redX(model.matrix)).toBeGreaterThan(redX(SRGB.matrix) + 0.02);

    // Raw EXIF from the TIFF header on, with the tags and the orientation as found.
    expect(String.fromCharCode(meta.exif![0], meta.exif![1])).toMatch(/II|MM/);
    const tags = await exifr.parse(meta.exif!, { translateValues: false });
    expect(tags.Make).toBe('Acme');
    expect(tags.Model).toBe('Sideways 1');
    expect(tags.Orientation).toBe(6);

    // Pixel content: the upright photo, after P3 → sRGB, within JPEG error.
    const d = diffStats(image.data, upright);
    expect(d.mean).toBeLessThan(2.5);
    expect(d.psnr).toBeGreaterThan(35);
  });

  it('really converts from P3 (matches lcms, differs from the stored P3 values)', async () => {
    const { image } = await readImage(file);
    const storedP3 = await sharp(file, { ignoreIcc: true }).rotate().raw().toBuffer();
    expect(diffStats(image.data, storedP3).mean).toBeGreaterThan(2);
    const lcms = await sharp(file).rotate().raw().toBuffer();
    const d = diffStats(image.data, lcms);
    expect(d.mean).toBeLessThan(0.1);
    expect(d.max).toBeLessThanOrEqual(2);
  });

  it('reads the same from bytes as from the path', async () => {
    const a = await readImage(file);
    const bytes = new Uint8Array(readFileSync(file));
    const b = await readImage(bytes);
    expect(b.image.width).toBe(a.image.width);
    expect(Buffer.compare(Buffer.from(b.image.data as Uint8Array), Buffer.from(a.image.data as Uint8Array))).toBe(0);
    expect(b.meta).toEqual(a.meta);
  });
});

describe('readImage: orientation', () => {
  // upright (X, Y) → stored (x, y) for each EXIF orientation (W×H = stored size).
  const map: Record<number, (X: number, Y: number, W: number, H: number) => [number, number]> = {
    1: (X, Y) => [X, Y],
    2: (X, Y, W) => [W - 1 - X, Y],
    3: (X, Y, W, H) => [W - 1 - X, H - 1 - Y],
    4: (X, Y, W, H) => [X, H - 1 - Y],
    5: (X, Y) => [Y, X],
    6: (X, Y, W, H) => [Y, H - 1 - X],
    7: (X, Y, W, H) => [W - 1 - Y, H - 1 - X],
    8: (X, Y, W) => [W - 1 - Y, X],
  };
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('orientation %i comes out upright', async (o) => {
    const W = 5, H = 3;
    const stored = new Uint8Array(W * H * 3).map((_, i) => (i * 17) % 251);
    const png = await sharp(stored, { raw: { width: W, height: H, channels: 3 } }).withMetadata({ orientation: o }).png().toBuffer();
    const { image, meta } = await readImage(png);
    expect(meta.orientation).toBe(o);
    const swap = o >= 5;
    expect([image.width, image.height]).toEqual(swap ? [H, W] : [W, H]);
    for (let Y = 0; Y < image.height; Y++) {
      for (let X = 0; X < image.width; X++) {
        const [x, y] = map[o](X, Y, W, H);
        for (let c = 0; c < 3; c++) expect(image.data[(Y * image.width + X) * 3 + c]).toBe(stored[(y * W + x) * 3 + c]);
      }
    }
  });
});

describe('readImage: bit depth, alpha, gray, CMYK', () => {
  it('16-bit PNG → Uint16Array, values exact', async () => {
    const w = 97, h = 61;
    const v = new Uint16Array(w * h * 3).map((_, i) => (i * 40503) & 0xffff);
    const png = await sharp(v, { raw: { width: w, height: h, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png).metadata()).depth).toBe('ushort');
    const { image, meta } = await readImage(png);
    expect(image.bitDepth).toBe(16);
    expect(meta.bitDepth).toBe(16);
    expect(image.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(image.data)).toEqual(Array.from(v));
  });

  it('other formats: 16-bit TIFF (with and without P3), AVIF, WebP, GIF', async () => {
    const w = 33, h = 21;
    const v = new Uint16Array(w * h * 3).map((_, i) => (i * 40503) & 0xffff);
    const t = await readImage(tiff16(w, h, v));
    expect([t.meta.format, t.image.bitDepth]).toEqual(['tiff', 16]);
    expect(Array.from(t.image.data)).toEqual(Array.from(v));

    const gray = new Uint16Array(w * h * 3).fill(30000);
    const p3Icc = new Uint8Array((await sharp(kodim(1)).withIccProfile('p3').jpeg().toBuffer().then((b) => sharp(b).metadata())).icc!);
    const tp = await readImage(tiff16(w, h, gray, p3Icc));
    expect(tp.meta.iccDescription).toBe('sP3C');
    // Neutral stays neutral and, with the same tone curve, unchanged.
    for (const x of tp.image.data) expect(Math.abs(x - 30000)).toBeLessThanOrEqual(2);

    const small = await sharp(kodim(1)).resize(256).png().toBuffer();
    const ref = await sharp(small).raw().toBuffer();
    for (const [fmt, enc] of [
      ['avif', sharp(small).avif({ quality: 90 })],
      ['webp', sharp(small).webp({ quality: 95 })],
    ] as const) {
      const r = await readImage(new Uint8Array(await enc.toBuffer()));
      expect([r.meta.format, r.image.width, r.image.height, r.image.bitDepth]).toEqual([fmt, 256, 171, 8]);
      expect(diffStats(r.image.data, ref).psnr).toBeGreaterThan(30);
    }
    const g = await readImage(await sharp(kodim(1)).resize(64).gif().toBuffer());
    expect([g.meta.format, g.image.width, g.image.bitDepth]).toEqual(['gif', 64, 8]);
  });

  it('16-bit Display-P3 PNG → sRGB (sharp alone would hand back P3 values)', async () => {
    // Tagged P3 without conversion: sharp treats 16-bit raw input as P3 already, so
    // withIccProfile('p3') only attaches the profile.
    const { p3px, ref8, width, height } = await exactP3(5);
    const png = await sharp(p3px, { raw: { width, height, channels: 3 } }).withIccProfile('p3').toColourspace('rgb16').png().toBuffer();
    const m = await sharp(png).metadata();
    expect([m.depth, parseIcc(new Uint8Array(m.icc!))?.description]).toEqual(['ushort', 'sP3C']);
    const stored = await sharp(png, { ignoreIcc: true }).toColourspace('rgb16').raw({ depth: 'ushort' }).toBuffer();
    expect(Buffer.compare(stored, Buffer.from(p3px.buffer))).toBe(0);

    const { image } = await readImage(png);
    expect(image.data).toBeInstanceOf(Uint16Array);
    const ref = Uint16Array.from(ref8, (v) => v * 257);
    const d = diffStats(image.data, ref, 257); // in 8-bit units
    expect(d.mean).toBeLessThan(0.01);
    expect(d.max).toBeLessThan(0.25);
    // The trap: sharp's default 16-bit pipeline stays in P3.
    const naive = await sharp(png).toColourspace('rgb16').raw({ depth: 'ushort' }).toBuffer();
    const n16 = new Uint16Array(naive.buffer, naive.byteOffset, naive.length / 2);
    expect(diffStats(n16, ref, 257).mean).toBeGreaterThan(1);
  });

  it('profiles we do not model exactly go through lcms, 8 and 16-bit, and still end in sRGB', async () => {
    // The P3 profile relabelled as an output ('prtr') profile: our parser declines it, lcms takes it.
    const { p3px, ref8, width, height, p3Icc } = await exactP3(5);
    const icc = p3Icc.slice();
    icc.set([0x70, 0x72, 0x74, 0x72], 12);
    expect(parseIcc(icc)?.model).toBeUndefined();
    const p3px8 = Uint8Array.from(p3px, (v) => Math.round(v / 257));
    for (const [bits, px] of [[16, p3px], [8, p3px8]] as const) {
      let s = sharp(px, { raw: { width, height, channels: 3 } });
      if (bits === 16) s = s.toColourspace('rgb16');
      const png = splicePng(new Uint8Array(await s.png().toBuffer()), { icc });
      const { image } = await readImage(png);
      expect(image.bitDepth).toBe(bits);
      const scale = bits === 16 ? 257 : 1;
      const d = diffStats(image.data, Uint16Array.from(ref8, (v) => v * scale), scale);
      expect(d.mean, `${bits}-bit`).toBeLessThan(0.5); // lcms' 16-bit CLUTs are coarser than our maths
      expect(diffStats(px, Uint16Array.from(ref8, (v) => v * scale), scale).mean).toBeGreaterThan(1);
    }
  });

  it('16-bit P3 PNG made by lcms reads back close to the source', async () => {
    const png = await sharp(kodim(5)).toColourspace('rgb16').withIccProfile('p3').png().toBuffer();
    const { image } = await readImage(png);
    const ref = Uint16Array.from(await sharp(kodim(5)).raw().toBuffer(), (v) => v * 257);
    // lcms' own 16-bit sRGB → P3 step is off by up to a few 8-bit codes; our read adds nothing.
    expect(diffStats(image.data, ref, 257).mean).toBeLessThan(0.7);
  });

  it('sRGB-tagged photos stay bit-exact', async () => {
    const raw = await sharp(kodim(3)).raw().toBuffer();
    const png = await sharp(kodim(3)).withIccProfile('srgb').png().toBuffer();
    expect((await sharp(png).metadata()).icc).toBeDefined();
    const { image, meta } = await readImage(png);
    expect(meta.iccDescription).toBe('sRGB');
    expect(Buffer.compare(Buffer.from(image.data as Uint8Array), raw)).toBe(0);
  });

  it('RGBA PNG is flattened over white and flagged', async () => {
    const w = 64, h = 16;
    const rgba = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) rgba.set([(i * 7) % 256, (i * 13) % 256, (i * 29) % 256, (i * 5) % 256], i * 4);
    const png = await sharp(rgba, { raw: { width: w, height: h, channels: 4 } }).png().toBuffer();
    const { image, meta } = await readImage(png, { alpha: 'flatten' });
    expect(meta.hadAlpha).toBe(true);
    expect(image.data.length).toBe(w * h * 3);
    for (let i = 0; i < w * h; i++) {
      const a = rgba[i * 4 + 3] / 255;
      for (let c = 0; c < 3; c++) {
        expect(Math.abs(image.data[i * 3 + c] - (rgba[i * 4 + c] * a + 255 * (1 - a)))).toBeLessThanOrEqual(0.5 + 1e-9);
      }
    }
  });

  it('16-bit RGBA flattens to full 16-bit white', async () => {
    const px = new Uint16Array([1000, 2000, 3000, 0, 1000, 2000, 3000, 65535, 0, 0, 0, 32768]);
    const png = await sharp(px, { raw: { width: 3, height: 1, channels: 4 } }).toColourspace('rgb16').png().toBuffer();
    const { image, meta } = await readImage(png, { alpha: 'flatten' });
    expect(meta.hadAlpha).toBe(true);
    expect(image.bitDepth).toBe(16);
    expect(Array.from(image.data.subarray(0, 6))).toEqual([65535, 65535, 65535, 1000, 2000, 3000]);
    for (const v of image.data.subarray(6)) expect(Math.abs(v - 65535 * (1 - 32768 / 65535))).toBeLessThanOrEqual(0.5);
  });

  it('grayscale (8 and 16-bit) → RGB', async () => {
    const g8 = new Uint8Array(256).map((_, i) => i);
    const gray8 = await sharp(g8, { raw: { width: 16, height: 16, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    expect((await sharp(gray8).metadata()).channels).toBe(1);
    const { image: a } = await readImage(gray8);
    expect(a.bitDepth).toBe(8);
    for (let i = 0; i < 256; i++) expect([a.data[i * 3], a.data[i * 3 + 1], a.data[i * 3 + 2]]).toEqual([i, i, i]);

    const g16 = new Uint16Array(64).map((_, i) => i * 1021);
    const gray16 = await sharp(g16, { raw: { width: 8, height: 8, channels: 1 } }).toColourspace('grey16').png().toBuffer();
    expect((await sharp(gray16).metadata()).channels).toBe(1);
    const { image: b } = await readImage(gray16);
    expect(b.bitDepth).toBe(16);
    for (let i = 0; i < 64; i++) expect([b.data[i * 3], b.data[i * 3 + 1], b.data[i * 3 + 2]]).toEqual([i * 1021, i * 1021, i * 1021]);
  });

  it.each([
    ['gamma 2.2 curve', curvGamma(2.2), (x: number) => Math.pow(x, Math.round(2.2 * 256) / 256)],
    ['1024-entry table', curvTable((x) => Math.pow(x, 1.8), 1024), quantisedTable((x) => Math.pow(x, 1.8), 1024)],
  ])('gray profile (%s) is applied, 8 and 16-bit', async (_name, curve, f) => {
    const icc = grayProfile(curve, 'Test Gray');
    for (const bits of [8, 16] as const) {
      const n = 256;
      const max = bits === 8 ? 255 : 65535;
      const px = bits === 8 ? new Uint8Array(n).map((_, i) => i) : new Uint16Array(n).map((_, i) => i * 257);
      const s = sharp(px, { raw: { width: 16, height: 16, channels: 1 } }).toColourspace(bits === 16 ? 'grey16' : 'b-w');
      const png = splicePng(new Uint8Array(await s.png().toBuffer()), { icc });
      const { image, meta } = await readImage(png);
      expect(meta.iccDescription).toBe('Test Gray');
      expect(image.bitDepth).toBe(bits);
      for (let i = 0; i < n; i++) {
        const want = srgbEncode(f(px[i] / max)) * max;
        // 16-bit: tables are interpolated, so allow a few codes (of 65535).
        expect(Math.abs(image.data[i * 3] - want)).toBeLessThanOrEqual(bits === 8 ? 0.51 : 4);
        expect(image.data[i * 3 + 1]).toBe(image.data[i * 3]);
      }
    }
  });

  it('CMYK JPEG → sRGB through its profile', async () => {
    const jpg = await sharp(kodim(7)).withIccProfile('cmyk').jpeg({ quality: 95 }).toBuffer();
    const m = await sharp(jpg).metadata();
    expect([m.space, m.channels]).toEqual(['cmyk', 4]);
    const { image, meta } = await readImage(jpg);
    expect([image.width, image.height, image.bitDepth]).toEqual([768, 512, 8]);
    expect(parseIcc(meta.icc!)?.colorSpace).toBe('CMYK');
    const ref = await sharp(kodim(7)).raw().toBuffer();
    // A print profile's gamut and black generation shift colours; it must still be the photo.
    expect(diffStats(image.data, ref).psnr).toBeGreaterThan(22);
  });
});

describe('readImage: errors', () => {
  it('missing file → IO', async () => {
    await expectCode(readImage(join(dir, 'nope.jpg')), 'IO', /nope\.jpg.*does not exist/);
  });

  it('a folder → IO', async () => {
    await expectCode(readImage(dir), 'IO', /folder/);
  });

  it('truncated JPEG → UNSUPPORTED_IMAGE naming the file', async () => {
    const jpg = await sharp(kodim(1)).jpeg().toBuffer();
    const f = join(dir, 'truncated.jpg');
    writeFileSync(f, jpg.subarray(0, jpg.length >> 1));
    await expectCode(readImage(f), 'UNSUPPORTED_IMAGE', /truncated\.jpg.*damaged or truncated/);
  });

  it('benign JPEG warnings (stray bytes between markers) do not block reading', async () => {
    const jpg = await sharp(kodim(1)).jpeg().toBuffer();
    const sos = jpg.indexOf(Buffer.from([0xff, 0xda]));
    const junk = Buffer.concat([jpg.subarray(0, sos), Buffer.from([1, 2, 3]), jpg.subarray(sos)]);
    const { image } = await readImage(junk);
    expect([image.width, image.height]).toEqual([768, 512]);
  });

  it('truncated PNG → UNSUPPORTED_IMAGE', async () => {
    const png = await sharp(kodim(2)).png().toBuffer();
    await expectCode(readImage(png.subarray(0, png.length - 5000)), 'UNSUPPORTED_IMAGE');
  });

  it('garbage, empty file, SVG and camera raw → UNSUPPORTED_IMAGE', async () => {
    const f = join(dir, 'garbage.png');
    writeFileSync(f, Buffer.from('this is not an image at all, just text'.repeat(20)));
    await expectCode(readImage(f), 'UNSUPPORTED_IMAGE', /garbage\.png.*not an image/);
    const empty = join(dir, 'empty.jpg');
    writeFileSync(empty, '');
    await expectCode(readImage(empty), 'UNSUPPORTED_IMAGE', /empty/);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    await expectCode(readImage(svg), 'UNSUPPORTED_IMAGE', /SVG/);
    await expectCode(readImage(join(dir, 'DSC_0001.NEF')), 'UNSUPPORTED_IMAGE', /raw/);
  });

  it('maxPixels exceeded → IMAGE_TOO_LARGE with the size', async () => {
    await expectCode(readImage(kodim(1), { maxPixels: 300_000 }), 'IMAGE_TOO_LARGE', /768×512 \(0\.4 MP\).*0\.3 MP limit/);
    const ok = await readImage(kodim(1), { maxPixels: 768 * 512 });
    expect(ok.image.width).toBe(768);
    await expectCode(readImage(kodim(1), { maxPixels: 0 }), 'INVALID_ARGUMENT');
  });
});

describe('readImage: memory', () => {
  it('a 6000×4000 JPEG reads with peak RSS well under 1 GB', async () => {
    const big = join(dir, 'big.jpg');
    await sharp(kodim(8)).resize(6000, 4000, { fit: 'fill' }).withMetadata({ orientation: 6 }).jpeg({ quality: 90 }).toFile(big);
    const script = join(dir, 'rss.mts');
    const readTs = resolve(__dirname, '..', 'src', 'core', 'image', 'read.ts');
    writeFileSync(
      script,
      `import { readImage } from ${JSON.stringify(readTs)};\n` +
        `const r = await readImage(${JSON.stringify(big)});\n` +
        `console.log(JSON.stringify({ w: r.image.width, h: r.image.height, rssMb: process.resourceUsage().maxRSS / 1024 }));\n`,
    );
    const tsx = createRequire(import.meta.url).resolve('tsx/cli');
    const p = spawnSync(process.execPath, [tsx, script], { encoding: 'utf8', cwd: resolve(__dirname, '..') });
    expect(p.status, p.stderr).toBe(0);
    const r = JSON.parse(p.stdout.trim().split('\n').pop()!) as { w: number; h: number; rssMb: number };
    expect([r.w, r.h]).toEqual([4000, 6000]);
    console.log(`6000×4000 JPEG (orientation 6): peak RSS ${r.rssMb.toFixed(0)} MB`);
    expect(r.rssMb).toBeLessThan(600);
  });
});

// ---- raster helpers -------------------------------------------------------------------------

function randomRaster(w: number, h: number, bitDepth: 8 | 16, seed: number): RasterImage {
  const r = rng(seed);
  const max = bitDepth === 8 ? 256 : 65536;
  const data = bitDepth === 8 ? new Uint8Array(w * h * 3) : new Uint16Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(r() * max);
  return { width: w, height: h, bitDepth, data };
}

/** Straightforward reference for rasterToFloatRegion. */
function refRegion(img: RasterImage, x: number, y: number, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h * 3);
  const max = img.bitDepth === 8 ? 255 : 65535;
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const sx = Math.min(img.width - 1, Math.max(0, x + c));
      const sy = Math.min(img.height - 1, Math.max(0, y + r));
      for (let k = 0; k < 3; k++) out[(r * w + c) * 3 + k] = img.data[(sy * img.width + sx) * 3 + k] / max;
    }
  }
  return out;
}

describe('rasterToFloatRegion', () => {
  const img8 = randomRaster(13, 9, 8, 1);
  const img16 = randomRaster(13, 9, 16, 2);

  it.each([
    ['inside', 2, 3, 5, 4],
    ['whole image', 0, 0, 13, 9],
    ['partly left/top', -3, -2, 6, 5],
    ['partly right/bottom', 10, 7, 8, 6],
    ['larger than the image on all sides', -4, -5, 23, 20],
    ['fully left', -20, 2, 5, 3],
    ['fully right', 20, 2, 5, 3],
    ['fully above-left (corner)', -9, -9, 4, 4],
    ['fully below-right (corner)', 15, 12, 3, 2],
    ['single pixel outside', -1, 9, 1, 1],
  ])('%s', (_n, x, y, w, h) => {
    for (const img of [img8, img16]) {
      expect(Array.from(rasterToFloatRegion(img, x, y, w, h))).toEqual(Array.from(refRegion(img, x, y, w, h)));
    }
  });

  it('matches the reference on random regions, writing into a reused buffer', () => {
    const r = rng(7);
    const img = randomRaster(31, 17, 8, 3);
    const buf = new Float32Array(64 * 64 * 3);
    for (let t = 0; t < 300; t++) {
      const w = 1 + Math.floor(r() * 60), h = 1 + Math.floor(r() * 60);
      const x = Math.floor(r() * 120) - 60, y = Math.floor(r() * 100) - 50;
      const got = rasterToFloatRegion(img, x, y, w, h, buf);
      expect(got.buffer).toBe(buf.buffer);
      expect(got.length).toBe(w * h * 3);
      expect(Array.from(got)).toEqual(Array.from(refRegion(img, x, y, w, h)));
    }
  });

  it('returns the given buffer itself when it has the exact size', () => {
    const out = new Float32Array(4 * 4 * 3);
    expect(rasterToFloatRegion(img8, -1, -1, 4, 4, out)).toBe(out);
  });

  it('rejects bad arguments', () => {
    expect(() => rasterToFloatRegion(img8, 0, 0, 0, 4)).toThrow(SgaiError);
    expect(() => rasterToFloatRegion(img8, 0.5, 0, 2, 2)).toThrow(SgaiError);
    expect(() => rasterToFloatRegion(img8, 0, 0, 4, 4, new Float32Array(10))).toThrow(/at least 48/);
    expect(() => rasterToFloatRegion({ ...img8, data: new Uint16Array(img8.data.length) }, 0, 0, 2, 2)).toThrow(SgaiError);
  });

  it('is fast enough for 50 MP photos (tiles with halos)', () => {
    const img = randomRaster(2048, 2048, 8, 9);
    const buf = new Float32Array(576 * 576 * 3);
    const t0 = performance.now();
    for (let ty = 0; ty < 2048; ty += 512) for (let tx = 0; tx < 2048; tx += 512) rasterToFloatRegion(img, tx - 32, ty - 32, 576, 576, buf);
    const ms = performance.now() - t0;
    console.log(`rasterToFloatRegion: 4.2 MP of tiles with halos in ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(2000);
  });
});

describe('floatToRaster and pasteRegion', () => {
  it('clamps, maps NaN to 0 and rounds half up', () => {
    const f = new Float32Array([0, 1, -0.3, 1.7, NaN, 0.5, 2 / 255, 0.4 / 255, 0.6 / 255, Infinity, -Infinity, 0.25]);
    const r8 = floatToRaster(f, 4, 1, 8);
    expect(r8.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(r8.data)).toEqual([0, 255, 0, 255, 0, 128, 2, 0, 1, 255, 0, 64]);
    const r16 = floatToRaster(f, 4, 1, 16);
    expect(r16.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(r16.data)).toEqual([0, 65535, 0, 65535, 0, 32768, 514, 103, 154, 65535, 0, 16384]);
  });

  it('round-trips every 8- and 16-bit value exactly', () => {
    for (const bits of [8, 16] as const) {
      const n = bits === 8 ? 256 : 65536;
      const data = bits === 8 ? new Uint8Array(n * 3) : new Uint16Array(n * 3);
      for (let i = 0; i < n; i++) data.fill(i, i * 3, i * 3 + 3);
      const img: RasterImage = { width: n, height: 1, bitDepth: bits, data };
      const back = floatToRaster(rasterToFloatRegion(img, 0, 0, n, 1), n, 1, bits);
      expect(Buffer.compare(Buffer.from(back.data.buffer), Buffer.from(data.buffer))).toBe(0);
    }
  });

  it('reassembles an image from haloed tiles bit-exactly', () => {
    for (const bits of [8, 16] as const) {
      const img = randomRaster(53, 41, bits, 11);
      const out: RasterImage = { width: 53, height: 41, bitDepth: bits, data: bits === 8 ? new Uint8Array(53 * 41 * 3) : new Uint16Array(53 * 41 * 3) };
      const T = 16, halo = 3;
      for (let ty = 0; ty < 41; ty += T) {
        for (let tx = 0; tx < 53; tx += T) {
          const tile = rasterToFloatRegion(img, tx - halo, ty - halo, T + 2 * halo, T + 2 * halo);
          const w = Math.min(T, 53 - tx), h = Math.min(T, 41 - ty);
          pasteRegion(out, tile, T + 2 * halo, T + 2 * halo, halo, halo, w, h, tx, ty);
        }
      }
      expect(Array.from(out.data)).toEqual(Array.from(img.data));
    }
  });

  it('pastes only the window, clamping and rounding', () => {
    const dst: RasterImage = { width: 4, height: 3, bitDepth: 8, data: new Uint8Array(36).fill(7) };
    const tile = new Float32Array(3 * 2 * 3);
    tile.set([0.5, -1, 2, NaN, 1 / 255, 0.999], 3 * 3); // row 1 of a 3×2 tile: pixels (0,1) and (1,1)
    pasteRegion(dst, tile, 3, 2, 0, 1, 2, 1, 2, 2);
    expect(Array.from(dst.data.subarray(0, 30))).toEqual(new Array(30).fill(7));
    expect(Array.from(dst.data.subarray(30))).toEqual([128, 0, 255, 0, 1, 255]);
  });

  it('rejects windows outside the tile or the image', () => {
    const dst: RasterImage = { width: 4, height: 3, bitDepth: 8, data: new Uint8Array(36) };
    const tile = new Float32Array(3 * 2 * 3);
    expect(() => pasteRegion(dst, tile, 3, 2, 1, 0, 3, 1, 0, 0)).toThrow(/does not fit in the 3×2 tile/);
    expect(() => pasteRegion(dst, tile, 3, 2, 0, 0, 3, 2, 2, 0)).toThrow(/does not fit in the 4×3 image/);
    expect(() => pasteRegion(dst, tile, 3, 3, 0, 0, 1, 1, 0, 0)).toThrow(SgaiError);
    expect(() => pasteRegion(dst, tile, 3, 2, -1, 0, 1, 1, 0, 0)).toThrow(SgaiError);
  });
});
