/**
 * What bounds a region decode, timed with core's building blocks in this process (the engine's
 * decoder process runs the same code): parsing the container, the z stream, h_s (the pinned
 * float64 hyper-synthesis that gives every y symbol its mean and scale), the y streams (rANS) of
 * the codec tiles the region needs with their halo, g_s on the fast engine, and the PNG encode of
 * the view tiles. Also the whole-image decodes, fast (what the viewer's tiles use) and exact (what
 * an export uses).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import {
  activeTransformEngine, decode, decodeLatents, decodeSgai, latentGrid, modelForFile, type RasterImage, synthesise,
} from '../../src/core';
// Internal helpers, for a split the public API does not expose: which codec tiles a region needs, and h_s alone.
import { tileLatentRect, tilesForRegion, tilesWithHalo, type Rect } from '../../src/core/latent-grid';
import { hyperSynthesisRegion } from '../../src/core/model/hyper-synthesis';
import { decodeZHat } from '../../src/core/pipeline/latent-coding';
import { tileRect } from '../../src/ipc/viewer-tiles';

/** Wall and CPU time of one step (CPU: this process's threads, ONNX Runtime's included). */
export interface Timing { wallMs: number; cpuMs: number }
const timed = async (f: () => unknown): Promise<Timing> => {
  const c = process.cpuUsage();
  const t = performance.now();
  await f();
  const wallMs = performance.now() - t;
  const u = process.cpuUsage(c);
  return { wallMs, cpuMs: (u.user + u.system) / 1000 };
};
const sum = (...t: Timing[]): Timing => ({ wallMs: t.reduce((a, b) => a + b.wallMs, 0), cpuMs: t.reduce((a, b) => a + b.cpuMs, 0) });
const minus = (a: Timing, ...b: Timing[]): Timing => ({
  wallMs: Math.max(0, a.wallMs - b.reduce((s, x) => s + x.wallMs, 0)), cpuMs: Math.max(0, a.cpuMs - b.reduce((s, x) => s + x.cpuMs, 0)),
});

export interface RegionSplit {
  /** The union of the view tiles, in image pixels: what the engine decodes for them. */
  region: Rect;
  codecTiles: number;
  /** Codec tiles entropy-decoded: the region's plus the halo g_s reads. */
  codecTilesWithHalo: number;
  parse: Timing;
  z: Timing;
  /** h_s for the latent rows and columns the needed tiles span, in the decoder's 2048-px bands. */
  hyperSynthesis: Timing;
  /** The entropy decode less z and h_s (timed apart, so on a busy machine this difference is rough): the y streams' rANS. */
  yRans: Timing;
  /** z + h_s + rANS as one call (decodeLatents). */
  entropy: Timing;
  synthesis: Timing;
  synthesisEngine: string;
  png: Timing;
  total: Timing;
}

