/**
 * Damaged files, made with the real codec and the test model: what a plain decode does, what
 * --salvage recovers, what `sgai info` (inspectSgai) says, and the decoder's pixel limit.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/backend';
import { decode, type DecodeOptions, type DecodeResult } from '../src/core/codec';
import { encode } from '../src/core/codec';
import { SgaiError } from '../src/core/errors';
import { crc32, listChunks, type ChunkInfo } from '../src/core/format';
import { inspectSgai } from '../src/core/format/inspect';
import { formatInspection } from '../src/cli/info-view';
import { readImage } from '../src/core/image/read';
import type { RasterImage } from '../src/core/image/raster';
import { loadModelFromPath, type LoadedModel } from '../src/core/model/registry';
import { TEST_MODEL_PATH, kodim } from './helpers';

const W = 256;
const H = 192;
const TILE = 64; // 4 x 3 = 12 tiles
const EXIF = Uint8Array.of(0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 0);
const ICC = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);

let model: LoadedModel;
let source: RasterImage;
let good: Uint8Array;
let clean: DecodeResult;
let chunks: ChunkInfo[];

const chunk = (type: string, n = 0): ChunkInfo => chunks.filter((c) => c.type === type)[n];
/** A copy of the file with one bit flipped inside the payload of the given chunk. */
function flip(c: ChunkInfo, at = 0.5, bit = 2): Uint8Array {
  const b = good.slice();
  b[c.offset + 8 + Math.floor(c.length * at)] ^= 1 << bit;
  return b;
}
function fixCrc(b: Uint8Array, c: ChunkInfo): void {
  new DataView(b.buffer, b.byteOffset).setUint32(c.offset + 8 + c.length, crc32(b.subarray(c.offset, c.offset + 8 + c.length)), true);
}
async function failure(bytes: Uint8Array, opts: DecodeOptions = {}): Promise<SgaiError> {
  try {
    await decode(bytes, { model, ...opts });
  } catch (e) {
    if (e instanceof SgaiError) return e;
    throw e;
  }
  throw new Error('decode succeeded');
}
function psnr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return 10 * Math.log10((255 * 255) / (s / a.length));
}
function crop(img: RasterImage, x0: number, y0: number, w: number, h: number): number[] {
  const out: number[] = [];
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) for (let c = 0; c < 3; c++) out.push(img.data[(y * img.width + x) * 3 + c]);
  return out;
}

beforeAll(async () => {
  await initBackend('wasm');
  model = loadModelFromPath(TEST_MODEL_PATH);
  const { image } = await readImage(kodim(7));
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) data.set(image.data.subarray(((y + 200) * image.width + 300) * 3, ((y + 200) * image.width + 300 + W) * 3) as Uint8Array, y * W * 3);
  source = { width: W, height: H, bitDepth: 8, data };
  good = (await encode(source, { model, tileSize: TILE, metadata: { icc: ICC, exif: EXIF } })).bytes;
  chunks = listChunks(good).chunks;
  expect(chunks.map((c) => c.type)).toEqual(['HEAD', 'prev', 'iccp', 'exif', 'ZSTR', ...Array(12).fill('YTIL'), 'END ']);
  clean = await decode(good, { model });
  expect(clean.skipped).toEqual([]);
}, 60_000);

describe('a damaged preview', () => {
  it('is skipped by a plain decode; the pixels are unchanged', async () => {
    const bad = flip(chunk('prev'));
    const r = await decode(bad, { model });
    expect(r.skipped).toEqual([{ chunk: 'prev', reason: expect.stringMatching(/checksum mismatch/) }]);
    expect(r.image.data).toEqual(clean.image.data);
    expect(r.file.preview).toBeUndefined();
    const info = inspectSgai(bad);
    expect(info.decodable).toBe('yes');
    expect(info.summary).toBe('the preview chunk is damaged; the photo itself is intact');
    expect(info.chunks.map((c) => c.crcOk)).toEqual(chunks.map((c) => c.type !== 'prev'));
  });
});

