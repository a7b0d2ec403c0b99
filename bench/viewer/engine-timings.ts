/**
 * The viewer's times through the engine service exactly as the app drives it (createEngineService:
 * invoke 'viewer:open' and 'viewer:original', pixels 'viewer-preview' and 'viewer-tile'), each
 * measure from cold caches:
 * a fresh engine for the tile measures (its decoder process started on a small other file first,
 * as when a user opens a second photo), viewer:close between the first-pixels repetitions.
 * Pixels count as shown once sharp has decoded the bytes the engine answered.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PQueue from 'p-queue';
import sharp from 'sharp';
import { createEngineService, type EngineService } from '../../src/engine';
import { invoke, type InvokeName, type PixelReq, type PixelRoute, type Req, type Res } from '../../src/ipc/contract';
import { levelForZoom, tilesFor } from '../../src/ipc/viewer-tiles';
import { cpuMsBetween, cpuNow } from './cpu';

/** As many tile requests in flight as the renderer keeps. */
export const TILE_CONCURRENCY = 4;
export const SCREEN = { width: 1920, height: 1080 } as const;

interface Engine {
  call<K extends InvokeName>(name: K, req: Req<K>): Promise<Res<K>>;
  pixels<K extends PixelRoute>(route: K, req: PixelReq<K>): Promise<{ bytes: Uint8Array; mime: string }>;
}

