/**
 * Nothing is lost silently at encode: real transparency and animation are refused unless the
 * user asks for --flatten / --first-frame, and the pixel limit names the option that raises it.
 * Real images written by sharp, read back through readImage.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SgaiError } from '../src/core/errors';
import { DEFAULT_MAX_PIXELS, readImage } from '../src/core/image/read';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sgai-honesty-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function refused(p: Promise<unknown>, code: string, pattern: RegExp): Promise<SgaiError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SgaiError);
  expect((e as SgaiError).code).toBe(code);
  expect((e as SgaiError).message).toMatch(pattern);
  return e as SgaiError;
}

const W = 24;
const H = 16;

/** RGBA where the left half is fully transparent and the right half opaque (or all opaque). */
function rgba(opaque: boolean): Uint8Array {
  const px = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 4;
      px.set([(x * 10) % 256, (y * 15) % 256, 90, opaque || x >= W / 2 ? 255 : 0], i);
    }
  }
  return px;
}

describe('transparency', () => {
  it('real transparency is refused by default, naming the file and --flatten', async () => {
    const f = join(dir, 'logo.png');
    writeFileSync(f, await sharp(rgba(false), { raw: { width: W, height: H, channels: 4 } }).png().toBuffer());
    const e = await refused(readImage(f), 'UNSUPPORTED_IMAGE', /logo\.png.*has transparency.*--flatten/);
    expect(e.message).toMatch(/on white/);
    await refused(readImage(f, { alpha: 'refuse' }), 'UNSUPPORTED_IMAGE', /--flatten/);
  });

  it('with alpha: flatten it is placed on white and recorded', async () => {
    const px = rgba(false);
    const png = await sharp(px, { raw: { width: W, height: H, channels: 4 } }).png().toBuffer();
    const { image, meta } = await readImage(png, { alpha: 'flatten' });
    expect(meta.hadAlpha).toBe(true);
    expect([image.width, image.height, image.data.length]).toEqual([W, H, W * H * 3]);
    for (let i = 0; i < W * H; i++) {
      const rgb = Array.from(image.data.subarray(i * 3, i * 3 + 3));
      expect(rgb).toEqual(px[i * 4 + 3] === 0 ? [255, 255, 255] : Array.from(px.subarray(i * 4, i * 4 + 3)));
    }
  });

  it('a single semi-transparent pixel is enough to refuse (16-bit too)', async () => {
    const px = new Uint16Array(W * H * 4).fill(65535);
    px[(5 * W + 7) * 4 + 3] = 65534;
    const png = await sharp(px, { raw: { width: W, height: H, channels: 4 } }).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png).metadata()).depth).toBe('ushort');
    await refused(readImage(png), 'UNSUPPORTED_IMAGE', /transparency.*--flatten/);
    const { image, meta } = await readImage(png, { alpha: 'flatten' });
    expect([image.bitDepth, meta.hadAlpha]).toEqual([16, true]);
  });

  it('an alpha channel that is fully opaque is accepted silently, pixels untouched', async () => {
    const px = rgba(true);
    const png = await sharp(px, { raw: { width: W, height: H, channels: 4 } }).png().toBuffer();
    const m = await sharp(png).metadata();
    expect([m.channels, m.hasAlpha]).toEqual([4, true]); // the file really has an alpha channel
    const { image, meta } = await readImage(png);
    expect(meta.hadAlpha).toBe(false); // nothing was flattened
    for (let i = 0; i < W * H; i++) expect(Array.from(image.data.subarray(i * 3, i * 3 + 3))).toEqual(Array.from(px.subarray(i * 4, i * 4 + 3)));
  });

  it('GIF: a transparent colour is refused, a still opaque GIF accepted', async () => {
    const holes = await sharp(rgba(false), { raw: { width: W, height: H, channels: 4 } }).gif().toBuffer();
    await refused(readImage(holes), 'UNSUPPORTED_IMAGE', /transparency.*--flatten/);
    const still = await sharp(rgba(true), { raw: { width: W, height: H, channels: 4 } }).gif().toBuffer();
    const { meta } = await readImage(still);
    expect([meta.format, meta.hadAlpha]).toEqual(['gif', false]);
  });
});