describe.each([
  ['exif', 'EXIF'],
  ['iccp', 'ICC profile'],
])('a damaged %s chunk', (type, name) => {
  it('fails a plain decode naming the chunk and --salvage; salvage decodes the same pixels', async () => {
    const bad = flip(chunk(type));
    const e = await failure(bad);
    expect(e.code).toBe('CHECKSUM');
    expect(e.message).toBe(`checksum mismatch in chunk ${type}: the file is damaged; pass --salvage to decode what is intact`);
    const r = await decode(bad, { model, salvage: true });
    expect(r.image.data).toEqual(clean.image.data);
    expect(r.skipped).toEqual([{ chunk: type, reason: 'checksum mismatch' }]);
    expect(type === 'exif' ? r.file.exif : r.file.icc).toBeUndefined();
    const info = inspectSgai(bad);
    expect(info.decodable).toBe('salvage');
    expect(info.summary).toBe(`the ${name} chunk is damaged: \`sgai decode --salvage\` decodes the rest`);
    expect(info.chunks.filter((c) => !c.crcOk).map((c) => c.type)).toEqual([type]);
  });
});

describe('a damaged y tile', () => {
  const T = 5; // tx 1, ty 1: pixels [64, 128) x [64, 128)
  let bad: Uint8Array;
  let r: DecodeResult;
  beforeAll(async () => {
    bad = flip(chunk('YTIL', T));
    r = await decode(bad, { model, salvage: true });
  }, 30_000);

  it('fails a plain decode naming the tile and --salvage', async () => {
    const e = await failure(bad);
    expect(e.message).toBe('checksum mismatch in chunk YTIL #6: the file is damaged; pass --salvage to decode what is intact');
  });

  it('salvage: every other tile as before, the damaged one predicted (plausible, not noise)', () => {
    expect(r.skipped).toEqual([{ chunk: 'YTIL', tile: T, reason: 'checksum mismatch' }]);
    // g_s reads latents up to 2 positions (32 px) across a tile edge, so only the damaged tile
    // and a 32-px rim around it may change.
    const x0 = 64 - 32;
    const x1 = 128 + 32;
    let changedOutside = 0;
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        if (x >= x0 && x < x1 && y >= x0 && y < x1) continue;
        for (let c = 0; c < 3; c++) if (r.image.data[(y * W + x) * 3 + c] !== clean.image.data[(y * W + x) * 3 + c]) changedOutside++;
      }
    expect(changedOutside).toBe(0);
    const got = crop(r.image, 64, 64, 64, 64);
    expect(got).not.toEqual(crop(clean.image, 64, 64, 64, 64));
    const p = psnr(got, crop(source, 64, 64, 64, 64));
    // The untrained test model reaches about 23 dB on this tile; the prediction about 16,
    // a flat grey 13.7. Noise would be far below.
    expect(Number.isFinite(p)).toBe(true);
    expect(p).toBeGreaterThan(14.5);
  });

  it('inspect names the tile', () => {
    const info = inspectSgai(bad);
    expect(info.decodable).toBe('salvage');
    expect(info.summary).toBe("tile 6 of 12 is damaged: `sgai decode --salvage` decodes the rest, that tile is filled from the hyperprior's prediction");
    const bads = info.chunks.filter((c) => !c.crcOk);
    expect(bads).toHaveLength(1);
    expect(bads[0]).toMatchObject({ type: 'YTIL', label: 'YTIL #6', tile: T, required: true, problem: expect.stringMatching(/checksum/) });
    expect(formatInspection(info, { file: 'x.sgai' }).join('\n')).toMatch(/YTIL #6 .* crc BAD {2}tile 5 {2}checksum mismatch/);
  });

  it('a tile whose stream does not decode behind a valid checksum is predicted too', async () => {
    const c = chunk('YTIL', 2);
    const b = good.slice();
    for (let i = 4; i < c.length; i++) b[c.offset + 8 + i] = 0xff;
    fixCrc(b, c);
    const e = await failure(b);
    expect(e.message).toMatch(/y stream of tile 2 .*does not decode.*pass --salvage/);
    const s = await decode(b, { model, salvage: true });
    expect(s.skipped).toEqual([{ chunk: 'YTIL', tile: 2, reason: 'its stream does not decode' }]);
  });
});

describe('damage nothing can get past', () => {
  it.each(['HEAD', 'ZSTR'])('%s', async (type) => {
    const bad = flip(chunk(type), type === 'HEAD' ? 0.9 : 0.5);
    for (const salvage of [false, true]) {
      const e = await failure(bad, { salvage });
      expect(e.code).toBe('CHECKSUM');
      expect(e.message).toBe(`checksum mismatch in chunk ${type}: the file is damaged`);
    }
    const info = inspectSgai(bad);
    expect(info.decodable).toBe('no');
    expect(info.summary).toBe(type === 'HEAD' ? 'the header is damaged: nothing can be decoded' : 'the z stream (chunk ZSTR), which every tile needs, is damaged: nothing can be decoded');
    expect(info.header === undefined).toBe(type === 'HEAD');
    expect(info.chunks.map((c) => c.crcOk)).toEqual(chunks.map((c) => c.type !== type));
  });
});