/** A fresh engine service for one measure, shut down after it; its log is printed when the measure fails. */
async function withEngine<T>(version: string, f: (e: Engine) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sgai-bench-viewer-'));
  const logs: string[] = [];
  const svc: EngineService = await createEngineService({ dataDir, transport: 'browser', version, emit: () => undefined, log: (l) => void logs.push(l) });
  const e: Engine = {
    async call(name, req) {
      const r = await svc.invoke(invoke[name].channel, req);
      if (!r.ok) throw new Error(`${invoke[name].channel}: ${r.error.code}: ${r.error.message}`);
      return r.value as never;
    },
    async pixels(route, req) {
      const r = await svc.pixels(route, req);
      if (!r.ok) throw new Error(`pixels ${route} ${JSON.stringify(req)}: ${r.error.code}: ${r.error.message}`);
      return { bytes: r.bytes, mime: r.mime };
    },
  };
  try {
    return await f(e);
  } catch (err) {
    if (logs.length) console.error(`engine log:\n  ${logs.join('\n  ')}`);
    throw err;
  } finally {
    await svc.shutdown();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const shown = (bytes: Uint8Array) => sharp(bytes).raw().toBuffer();

export interface FirstPixels {
  /** The very first open in a fresh engine (its lazy imports and model registry read included). */
  firstOpenMs: number;
  /** viewer:open + preview bytes + preview decoded, per repetition after viewer:close. */
  repsMs: number[];
  /**
   * viewer:open to viewer:original answered (the original's SHA-256 checked), asked right after
   * open answers as the renderer asks, alongside the preview (median); it shares the engine's
   * thread with the preview, so first pixels include what the hashing takes from them.
   */
  originalConfirmedMedianMs: number;
  medianMs: number;
  /** CPU time of the same, this process and the engine's children (median). */
  cpuMedianMs: number;
  openMedianMs: number;
  previewMedianMs: number;
  preview: { bytes: number; mime: string; width: number; height: number };
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function firstPixels(version: string, path: string, reps: number): Promise<FirstPixels> {
  return withEngine(version, async (e) => {
    const once = async () => {
      const c0 = cpuNow();
      const t0 = performance.now();
      await e.call('viewerOpen', { path });
      const t1 = performance.now();
      const confirmed = e.call('viewerOriginal', { path }).then((r) => ({ ms: performance.now() - t0, found: r.original !== null }));
      confirmed.catch(() => undefined); // awaited below, after the preview: a failure is thrown there, not as an unhandled rejection
      const p = await e.pixels('viewer-preview', { path });
      const t2 = performance.now();
      const raw = await sharp(p.bytes).metadata();
      await shown(p.bytes);
      const t3 = performance.now();
      const cpu = cpuMsBetween(c0, cpuNow());
      const original = await confirmed;
      // The bench photo's original lies beside it: a lookup that found nothing measured nothing.
      if (!original.found) throw new Error(`viewer:original found no original for ${path}, so "original confirmed" cannot be timed; is the original still beside it?`);
      await e.call('viewerClose', { path });
      return { total: t3 - t0, cpu, open: t1 - t0, preview: t2 - t1, original: original.ms, p, raw };
    };
    const first = await once();
    const runs = [];
    for (let i = 0; i < reps; i++) runs.push(await once());
    return {
      firstOpenMs: first.total,
      repsMs: runs.map((r) => r.total),
      medianMs: median(runs.map((r) => r.total)),
      originalConfirmedMedianMs: median(runs.map((r) => r.original)),
      cpuMedianMs: median(runs.map((r) => r.cpu)),
      openMedianMs: median(runs.map((r) => r.open)),
      previewMedianMs: median(runs.map((r) => r.preview)),
      preview: { bytes: first.p.bytes.length, mime: first.p.mime, width: first.raw.width ?? 0, height: first.raw.height ?? 0 },
    };
  });
}

export interface ViewTiming {
  view: { x: number; y: number; width: number; height: number };
  zoom: number;
  level: number;
  tiles: number;
  /** From the viewer:open call: the preview shown, the first tile shown, every tile shown. */
  previewShownMs: number;
  firstTileMs: number;
  allTilesMs: number;
  /** From the first tile request to the last tile shown. */
  tilesOnlyMs: number;
  /** CPU time from the viewer:open call to the last tile shown: this process and the decoder process. */
  cpuMs: number;
  tileBytes: number;
  /** Opening a small other file and decoding its first tile in the fresh engine: the decoder's start. */
  decoderStartMs: number;
}

/** Opens `path` in a fresh engine (decoder already started on `warmUp`) and shows every tile of `level` over `view`. */
async function timeView(version: string, path: string, warmUp: string, view: ViewTiming['view'], zoom: number): Promise<ViewTiming> {
  return withEngine(version, async (e) => {
    const s = performance.now();
    await e.call('viewerOpen', { path: warmUp });
    await shown((await e.pixels('viewer-tile', { path: warmUp, layer: 'sgai', level: 0, tx: 0, ty: 0 })).bytes);
    const decoderStartMs = performance.now() - s;
    await e.call('viewerClose', { path: warmUp });

    const c0 = cpuNow();
    const t0 = performance.now();
    const info = await e.call('viewerOpen', { path });
    const level = levelForZoom(zoom, info.width, info.height);
    const tiles = tilesFor(info.width, info.height, level, view);
    let previewShownMs = 0;
    let firstTileMs = 0;
    let tileBytes = 0;
    const preview = e.pixels('viewer-preview', { path }).then(async (p) => {
      await shown(p.bytes);
      previewShownMs = performance.now() - t0;
    });
    const queue = new PQueue({ concurrency: TILE_CONCURRENCY });
    const tStart = performance.now();
    await Promise.all([preview, ...tiles.map((t) => queue.add(async () => {
      const p = await e.pixels('viewer-tile', { path, layer: 'sgai', level, tx: t.tx, ty: t.ty });
      await shown(p.bytes);
      tileBytes += p.bytes.length;
      firstTileMs ||= performance.now() - t0;
    }))]);
    const end = performance.now();
    const cpuMs = cpuMsBetween(c0, cpuNow());
    return { view, zoom, level, tiles: tiles.length, previewShownMs, firstTileMs, allTilesMs: end - t0, tilesOnlyMs: end - tStart, cpuMs, tileBytes, decoderStartMs };
  });
}

/** Fit on a 1920×1080 screen shows the whole image: every tile of the fit zoom's level. */
export function fullScreenView(version: string, path: string, warmUp: string, width: number, height: number): Promise<ViewTiming> {
  const zoom = Math.min(SCREEN.width / width, SCREEN.height / height);
  return timeView(version, path, warmUp, { x: 0, y: 0, width, height }, zoom);
}

/** 100 %: the level-0 tiles under a 1920×1080 screen centred on the image. */
export function hundredPercentView(version: string, path: string, warmUp: string, width: number, height: number): Promise<ViewTiming> {
  const view = {
    x: Math.max(0, Math.round((width - SCREEN.width) / 2)), y: Math.max(0, Math.round((height - SCREEN.height) / 2)),
    width: Math.min(width, SCREEN.width), height: Math.min(height, SCREEN.height),
  };
  return timeView(version, path, warmUp, view, 1);
}
