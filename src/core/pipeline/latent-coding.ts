/**
 * Entropy coding of the latents. z is coded with the model's factorized prior; y tile by tile
 * with the Gaussian conditional whose means and scales come from the pinned float64 h_s, so a
 * decoder on any machine and backend derives exactly the CDF indices the encoder used.
 */
import { SgaiError } from '../errors';
import { SALVAGE_HINT } from '../format/sgai';
import { buildFactorizedTable, factorizedLikelihood, medians } from '../entropy/factorized';
import { buildGaussianTable, codecScaleTable, gaussianLikelihood, scaleIndex } from '../entropy/gaussian';
import { idealCodeLengthBits, ransDecode, ransEncode, type CdfTable } from '../entropy/rans';
import { tileLatentRect, type LatentGrid, type Rect } from '../latent-grid';
import { hyperSynthesisRegion, type HyperOutput } from '../model/hyper-synthesis';
import type { HyperpriorWeights } from '../model/weights';
import type { Progress } from './transforms';

interface ModelTables {
  z: CdfTable;
  zMedians: Float64Array;
}
const tableCache = new WeakMap<HyperpriorWeights, ModelTables>();
const SCALE_TABLE = codecScaleTable();
let gaussianTable: CdfTable | null = null;

function tablesOf(w: HyperpriorWeights): ModelTables {
  let t = tableCache.get(w);
  if (!t) {
    t = { z: buildFactorizedTable(w.factorized), zMedians: medians(w.factorized) };
    tableCache.set(w, t);
  }
  return t;
}
function yTable(): CdfTable {
  return (gaussianTable ??= buildGaussianTable(SCALE_TABLE));
}

/** Round half to even, as torch.round does, so TS and the PyTorch reference choose alike. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function zIndexes(g: LatentGrid, n: number): Int32Array {
  const idx = new Int32Array(n * g.zh * g.zw);
  const plane = g.zh * g.zw;
  for (let c = 0; c < n; c++) idx.fill(c, c * plane, (c + 1) * plane);
  return idx;
}

/** Rows of tiles whose means/scales are computed together: the h_s halo is paid once per band. */
const BAND_PX = 2048;

/**
 * Means and scales of y for a set of tiles, computed band by band (whole rows of the needed
 * tiles, about 2048 px high) instead of tile by tile, so the 2-position z halo costs a few
 * percent instead of doubling the work for 512-px tiles. Results are bit-identical either way.
 */
class HyperBands {
  private band: (HyperOutput & Rect & { ty0: number; ty1: number }) | null = null;
  private readonly tx0: number;
  private readonly tx1: number;
  private readonly rowsPerBand: number;
  /** One past the last row of tiles asked for: a band never computes rows nobody needs. */
  private readonly tyEnd: number;
  constructor(private readonly w: HyperpriorWeights, private readonly zHat: Float64Array, private readonly g: LatentGrid, tiles: number[]) {
    const cols = tiles.map((t) => t % g.tilesX);
    this.tx0 = Math.min(...cols);
    this.tx1 = Math.max(...cols);
    this.tyEnd = Math.max(...tiles.map((t) => Math.floor(t / g.tilesX))) + 1;
    this.rowsPerBand = Math.max(1, Math.floor(BAND_PX / g.tileSize));
  }
  /** The band holding tile t, and where tile-local latent (row, col) sits in it. */
  forTile(t: number): { band: HyperOutput; at: (row: number, col: number) => number } {
    const ty = Math.floor(t / this.g.tilesX);
    if (!this.band || ty < this.band.ty0 || ty >= this.band.ty1) {
      const ty1 = Math.min(this.tyEnd, ty + this.rowsPerBand);
      const first = tileLatentRect(this.g, ty * this.g.tilesX + this.tx0);
      const last = tileLatentRect(this.g, (ty1 - 1) * this.g.tilesX + this.tx1);
      const rect = { x: first.x, y: first.y, width: last.x + last.width - first.x, height: last.y + last.height - first.y };
      const { N, M } = this.w;
      this.band = { ...hyperSynthesisRegion(this.w.hS, this.zHat, this.g.zh, this.g.zw, N, M, rect.y, rect.x, rect.height, rect.width), ...rect, ty0: ty, ty1 };
    }
    const b = this.band;
    const r = tileLatentRect(this.g, t);
    const M = this.w.M;
    return { band: b, at: (row, col) => ((r.y - b.y + row) * b.width + (r.x - b.x + col)) * M };
  }
}

