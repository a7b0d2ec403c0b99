/**
 * Image output: colour profile round trip (Display P3), EXIF/XMP carried with Orientation 1,
 * 16-bit PNG, atomic writes and their errors, previews, and the byte-level splicers.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import exifr from 'exifr';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SgaiError } from '../src/core/errors';
import { encodeImage, makePreview, writeImageFile } from '../src/core/image/export';
import { parseIcc } from '../src/core/image/icc';
import { patchExif } from '../src/core/image/metadata';
import type { ImageMetadata, RasterImage } from '../src/core/image/raster';
import { readImage } from '../src/core/image/read';
import { kodim } from './helpers';


let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sgai-image-export-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function diffStats(a: ArrayLike<number>, b: ArrayLike<number>): { mean: number; max: number } {
  expect(a.length).toBe(b.length);
  let sum = 0, max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    if (d > max) max = d;
  }
  return { mean: sum / a.length, max };
}

async function expectCode(p: Promise<unknown>, code: string, msg?: RegExp): Promise<void> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(SgaiError);
  expect((e as SgaiError).code).toBe(code);
  if (msg) expect((e as SgaiError).message).toMatch(msg);
}

/** Every PNG chunk's CRC must be right, or strict readers reject the file. */
function pngChunks(png: Uint8Array): string[] {
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const types: string[] = [];
  for (let o = 8; o < png.length; ) {
    const len = dv.getUint32(o);
    const type = String.fromCharCode(...png.subarray(o + 4, o + 8));
    expect(dv.getUint32(o + 8 + len), `CRC of ${type}`).toBe(crc32(png.subarray(o + 4, o + 8 + len)));
    types.push(type);
    o += 12 + len;
  }
  return types;
}

const XMP = (o: number): string =>
  `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
  `<rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" tiff:Orientation="${o}">` +
  `<dc:creator><rdf:Seq><rdf:li>Ada Photographer</rdf:li></rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>`;

describe('export of a Display P3 portrait with EXIF orientation 6', () => {
  let image: RasterImage;
  let meta: ImageMetadata;
  beforeAll(async () => {
    const file = join(dir, 'p3-orient6.jpg');
    await sharp(kodim(23))
      .withMetadata({ orientation: 6 })
      .withIccProfile('p3')
      .withExif({ IFD0: { Make: 'Acme', Model: 'Sideways 1' }, IFD2: { DateTimeOriginal: '2021:03:04 05:06:07' } })
      .withXmp(XMP(6))
      .jpeg({ quality: 95 })
      .toFile(file);
    ({ image, meta } = await readImage(file));
    expect([image.width, image.height, meta.orientation]).toEqual([512, 768, 6]);
    expect(meta.xmp).toBeDefined();
  });

  it.each(['png', 'jpeg'] as const)('%s carries the original profile, EXIF and XMP, upright', async (format) => {
    const out = await encodeImage(image, { format, icc: meta.icc, exif: meta.exif, xmp: meta.xmp });
    const m = await sharp(out).metadata();
    expect(m.format).toBe(format);
    expect([m.width, m.height]).toEqual([512, 768]);
    expect(m.orientation ?? 1).toBe(1);
    // The original ICC profile, byte for byte.
    expect(Buffer.compare(m.icc!, Buffer.from(meta.icc!))).toBe(0);
    // EXIF tags survive; Orientation is now 1 and the pixel dimensions are the upright ones.
    const tags = await exifr.parse(out, { translateValues: false, reviveValues: false });
    expect(tags.Make).toBe('Acme');
    expect(tags.Model).toBe('Sideways 1');
    expect(tags.DateTimeOriginal).toBe('2021:03:04 05:06:07');
    expect(tags.Orientation).toBe(1);
    expect([tags.ExifImageWidth, tags.ExifImageHeight]).toEqual([512, 768]);
    // XMP survives with its orientation reset.
    const xmp = m.xmp!.toString('utf8');
    expect(xmp).toContain('Ada Photographer');
    expect(xmp).toContain('tiff:Orientation="1"');
    if (format === 'png') expect(pngChunks(out).slice(0, 4)).toEqual(['IHDR', 'iCCP', 'eXIf', 'iTXt']);

    // Pixels are stored in P3 (they really were converted) …
    const stored = await sharp(out, { ignoreIcc: true }).raw().toBuffer();
    expect(diffStats(stored, image.data).mean).toBeGreaterThan(2);
    // … and sharp, converting them back to sRGB, gets the input again.
    const back = await sharp(out).raw().toBuffer();
    const d = diffStats(back, image.data);
    if (format === 'png') {
      expect(d.mean).toBeLessThan(0.1);
      expect(d.max).toBeLessThanOrEqual(4);
    } else {
      expect(d.mean).toBeLessThan(2);
    }
  });

  it('PNG re-read through readImage reproduces the raster', async () => {
    const out = await encodeImage(image, { format: 'png', icc: meta.icc, exif: meta.exif, xmp: meta.xmp });
    const again = await readImage(out);
    expect(again.meta.orientation).toBe(1);
    expect(again.meta.iccDescription).toBe(meta.iccDescription);
    const d = diffStats(again.image.data, image.data);
    expect(d.mean).toBeLessThan(0.05);
    // 8-bit P3 codes are coarser than sRGB ones for some saturated shadows.
    expect(d.max).toBeLessThanOrEqual(4);
  });

  it('16-bit PNG in P3 round-trips to within a few 16-bit codes', async () => {
    const img16: RasterImage = { ...image, bitDepth: 16, data: Uint16Array.from(image.data, (v) => v * 257 + (v < 255 ? 100 : 0)) };
    const out = await encodeImage(img16, { format: 'png', icc: meta.icc });
    const m = await sharp(out).metadata();
    expect([m.depth, m.bitsPerSample]).toEqual(['ushort', 16]);
    const again = await readImage(out);
    expect(again.image.bitDepth).toBe(16);
    const d = diffStats(again.image.data, img16.data);
    console.log(`16-bit P3 round trip: mean ${d.mean.toFixed(3)}, max ${d.max} (of 65535)`);
    expect(d.mean).toBeLessThan(1);
    expect(d.max).toBeLessThanOrEqual(16);
  });
});