describe('animation', () => {
  const FRAMES: [number, number, number][] = [
    [200, 30, 30],
    [30, 200, 30],
    [30, 30, 200],
  ];
  /** Three solid-colour frames stacked vertically, written as one animated image. */
  function stacked(): sharp.Sharp {
    const px = new Uint8Array(W * H * FRAMES.length * 3);
    FRAMES.forEach((c, f) => {
      for (let i = 0; i < W * H; i++) px.set(c, (f * W * H + i) * 3);
    });
    return sharp(px, { raw: { width: W, height: H * FRAMES.length, channels: 3, pageHeight: H } });
  }

  for (const fmt of ['webp', 'gif'] as const) {
    it(`an animated ${fmt.toUpperCase()} of 3 frames is refused, naming --first-frame`, async () => {
      const f = join(dir, `clip.${fmt}`);
      await (fmt === 'webp' ? stacked().webp({ lossless: true, loop: 0 }) : stacked().gif({ loop: 0 })).toFile(f);
      expect((await sharp(f).metadata()).pages).toBe(3);
      await refused(readImage(f), 'UNSUPPORTED_IMAGE', new RegExp(`clip\\.${fmt}.*animated \\(3 frames\\).*--first-frame`));
    });

    it(`with frames: first an animated ${fmt.toUpperCase()} gives its first frame`, async () => {
      const { image, meta } = await readImage(join(dir, `clip.${fmt}`), { frames: 'first' });
      expect([meta.format, image.width, image.height]).toEqual([fmt, W, H]);
      for (let i = 0; i < W * H; i++) {
        const rgb = Array.from(image.data.subarray(i * 3, i * 3 + 3));
        // GIF is palettised: close, not exact.
        rgb.forEach((v, c) => expect(Math.abs(v - FRAMES[0][c])).toBeLessThanOrEqual(fmt === 'gif' ? 8 : 0));
      }
    });
  }

  it('a multi-page TIFF is refused as pages, naming --first-frame', async () => {
    const tif = await stacked().tiff().toBuffer();
    await refused(readImage(tif), 'UNSUPPORTED_IMAGE', /has 3 pages.*--first-frame/);
    const { image } = await readImage(tif, { frames: 'first' });
    expect([image.width, image.height]).toEqual([W, H]);
  });

  it('an APNG (acTL chunk, which libvips ignores) is refused too', async () => {
    const png = await sharp({ create: { width: W, height: H, channels: 3, background: '#336699' } }).png().toBuffer();
    // Splice an acTL chunk (num_frames 3, num_plays 0) right after IHDR: the still image that
    // libspng decodes stays the default (first) frame.
    const ihdrEnd = 8 + 12 + png.readUInt32BE(8);
    const actl = Buffer.alloc(20);
    actl.writeUInt32BE(8, 0);
    actl.write('acTL', 4, 'latin1');
    actl.writeUInt32BE(3, 8);
    actl.writeUInt32BE(0, 12);
    actl.writeUInt32BE(crc32(actl.subarray(4, 16)), 16);
    const apng = Buffer.concat([png.subarray(0, ihdrEnd), actl, png.subarray(ihdrEnd)]);
    await refused(readImage(apng), 'UNSUPPORTED_IMAGE', /animated \(3 frames\).*--first-frame/);
    const { image } = await readImage(apng, { frames: 'first' });
    expect(Array.from(image.data.subarray(0, 3))).toEqual([0x33, 0x66, 0x99]);
  });

  it('bad option values are INVALID_ARGUMENT', async () => {
    const png = await sharp(rgba(true), { raw: { width: W, height: H, channels: 4 } }).png().toBuffer();
    await refused(readImage(png, { alpha: 'drop' as 'refuse' }), 'INVALID_ARGUMENT', /alpha/);
    await refused(readImage(png, { frames: 'all' as 'first' }), 'INVALID_ARGUMENT', /frames/);
  });
});

describe('pixel limit', () => {
  it('the default is 100 MP', () => {
    expect(DEFAULT_MAX_PIXELS).toBe(100e6);
  });

  it('over maxPixels: refused with the size, the limit and the --max-megapixels that would pass', async () => {
    const f = join(dir, 'wide.jpg');
    await sharp({ create: { width: 2000, height: 1500, channels: 3, background: '#808080' } }).jpeg().toFile(f);
    const e = await refused(readImage(f, { maxPixels: 2e6 }), 'IMAGE_TOO_LARGE', /wide\.jpg.*2000×1500 \(3\.0 MP\), over the 2\.0 MP limit/);
    expect(e.message).toMatch(/pass --max-megapixels 3 to encode it \(needs about [\d.]+ GB of memory\)/);
    expect(e.message).not.toMatch(/raise the limit/);
    // The suggested value really is enough.
    const { image } = await readImage(f, { maxPixels: 3 * 1e6 });
    expect(image.width).toBe(2000);
  });

  it('a fractional size rounds the suggestion up', async () => {
    const png = await sharp({ create: { width: 1001, height: 1000, channels: 3, background: '#808080' } }).png().toBuffer();
    await refused(readImage(png, { maxPixels: 1e6 }), 'IMAGE_TOO_LARGE', /--max-megapixels 2 /);
  });
});

/** PNG chunk CRC (zlib CRC-32), so the spliced chunk is valid for any strict reader. */
function crc32(b: Uint8Array): number {
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