export interface EncodedLatents {
  zStream: Uint8Array;
  yStreams: Uint8Array[];
  /** Quantized latents as decoded (HWC float32), for verification and synthesis. */
  yHat: Float32Array;
  /** Ideal code length (sum of -log2 likelihoods under the model), in bits; only when asked for. */
  idealBits?: { y: number; z: number };
  /** What the quantized coder tables spend on the same symbols (diagnostics: table vs model); only when asked for. */
  tableBits?: { y: number; z: number };
}

/** z^ (HWC float64) from coded symbols: symbols + median. */
function zHatFromSymbols(sym: Int32Array, g: LatentGrid, n: number, med: Float64Array): Float64Array {
  const zHat = new Float64Array(g.zh * g.zw * n);
  const plane = g.zh * g.zw;
  for (let c = 0; c < n; c++) for (let p = 0; p < plane; p++) zHat[p * n + c] = sym[c * plane + p] + med[c];
  return zHat;
}

export function encodeLatents(
  w: HyperpriorWeights, y: Float32Array, z: Float32Array, g: LatentGrid, onProgress?: Progress, signal?: AbortSignal, diagnostics = false,
): EncodedLatents {
  const { N, M } = w;
  const tables = tablesOf(w);
  const plane = g.zh * g.zw;
  const zSym = new Int32Array(N * plane);
  for (let c = 0; c < N; c++) for (let p = 0; p < plane; p++) zSym[c * plane + p] = roundHalfEven(z[p * N + c] - tables.zMedians[c]);
  const zIdx = zIndexes(g, N);
  const zStream = ransEncode(zSym, zIdx, tables.z);
  const zTableBits = diagnostics ? idealCodeLengthBits(zSym, zIdx, tables.z) : 0;
  let yTableBits = 0;
  const zHat = zHatFromSymbols(zSym, g, N, tables.zMedians);
  let zBits = 0;
  if (diagnostics) for (let c = 0; c < N; c++) for (let p = 0; p < plane; p++) zBits -= Math.log2(factorizedLikelihood(w.factorized, c, zHat[p * N + c]));

  const yHat = new Float32Array(y.length);
  const yStreams: Uint8Array[] = [];
  let yBits = 0;
  const total = g.tilesX * g.tilesY;
  const bands = new HyperBands(w, zHat, g, Array.from({ length: total }, (_, t) => t));
  for (let t = 0; t < total; t++) {
    if (signal?.aborted) throw new SgaiError('CANCELLED', 'cancelled');
    const r = tileLatentRect(g, t);
    const { band: hyper, at } = bands.forTile(t);
    const count = r.width * r.height * M;
    const sym = new Int32Array(count);
    const idx = new Int32Array(count);
    let k = 0;
    // Channel-major (c, h, w) order within the tile, as docs/format.md specifies.
    for (let c = 0; c < M; c++)
      for (let row = 0; row < r.height; row++)
        for (let col = 0; col < r.width; col++, k++) {
          const local = at(row, col) + c;
          const global = ((r.y + row) * g.yw + r.x + col) * M + c;
          const mu = hyper.means[local];
          const s = roundHalfEven(y[global] - mu);
          sym[k] = s;
          idx[k] = scaleIndex(hyper.scales[local], SCALE_TABLE);
          yHat[global] = s + mu;
          if (diagnostics) yBits -= Math.log2(gaussianLikelihood(s, hyper.scales[local]));
        }
    yStreams.push(ransEncode(sym, idx, yTable()));
    if (diagnostics) yTableBits += idealCodeLengthBits(sym, idx, yTable());
    onProgress?.('entropy', t + 1, total);
  }
  return { zStream, yStreams, yHat, ...(diagnostics && { idealBits: { y: yBits, z: zBits }, tableBits: { y: yTableBits, z: zTableBits } }) };
}

/**
 * The container already checked lengths and CRCs, so a stream that runs out or ends in the wrong
 * state is damaged (or was written with other weights), not truncated: say which one.
 */
function streamDecode(data: Uint8Array, indexes: Int32Array, table: CdfTable, what: string): Int32Array {
  try {
    return ransDecode(data, indexes, table);
  } catch (e) {
    if (e instanceof SgaiError && (e.code === 'TRUNCATED' || e.code === 'CORRUPT')) {
      throw new SgaiError('CORRUPT', `the file is damaged: ${what} does not decode (${e.message})`, { cause: e });
    }
    throw e;
  }
}