describe('export: bit depth, defaults, options', () => {
  function random16(w: number, h: number): RasterImage {
    let s = 12345;
    const data = new Uint16Array(w * h * 3);
    for (let i = 0; i < data.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      data[i] = s >>> 16;
    }
    return { width: w, height: h, bitDepth: 16, data };
  }

  it('16-bit PNG export is really 16-bit and round-trips exactly', async () => {
    const img = random16(123, 77);
    const out = await encodeImage(img, { format: 'png' });
    const m = await sharp(out).metadata();
    expect([m.depth, m.bitsPerSample, m.space]).toEqual(['ushort', 16, 'rgb16']);
    const { image } = await readImage(out);
    expect(image.bitDepth).toBe(16);
    expect(Buffer.compare(Buffer.from(image.data.buffer), Buffer.from(img.data.buffer))).toBe(0);
  });

  it('8-bit PNG export round-trips exactly and embeds sRGB', async () => {
    const { image } = await readImage(kodim(4));
    const out = await encodeImage(image, { format: 'png' });
    expect(parseIcc(new Uint8Array((await sharp(out).metadata()).icc!))?.description).toBe('sRGB');
    const again = await readImage(out);
    expect(Buffer.compare(Buffer.from(again.image.data as Uint8Array), Buffer.from(image.data as Uint8Array))).toBe(0);
  });

  it('16-bit image to 8-bit PNG / JPEG rounds to nearest', async () => {
    const img = random16(40, 30);
    const out = await encodeImage(img, { format: 'png', bitDepth: 8 });
    expect((await sharp(out).metadata()).depth).toBe('uchar');
    const back = await sharp(out).raw().toBuffer();
    for (let i = 0; i < back.length; i++) expect(back[i]).toBe(Math.floor((img.data[i] * 255) / 65535 + 0.5));
    const jpg = await encodeImage(img, { format: 'jpeg' });
    expect((await sharp(jpg).metadata()).format).toBe('jpeg');
  });

  it('8-bit image to 16-bit PNG scales by 257', async () => {
    const img: RasterImage = { width: 2, height: 1, bitDepth: 8, data: new Uint8Array([0, 1, 127, 128, 254, 255]) };
    const out = await encodeImage(img, { format: 'png', bitDepth: 16 });
    const { image } = await readImage(out);
    expect(Array.from(image.data)).toEqual([0, 257, 127 * 257, 128 * 257, 254 * 257, 65535]);
  });

  it('JPEG quality is honoured', async () => {
    const { image } = await readImage(kodim(1));
    const lo = await encodeImage(image, { format: 'jpeg', quality: 30 });
    const hi = await encodeImage(image, { format: 'jpeg' });
    expect(lo.length).toBeLessThan(hi.length / 2);
  });

  it('a profile that cannot describe RGB pixels (CMYK, gray) falls back to sRGB', async () => {
    const cmykJpg = await sharp(kodim(7)).withIccProfile('cmyk').jpeg().toBuffer();
    const cmykIcc = new Uint8Array((await sharp(cmykJpg).metadata()).icc!);
    const { image } = await readImage(kodim(7));
    const out = await encodeImage(image, { format: 'png', icc: cmykIcc });
    expect(parseIcc(new Uint8Array((await sharp(out).metadata()).icc!))?.description).toBe('sRGB');
    expect(Buffer.compare(await sharp(out).raw().toBuffer(), Buffer.from(image.data as Uint8Array))).toBe(0);
  });

  it('rejects bad options', async () => {
    const img = random16(4, 4);
    await expectCode(encodeImage(img, { format: 'jpeg', bitDepth: 16 }), 'INVALID_ARGUMENT', /16-bit/);
    await expectCode(encodeImage(img, { format: 'jpeg', quality: 0 }), 'INVALID_ARGUMENT', /quality/);
    await expectCode(encodeImage(img, { format: 'jpeg', quality: 101 }), 'INVALID_ARGUMENT');
    await expectCode(encodeImage(img, { format: 'gif' as 'png' }), 'INVALID_ARGUMENT');
    await expectCode(encodeImage({ ...img, data: new Uint16Array(3) }, { format: 'png' }), 'INVALID_ARGUMENT');
  });
});