/** The core-level cost of the level-0 view tiles `tiles` (tx, ty), from a cold start (nothing cached). */
export async function regionSplit(bytes: Uint8Array, tiles: Array<{ tx: number; ty: number }>): Promise<RegionSplit> {
  let file = decodeSgai(bytes);
  const parse = await timed(() => { file = decodeSgai(bytes); });
  const h = file.header;
  const rects = tiles.map((t) => tileRect(h.width, h.height, 0, t.tx, t.ty)!);
  const x0 = Math.min(...rects.map((r) => r.x));
  const y0 = Math.min(...rects.map((r) => r.y));
  const region: Rect = {
    x: x0, y: y0,
    width: Math.max(...rects.map((r) => r.x + r.width)) - x0,
    height: Math.max(...rects.map((r) => r.y + r.height)) - y0,
  };
  const model = modelForFile(file);
  const w = model.weights;
  const g = latentGrid(h.width, h.height, h.tileSize);
  const own = tilesForRegion(g, region);
  const needed = tilesWithHalo(g, own);

  let zHat: Float64Array = new Float64Array();
  const z = await timed(() => { zHat = decodeZHat(w, file.zStream, g); });
  const hyperSynthesis = await timed(() => hyperSynthesisBands(w, zHat, g, needed));
  let yHat: Float32Array = new Float32Array();
  const entropy = await timed(() => { yHat = decodeLatents(w, file.zStream, file.yStreams, g, needed); });

  const out: RasterImage = { width: region.width, height: region.height, bitDepth: 8, data: new Uint8Array(region.width * region.height * 3) };
  const engine = activeTransformEngine();
  const synthesis = await timed(() => synthesise(w, yHat, g, own, region, out, undefined, undefined, engine));

  const png = await timed(async () => {
    for (const r of rects) {
      const px = Buffer.alloc(r.width * r.height * 3);
      for (let y = 0; y < r.height; y++) {
        const from = ((r.y - region.y + y) * region.width + (r.x - region.x)) * 3;
        px.set(out.data.subarray(from, from + r.width * 3) as Uint8Array, y * r.width * 3);
      }
      await sharp(px, { raw: { width: r.width, height: r.height, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
    }
  });
  return {
    region, codecTiles: own.length, codecTilesWithHalo: needed.length, parse, z, hyperSynthesis,
    yRans: minus(entropy, z, hyperSynthesis), entropy, synthesis, synthesisEngine: engine, png,
    total: sum(parse, entropy, synthesis, png),
  };
}

/**
 * h_s alone over the same latent rectangles the decoder computes: bands of whole tile rows
 * (2048 px high, as core's HyperBands) across the needed tiles' columns.
 */
function hyperSynthesisBands(w: ReturnType<typeof modelForFile>['weights'], zHat: Float64Array, g: ReturnType<typeof latentGrid>, tiles: number[]): void {
  const cols = tiles.map((t) => t % g.tilesX);
  const rows = [...new Set(tiles.map((t) => Math.floor(t / g.tilesX)))].sort((a, b) => a - b);
  const tx0 = Math.min(...cols);
  const tx1 = Math.max(...cols);
  const perBand = Math.max(1, Math.floor(2048 / g.tileSize));
  let next = 0;
  for (const ty of rows) {
    if (ty < next) continue;
    const ty1 = Math.min(g.tilesY, ty + perBand);
    const first = tileLatentRect(g, ty * g.tilesX + tx0);
    const last = tileLatentRect(g, (ty1 - 1) * g.tilesX + tx1);
    hyperSynthesisRegion(w.hS, zHat, g.zh, g.zw, w.N, w.M, first.y, first.x, last.y + last.height - first.y, last.x + last.width - first.x);
    next = ty1;
  }
}

export interface FullDecode {
  fast: Timing;
  fastEngine: string;
  exact: Timing;
}

/** The whole image, as `sgai decode --fast` (the viewer's path) and as `sgai decode` (exact, the export's path). */
export async function fullDecode(bytes: Uint8Array): Promise<FullDecode> {
  let fastEngine = '';
  const fast = await timed(async () => { fastEngine = (await decode(bytes, { exact: false })).synthesis; });
  const exact = await timed(() => decode(bytes, { exact: true }));
  return { fast, fastEngine, exact };
}

export interface OpenParts {
  /** Reading the .sgai and checking every chunk's CRC (what viewer:open does first). */
  readAndParse: Timing;
  /** SHA-256 of the original beside it, streamed: how the lookup behind viewer:original confirms it is the photo the file was made from. */
  originalHash: Timing;
  originalBytes: number;
}

/** The biggest part of viewer:open and of viewer:original's lookup, timed alone (the open also reads EXIF, the ICC name and the folder). */
export async function openParts(sgaiPath: string, originalPath: string): Promise<OpenParts> {
  const readAndParse = await timed(async () => decodeSgai(await readFile(sgaiPath)));
  let originalBytes = 0;
  const originalHash = await timed(() => new Promise<void>((res, rej) => {
    const h = createHash('sha256');
    createReadStream(originalPath)
      .on('data', (d) => { h.update(d); originalBytes += d.length; })
      .on('error', rej)
      .on('end', () => { h.digest(); res(); });
  }));
  return { readAndParse, originalHash, originalBytes };
}