describe('a truncated file', () => {
  it('inspect lists the chunks before the cut and says where it stops; salvage predicts the rest', async () => {
    const t = chunk('YTIL', 8);
    const cut = good.subarray(0, t.offset + 30);
    const info = inspectSgai(cut);
    expect(info.chunks.map((c) => c.offset)).toEqual(chunks.filter((c) => c.offset < t.offset).map((c) => c.offset));
    expect(info.chunks.every((c) => c.crcOk)).toBe(true);
    expect(info.stop).toEqual({ offset: t.offset, code: 'TRUNCATED', reason: `file is truncated (chunk YTIL #9 needs ${t.length + 12} bytes, 30 left)` });
    expect(info.decodable).toBe('salvage');
    expect(info.summary).toMatch(/^the file breaks off \(.*\); tiles 9-12 of 12 are missing: `sgai decode --salvage` decodes the rest, those 4 tiles are filled/);
    const e = await failure(cut);
    expect(e.code).toBe('TRUNCATED');
    expect(e.message).toMatch(/pass --salvage/);
    const r = await decode(cut, { model, salvage: true });
    expect(r.skipped.map((s) => [s.chunk, s.tile, s.lastTile])).toEqual([['tail', undefined, undefined], ['YTIL', 8, 11]]);
    // The top two tile rows (and the rim g_s shares with the third) are as before.
    expect(crop(r.image, 0, 0, W, 128 - 32)).toEqual(crop(clean.image, 0, 0, W, 128 - 32));
  });

  it('cut inside the header: nothing to decode, but inspect still answers', () => {
    const info = inspectSgai(good.subarray(0, 40));
    expect(info.chunks).toEqual([]);
    expect(info.stop?.code).toBe('TRUNCATED');
    expect(info.decodable).toBe('no');
    expect(inspectSgai(good.subarray(0, 5)).signature).toBe('truncated');
    expect(inspectSgai(new TextEncoder().encode('GIF89a not sgai')).signature).toBe('mismatch');
  });
});

describe('pixel limit', () => {
  /** The file with its header claiming 65535 x 65535 and a valid header checksum. */
  function huge(): Uint8Array {
    const b = good.slice();
    const head = chunk('HEAD');
    const dv = new DataView(b.buffer, b.byteOffset);
    const at = head.offset + 8 + 1 + b[head.offset + 8] + 32;
    dv.setUint32(at, 65535, true);
    dv.setUint32(at + 4, 65535, true);
    fixCrc(b, head);
    return b;
  }

  it('a 65535 x 65535 header is refused before anything is allocated', async () => {
    const b = huge();
    global.gc?.();
    const before = process.memoryUsage();
    for (const salvage of [false, true]) {
      const e = await failure(b, { salvage });
      expect(e.code).toBe('IMAGE_TOO_LARGE');
      expect(e.message).toMatch(/^65535x65535 is 4295 MP, over the 100 MP limit of this decoder; pass --max-megapixels 4295 to decode it \(needs about \d+ GB of memory\)$/);
    }
    const after = process.memoryUsage();
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(20e6);
    expect(after.rss - before.rss).toBeLessThan(100e6);
    // inspect describes it all the same
    const info = inspectSgai(b);
    expect(info.header?.width).toBe(65535);
    expect(info.decodable).toBe('salvage'); // 12 tiles of ~1M present
  });

  it('raising the limit turns it into a damage error, never an allocation crash', async () => {
    const b = huge();
    const e = await failure(b, { maxPixels: 65535 * 65535 });
    expect(e.code).toBe('CORRUPT');
    expect(e.message).toMatch(/only 12 of its 1048576 tiles are present/);
    const s = await failure(b, { maxPixels: 65535 * 65535, salvage: true });
    expect(s.code).toBe('CORRUPT');
    expect(s.message).toMatch(/z stream .*does not decode/);
  }, 30_000);

  it('a small limit refuses a normal file too, and a bad limit is an argument error', async () => {
    expect((await failure(good, { maxPixels: 40_000 })).message).toMatch(/^256x192 is 0\.05 MP, over the 0\.04 MP limit/);
    expect((await failure(good, { maxPixels: 0 })).code).toBe('INVALID_ARGUMENT');
    expect((await decode(good, { model, maxPixels: W * H })).image.width).toBe(W);
  });
});