describe('EXIF patching', () => {
  /** Big-endian TIFF with IFD0 {Make, Orientation=8, ExifIFD → {DateTimeOriginal}}. */
  function bigEndianExif(): Uint8Array {
    const b = new Uint8Array(200);
    const dv = new DataView(b.buffer);
    b.set([0x4d, 0x4d, 0, 42]);
    dv.setUint32(4, 8);
    dv.setUint16(8, 3); // 3 entries
    const entry = (i: number, tag: number, type: number, count: number, value: number, short = false): void => {
      const e = 10 + i * 12;
      dv.setUint16(e, tag);
      dv.setUint16(e + 2, type);
      dv.setUint32(e + 4, count);
      if (short) dv.setUint16(e + 8, value);
      else dv.setUint32(e + 8, value);
    };
    entry(0, 0x010f, 2, 5, 100); // Make → offset 100
    entry(1, 0x0112, 3, 1, 8, true); // Orientation = 8
    entry(2, 0x8769, 4, 1, 120); // Exif IFD at 120
    dv.setUint32(46, 0); // no IFD1
    b.set(Array.from('Zeta\0', (c) => c.charCodeAt(0)), 100);
    dv.setUint16(120, 1);
    dv.setUint16(122, 0x9003); // DateTimeOriginal, ASCII 20 → offset 160
    dv.setUint16(124, 2);
    dv.setUint32(126, 20);
    dv.setUint32(130, 160);
    dv.setUint32(134, 0);
    b.set(Array.from('2020:01:02 03:04:05\0', (c) => c.charCodeAt(0)), 160);
    return b;
  }

  it('sets Orientation to 1 in big-endian EXIF and keeps the rest', async () => {
    const src = bigEndianExif();
    expect((await exifr.parse(src, { translateValues: false })).Orientation).toBe(8);
    const patched = patchExif(src, 10, 10)!;
    const tags = await exifr.parse(patched, { translateValues: false, reviveValues: false });
    expect(tags.Orientation).toBe(1);
    expect(tags.Make).toBe('Zeta');
    expect(tags.DateTimeOriginal).toBe('2020:01:02 03:04:05');
    expect(src[10 + 12 + 8 + 1]).toBe(8); // the input is not modified
  });

  it('accepts an "Exif\\0\\0" prefix and drops unparseable EXIF', async () => {
    const prefixed = new Uint8Array([0x45, 0x78, 0x69, 0x66, 0, 0, ...bigEndianExif()]);
    expect((await exifr.parse(patchExif(prefixed, 1, 1)!, { translateValues: false })).Orientation).toBe(1);
    expect(patchExif(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), 1, 1)).toBeUndefined();
    const { image } = await readImage(kodim(2));
    const out = await encodeImage(image, { format: 'jpeg', exif: new Uint8Array(50).fill(7) });
    expect((await sharp(out).metadata()).exif).toBeUndefined();
  });
});