export interface LatentSalvage {
  /** Tiles known to be damaged or missing (their stream is not even tried). */
  damagedTiles?: ReadonlySet<number>;
  /** Also treat a tile whose stream does not decode as lost instead of failing. */
  salvage?: boolean;
  /** Called once per needed tile that was predicted instead of decoded because its stream failed. */
  onLostTile?: (tile: number, reason: string) => void;
}

/** z^ (HWC float64) from the z stream: whole-image work, done once per file (every tile's means and scales come from it). */
export function decodeZHat(w: HyperpriorWeights, zStream: Uint8Array, g: LatentGrid): Float64Array {
  const tables = tablesOf(w);
  const zSym = streamDecode(zStream, zIndexes(g, w.N), tables.z, 'the z stream (chunk ZSTR)');
  return zHatFromSymbols(zSym, g, w.N, tables.zMedians);
}

/**
 * Entropy-decodes y tiles one at a time into a caller's full-size y^ buffer, given z^. Built for
 * a set of tiles (the h_s bands span their columns), then asked for those tiles in any order;
 * a decode session keeps y^ and z^ between regions and decodes each tile once.
 */
export class YTileDecoder {
  private readonly bands: HyperBands;
  constructor(private readonly w: HyperpriorWeights, zHat: Float64Array, private readonly g: LatentGrid, tiles: number[], private readonly lost: LatentSalvage = {}) {
    this.bands = new HyperBands(w, zHat, g, tiles);
  }

  /** Writes tile t's y^ into yHat. A lost tile (see LatentSalvage) gets y^ = mu. */
  decodeTile(t: number, yStreams: Uint8Array[], yHat: Float32Array): void {
    const { M } = this.w;
    const g = this.g;
    const lost = this.lost;
    const r = tileLatentRect(g, t);
    const { band: hyper, at } = this.bands.forTile(t);
    let sym: Int32Array | null = null;
    if (!lost.damagedTiles?.has(t)) {
      const count = r.width * r.height * M;
      const idx = new Int32Array(count);
      let k = 0;
      for (let c = 0; c < M; c++)
        for (let row = 0; row < r.height; row++)
          for (let col = 0; col < r.width; col++, k++) idx[k] = scaleIndex(hyper.scales[at(row, col) + c], SCALE_TABLE);
      try {
        sym = streamDecode(yStreams[t], idx, yTable(), `the y stream of tile ${t} (chunk YTIL #${t + 1})`);
      } catch (e) {
        if (!(e instanceof SgaiError) || e.code !== 'CORRUPT') throw e;
        if (!lost.salvage) throw new SgaiError('CORRUPT', `${e.message}; ${SALVAGE_HINT}`, { cause: e.cause });
        lost.onLostTile?.(t, 'its stream does not decode');
      }
    }
    let k = 0;
    for (let c = 0; c < M; c++)
      for (let row = 0; row < r.height; row++)
        for (let col = 0; col < r.width; col++, k++) {
          yHat[((r.y + row) * g.yw + r.x + col) * M + c] = (sym ? sym[k] : 0) + hyper.means[at(row, col) + c];
        }
  }
}

/**
 * Decode z and the listed y tiles into a full-size y^ buffer (other tiles stay zero). A lost
 * tile (see LatentSalvage) gets y^ = mu, the hyperprior's predicted means: what an all-zero
 * symbol stream would give, so it comes out as a smooth plausible picture, not noise. The z
 * stream is never salvaged: every tile's means and scales come from it.
 */
export function decodeLatents(
  w: HyperpriorWeights, zStream: Uint8Array, yStreams: Uint8Array[], g: LatentGrid, tiles: number[],
  onProgress?: Progress, signal?: AbortSignal, lost: LatentSalvage = {},
): Float32Array {
  const zHat = decodeZHat(w, zStream, g);
  const yHat = new Float32Array(g.yh * g.yw * w.M);
  const decoder = new YTileDecoder(w, zHat, g, tiles, lost);
  tiles.forEach((t, i) => {
    if (signal?.aborted) throw new SgaiError('CANCELLED', 'cancelled');
    decoder.decodeTile(t, yStreams, yHat);
    onProgress?.('entropy', i + 1, tiles.length);
  });
  return yHat;
}
