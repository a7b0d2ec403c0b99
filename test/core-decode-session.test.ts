/**
 * A decode session (core's openDecodeSession): z once, each y tile once, any rectangle after
 * that. Its regions, asked for in any order and overlapping, must be byte-identical to
 * decode({ region }) of the same rectangle and to that crop of a full decode, on the exact path
 * (wasm g_s) and the fast one (ort). A real photo (the shipped sample), real weights.
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decode, decodeSgai, encode, initBackend, loadModelFromPath, openDecodeSession, SgaiError,
  type LoadedModel, type RasterImage, type Rect,
} from '../src/core';
import { ROOT, TEST_MODEL_PATH } from './helpers';

const SAMPLE = `${ROOT}/resources/sample/mike-castro-demaria-94BUerwdFP8-unsplash.jpg`;

function crop(img: RasterImage, r: Rect): Buffer {
  const px = img.data as Uint8Array;
  const out = Buffer.alloc(r.width * r.height * 3);
  for (let row = 0; row < r.height; row++) {
    const from = ((r.y + row) * img.width + r.x) * 3;
    out.set(px.subarray(from, from + r.width * 3), row * r.width * 3);
  }
  return out;
}
const bytesOf = (img: RasterImage) => Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);

describe('decode session', () => {
  let model: LoadedModel;
  let file: Uint8Array;
  // 300x230 (not a multiple of 64) in 64-px tiles: a 5x4 grid, so regions need some tiles and not others.
  const W = 300;
  const H = 230;
  // Overlapping, at edges and corners, one inside a single tile, one the whole image; in no particular order.
  const REGIONS: Rect[] = [
    { x: 70, y: 40, width: 100, height: 90 },
    { x: 0, y: 0, width: 20, height: 10 },
    { x: 120, y: 70, width: 180, height: 160 },
    { x: 260, y: 200, width: 40, height: 30 },
    { x: 66, y: 66, width: 50, height: 50 },
    { x: 0, y: 0, width: W, height: H },
    { x: 70, y: 40, width: 100, height: 90 },
  ];

  beforeAll(async () => {
    await initBackend('ort');
    model = loadModelFromPath(TEST_MODEL_PATH);
    const { data } = await sharp(SAMPLE).extract({ left: 100, top: 200, width: W, height: H }).raw().toBuffer({ resolveWithObject: true });
    file = (await encode({ width: W, height: H, bitDepth: 8, data: new Uint8Array(data) }, { model, tileSize: 64 })).bytes;
  });

  for (const exact of [true, false]) {
    it(`regions in any order equal decode({ region }) and the crop of a full decode (${exact ? 'exact: wasm' : 'fast: ort'})`, async () => {
      const full = (await decode(file, { model, exact })).image;
      const session = openDecodeSession(decodeSgai(file), { model, exact });
      expect(session.decodedTiles).toBe(0);
      for (const r of REGIONS) {
        const part = await session.region(r);
        expect([part.width, part.height, part.bitDepth]).toEqual([r.width, r.height, 8]);
        const alone = (await decode(file, { model, exact, region: r })).image;
        expect(bytesOf(part).equals(bytesOf(alone)), `region ${JSON.stringify(r)} vs decode({ region })`).toBe(true);
        expect(bytesOf(part).equals(crop(full, r)), `region ${JSON.stringify(r)} vs the full decode`).toBe(true);
      }
      expect(session.decodedTiles).toBe(20);
      session.dispose();
    });
  }

  it('decodes each tile once: a second region over decoded tiles decodes none, a first one only what it needs', async () => {
    const session = openDecodeSession(decodeSgai(file), { model });
    let seen: string[] = [];
    const onProgress = (stage: string, done: number, total: number) => seen.push(`${stage} ${done}/${total}`);
    await session.region({ x: 0, y: 0, width: 10, height: 10 }, { onProgress });
    // Tile 0 and its halo neighbours (1, 5, 6), then tile 0 synthesised: one total for the region.
    expect(session.decodedTiles).toBe(4);
    expect(seen).toEqual(['entropy 1/5', 'entropy 2/5', 'entropy 3/5', 'entropy 4/5', 'synthesis 5/5']);
    seen = [];
    await session.region({ x: 5, y: 5, width: 50, height: 50 }, { onProgress });
    expect(seen).toEqual(['synthesis 1/1']);
    expect(session.decodedTiles).toBe(4);
  });

  it('16-bit regions and overrides of exact per region match decode()', async () => {
    const session = openDecodeSession(decodeSgai(file), { model, exact: true });
    const r = { x: 30, y: 100, width: 150, height: 60 };
    const fast16 = await session.region(r, { exact: false, bitDepth: 16 });
    const want = (await decode(file, { model, exact: false, bitDepth: 16, region: r })).image;
    expect(fast16.bitDepth).toBe(16);
    expect(bytesOf(fast16).equals(bytesOf(want))).toBe(true);
  });

  it('calls that overlap in time give the same pixels as calls one after another', async () => {
    const session = openDecodeSession(decodeSgai(file), { model });
    const parts = await Promise.all(REGIONS.slice(0, 4).map((r) => session.region(r)));
    const full = (await decode(file, { model })).image;
    parts.forEach((p, i) => expect(bytesOf(p).equals(crop(full, REGIONS[i]))).toBe(true));
  });

  it('a cancelled region stops with CANCELLED, keeps the tiles it finished, and the session goes on', async () => {
    const session = openDecodeSession(decodeSgai(file), { model });
    const ctrl = new AbortController();
    let seen = 0;
    const run = session.region(undefined, {
      signal: ctrl.signal,
      onProgress: (stage, done) => {
        if (stage === 'entropy' && done === 3) ctrl.abort();
        seen++;
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(session.decodedTiles).toBe(3);
    expect(seen).toBe(3);
    const r = { x: 200, y: 150, width: 100, height: 80 };
    expect(bytesOf(await session.region(r)).equals(bytesOf((await decode(file, { model, region: r })).image))).toBe(true);
  });

  it('refuses what decode() refuses: a region outside the image, too many pixels, a closed session, damaged tiles', async () => {
    const session = openDecodeSession(decodeSgai(file), { model });
    await expect(session.region({ x: 250, y: 0, width: 60, height: 10 })).rejects.toThrow(/outside the 300x230 image/);
    expect(() => openDecodeSession(decodeSgai(file), { model, maxPixels: 1000 })).toThrow(SgaiError);
    session.dispose();
    await expect(session.region({ x: 0, y: 0, width: 1, height: 1 })).rejects.toThrow(/closed/);
    // Cut the file inside its y tiles: salvage parsing marks the rest missing; a session refuses it like decode().
    const cut = decodeSgai(file.subarray(0, Math.floor(file.length * 0.8)), { salvage: true });
    expect(cut.damagedTiles.length).toBeGreaterThan(0);
    expect(() => openDecodeSession(cut, { model })).toThrow(expect.objectContaining({ code: 'CORRUPT' }));
  });
});