describe('writeImageFile', () => {
  const img: RasterImage = { width: 3, height: 2, bitDepth: 8, data: new Uint8Array(18).map((_, i) => i * 14) };

  it('writes atomically, replacing an existing file, and leaves no temp files', async () => {
    const sub = join(dir, 'write-ok');
    mkdirSync(sub);
    const path = join(sub, 'out.png');
    writeFileSync(path, 'old content');
    await writeImageFile(path, img, { format: 'png' });
    expect(readdirSync(sub)).toEqual(['out.png']);
    const { image } = await readImage(path);
    expect(Array.from(image.data)).toEqual(Array.from(img.data));
    await writeImageFile(join(sub, 'out.jpg'), img, { format: 'jpeg', quality: 100 });
    expect(readdirSync(sub).sort()).toEqual(['out.jpg', 'out.png']);
    expect(readFileSync(join(sub, 'out.jpg'))[0]).toBe(0xff);
  });

  it('missing folder → IO naming the folder', async () => {
    await expectCode(writeImageFile(join(dir, 'no-such-folder', 'x.png'), img, { format: 'png' }), 'IO', /no-such-folder.*does not exist/);
  });

  it('unwritable folder → IO, nothing left behind', async () => {
    const ro = join(dir, 'read-only');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    let probeWorked = false;
    try {
      writeFileSync(join(ro, 'probe'), 'x');
      rmSync(join(ro, 'probe'));
      probeWorked = true; // running as root: permissions are not enforced
    } catch {
      // expected for normal users
    }
    if (!probeWorked) {
      await expectCode(writeImageFile(join(ro, 'x.png'), img, { format: 'png' }), 'IO', /no permission/);
      expect(readdirSync(ro)).toEqual([]);
    }
    chmodSync(ro, 0o755);
    // Unwritable for everyone, root included: the "folder" is a file.
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    await expectCode(writeImageFile(join(file, 'x.png'), img, { format: 'png' }), 'IO', /not a folder/);
    // A folder where the file should go: the temp file is written, the rename fails, and the
    // temp file is removed again.
    const sub = join(dir, 'target-is-dir');
    mkdirSync(join(sub, 'x.png'), { recursive: true });
    await expectCode(writeImageFile(join(sub, 'x.png'), img, { format: 'png' }), 'IO');
    expect(readdirSync(sub)).toEqual(['x.png']);
  });
});

describe('makePreview', () => {
  it('fits 256 px and 6000 bytes by default, keeping the aspect ratio', async () => {
    const { image } = await readImage(kodim(13)); // a detailed landscape
    const p = await makePreview(image);
    expect(p.mime).toBe('image/webp');
    expect([p.width, p.height]).toEqual([256, 171]);
    expect(p.data.length).toBeLessThanOrEqual(6000);
    const m = await sharp(p.data).metadata();
    expect([m.format, m.width, m.height]).toEqual(['webp', 256, 171]);
  });

  it('lowers quality, then size, to meet a tight budget; 16-bit input works', async () => {
    const { image } = await readImage(kodim(13));
    const img16: RasterImage = { ...image, bitDepth: 16, data: Uint16Array.from(image.data, (v) => v * 257) };
    const p = await makePreview(img16, 512, 1200);
    expect(p.data.length).toBeLessThanOrEqual(1200);
    expect(Math.max(p.width, p.height)).toBeLessThanOrEqual(512);
    const m = await sharp(p.data).metadata();
    expect([m.width, m.height]).toEqual([p.width, p.height]);
  });

  it('never enlarges, and refuses impossible budgets', async () => {
    const img: RasterImage = { width: 20, height: 10, bitDepth: 8, data: new Uint8Array(600).fill(90) };
    const p = await makePreview(img);
    expect([p.width, p.height]).toEqual([20, 10]);
    await expectCode(makePreview(img, 256, 5), 'INVALID_ARGUMENT', /bytes/);
    await expectCode(makePreview(img, 0), 'INVALID_ARGUMENT');
  });
});
