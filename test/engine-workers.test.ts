/**
 * The batch engine with real encoder processes: outputs byte-identical whatever the number of
 * workers (and equal to encoding in-process), the interactive lane going before waiting batch
 * photos, pause/resume, and cancel leaving nothing behind. Workers are real child processes
 * running the test model on small generated photos.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, type RefineOptions, resolveModel, verifySgai } from '../src/core';
import {
  type BatchEvent, chooseWorkers, type EncodeRequest, EncoderPool, type EncodeSettings, MANIFEST_DIR, memoryBudgetBytes, planBatch, readManifest,
  readWorkerLogs, runBatch, workersFor,
} from '../src/engine';
import { makePhoto } from './engine-fixtures';
import { TEST_MODEL_ID, listFiles, tempDir } from './helpers';
import { expectOriginalsUnchanged, snapshotTree } from './helpers-originals';

/** In batch order (the plan sorts folder by folder). */
const PHOTOS = ['5.tif', '6 ü.jpg', 'a/1.jpg', 'a/2.png', 'b/3.jpg', 'b/c/4.webp'];
/** A refinement long enough (most of a second per photo here) to act while a photo is encoding. */
const SLOW = { method: 'ssl' as const, iterations: 8, seed: 7 };

const startedIds = (events: BatchEvent[]) => events.flatMap((e) => (e.type === 'job:state' && e.state === 'running' ? [e.id] : []));
const outputs = (dir: string) => listFiles(dir).filter((f) => !f.startsWith(MANIFEST_DIR));

describe('encoder processes', () => {
  let lib: string;
  let settings: EncodeSettings;
  const pools: EncoderPool[] = [];
  beforeAll(async () => {
    await initBackend('wasm');
    lib = tempDir('sgai-workers-');
    for (const [i, rel] of PHOTOS.entries()) await makePhoto(join(lib, rel), { w: 96 + 32 * i, h: 80 + 16 * i, seed: i });
    settings = { model: resolveModel({ model: TEST_MODEL_ID }) };
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });
  const newPool = (workers: number) => {
    const p = new EncoderPool({ workers, model: settings.model, backend: 'wasm' });
    pools.push(p);
    return p;
  };

  async function batch(out: string, opts: { workers?: number; pool?: EncoderPool; signal?: AbortSignal; refine?: RefineOptions; onEvent?: (e: BatchEvent) => void } = {}) {
    const events: BatchEvent[] = [];
    const plan = await planBatch({ inputs: [lib], outRoot: out, preset: TEST_MODEL_ID });
    const summary = await runBatch(plan, {
      settings: { ...settings, refine: opts.refine }, workers: opts.workers, pool: opts.pool, backend: 'wasm', signal: opts.signal,
      onEvent: (e) => {
        events.push(e);
        opts.onEvent?.(e);
      },
    });
    return { summary, events };
  }

  it('1 worker, 2 workers and in-process give byte-identical files; each worker logs its encodes', async () => {
    const before = snapshotTree(lib);
    const inProc = tempDir('sgai-w0-');
    const one = tempDir('sgai-w1-');
    const two = tempDir('sgai-w2-');
    const refine = { ...SLOW, iterations: 2 }; // the refinement's seeded noise must not depend on the process either
    const r0 = await batch(inProc, { workers: 0, refine });
    const r1 = await batch(one, { workers: 1, refine });
    const r2 = await batch(two, { workers: 2, refine });
    for (const r of [r0, r1, r2]) expect(r.summary).toMatchObject({ total: 6, done: 6, encoded: 6, failed: 0, cancelled: false });
    expect([r0.summary.workers, r1.summary.workers, r2.summary.workers]).toEqual([0, 1, 2]);

    const want = outputs(inProc);
    expect(want.length).toBe(6);
    expect(outputs(one)).toEqual(want);
    expect(outputs(two)).toEqual(want);
    for (const f of want) {
      verifySgai(readFileSync(join(inProc, f)));
      expect(readFileSync(join(one, f)).equals(readFileSync(join(inProc, f))), `${f}, 1 worker`).toBe(true);
      expect(readFileSync(join(two, f)).equals(readFileSync(join(inProc, f))), `${f}, 2 workers`).toBe(true);
    }

    // Two processes really shared the work, each loading the model once and logging every photo.
    const ready = r2.events.filter((e) => e.type === 'worker:ready');
    expect(new Set(ready.map((e) => (e as { pid: number }).pid)).size).toBe(2);
    const logs = readWorkerLogs(join(two, MANIFEST_DIR));
    expect(logs.filter((l) => l.event === 'start').map((l) => l.source).sort()).toEqual([...PHOTOS].sort());
    expect(logs.filter((l) => l.event === 'finish').map((l) => l.source).sort()).toEqual([...PHOTOS].sort());
    expect(new Set(logs.map((l) => l.slot))).toEqual(new Set([0, 1]));
    expect(readWorkerLogs(join(inProc, MANIFEST_DIR))).toEqual([]); // no worker, no worker log
    expectOriginalsUnchanged(lib, before);

    // Resumed with workers: nothing is encoded again, and no process is even started.
    const again = await batch(two, { workers: 2, refine });
    expect(again.summary).toMatchObject({ done: 6, resumed: 6, encoded: 0 });
    expect(again.events.some((e) => e.type === 'worker:ready')).toBe(false);
  });

  it('an interactive request goes before batch requests that are waiting', async () => {
    const pool = newPool(1);
    await pool.warmUp();
    const order: string[] = [];
    const req = (rel: string): EncodeRequest => ({ source: join(lib, rel), label: rel, options: { refine: SLOW } });
    let firstStarted!: () => void;
    const started = new Promise<void>((resolve) => (firstStarted = resolve));
    const batchJobs = PHOTOS.slice(0, 4).map((rel, i) => pool.submit(req(rel), {
      lane: 'batch',
      onStart: () => {
        order.push(rel);
        if (i === 0) firstStarted();
      },
    }));
    await started;
    // One batch photo encodes, three wait; the viewer asks for another photo.
    expect(pool.waiting).toBe(3);
    const viewed = await pool.submit(req(PHOTOS[5]), { lane: 'interactive', onStart: () => order.push(PHOTOS[5]) });
    expect(viewed.stats.modelId).toBe(TEST_MODEL_ID);
    await Promise.all(batchJobs);
    expect(order).toEqual([PHOTOS[0], PHOTOS[5], ...PHOTOS.slice(1, 4)]);
  });

  it('pause: no new photo starts, the running one finishes; resume: the batch completes', async () => {
    const pool = newPool(1);
    const out = tempDir('sgai-pause-');
    let pausedAt = 0;
    let resumedAt = Infinity;
    let resumeScheduled = false;
    const log: { t: number; e: BatchEvent }[] = [];
    const r = await batch(out, {
      pool, refine: SLOW,
      onEvent: (e) => {
        log.push({ t: performance.now(), e });
        if (e.type === 'job:state' && e.state === 'running' && !pausedAt) {
          pool.pause();
          pausedAt = performance.now();
        }
        // Once the photo that was running is done, stay paused a while longer, then resume.
        if (e.type === 'job:state' && e.state === 'done' && !resumeScheduled) {
          resumeScheduled = true;
          setTimeout(() => {
            resumedAt = performance.now();
            pool.resume();
          }, 1500);
        }
      },
    });
    expect(r.summary).toMatchObject({ done: 6, failed: 0, cancelled: false });
    const during = log.filter(({ t }) => t > pausedAt && t < resumedAt).map(({ e }) => e);
    // Exactly one photo ran while paused (the one already running), and nothing new started.
    expect(startedIds(during)).toEqual([]);
    expect(during.filter((e) => e.type === 'job:state' && e.state === 'done').length).toBe(1);
    expect(log.map(({ e }) => e).filter((e) => e.type === 'queue:state')).toEqual([
      { type: 'queue:state', paused: true }, { type: 'queue:state', paused: false },
    ]);
  });

  it('cancel mid-photo: nothing partial is left, the worker stays up, and a re-run does only the rest', async () => {
    const before = snapshotTree(lib);
    const out = tempDir('sgai-cancel-');
    const ctrl = new AbortController();
    const pool = newPool(1);
    let cancelledOn = '';
    const cut = await batch(out, {
      pool, refine: SLOW, signal: ctrl.signal,
      onEvent: (e) => {
        // Abort in the middle of the second photo's refinement.
        if (e.type === 'job:progress' && e.id === PHOTOS[1] && e.stage === 'refine' && e.done >= 3 && !cancelledOn) {
          cancelledOn = e.id;
          ctrl.abort();
        }
      },
    });
    expect(cancelledOn).toBe(PHOTOS[1]);
    expect(cut.summary.cancelled).toBe(true);
    const states = Object.fromEntries(cut.events.flatMap((e) => (e.type === 'job:state' && e.state !== 'running' ? [[e.id, e.state]] : [])));
    expect(states[PHOTOS[0]]).toBe('done');
    expect(states[PHOTOS[1]]).toBe('cancelled');
    expect(startedIds(cut.events)).toEqual(PHOTOS.slice(0, 2)); // nothing after the cancel started
    const left = listFiles(out);
    expect(left.filter((f) => /sgai-tmp/.test(f))).toEqual([]);
    expect(existsSync(join(out, '6 ü.sgai'))).toBe(false);
    const m = await readManifest(out);
    expect(m.badLines).toBe(0);
    expect(m.records.filter((r) => r.source === PHOTOS[1]).map((r) => r.state)).toEqual(['started']);
    const logs = readWorkerLogs(join(out, MANIFEST_DIR));
    expect(logs.filter((l) => l.source === PHOTOS[1]).map((l) => l.event)).toEqual(['start', 'cancel']);
    // The process stopped the photo itself and is still there for the next one.
    const [slot] = pool.workers();
    expect(slot.state).toBe('idle');
    expect(cut.events.some((e) => e.type === 'worker:lost')).toBe(false);
    const pid = slot.pid;

    const rest = await batch(out, { pool, refine: SLOW });
    expect(rest.summary).toMatchObject({ done: 6, resumed: 1, encoded: 5, cancelled: false });
    expect(startedIds(rest.events)).not.toContain(PHOTOS[0]);
    expect(pool.workers()[0].pid).toBe(pid);
    expect(outputs(out).length).toBe(6);
    expectOriginalsUnchanged(lib, before);
  });

  it('the automatic number of workers: one per core, fewer when the largest photo needs more memory', async () => {
    const GB = 1e9;
    // core's estimate: ~0.8 GB per process plus ~25 B per pixel; a 24 MP photo needs ~1.4 GB.
    expect(workersFor({ cores: 8, budgetBytes: 16 * GB, largestPixels: 24e6, photos: 1000 })).toMatchObject({ workers: 8, limitedBy: 'cores' });
    expect(workersFor({ cores: 8, budgetBytes: 6 * GB, largestPixels: 24e6, photos: 1000 })).toMatchObject({ workers: 4, limitedBy: 'memory' });
    expect(workersFor({ cores: 8, budgetBytes: 6 * GB, largestPixels: 24e6, largestBitDepth: 16, photos: 1000 }).workers).toBe(3);
    expect(workersFor({ cores: 8, budgetBytes: 0.5 * GB, largestPixels: 100e6, photos: 1000 })).toMatchObject({ workers: 1, limitedBy: 'memory' });
    expect(workersFor({ cores: 8, budgetBytes: 16 * GB, largestPixels: 1e6, photos: 3 })).toMatchObject({ workers: 3, limitedBy: 'photos' });
    expect(memoryBudgetBytes(32 * GB, 4 * GB)).toBeCloseTo(3.6 * GB);
    expect(memoryBudgetBytes(8 * GB, 8 * GB)).toBe(6 * GB);

    // On a real plan: the photos' headers give the largest; photos already done do not count.
    const out = tempDir('sgai-size-');
    const plan = await planBatch({ inputs: [lib], outRoot: out, preset: TEST_MODEL_ID });
    const largest = (96 + 32 * 5) * (80 + 16 * 5);
    expect(await chooseWorkers(plan, { cores: 64, budgetBytes: 1e12 })).toMatchObject({ workers: 6, limitedBy: 'photos', largestMegapixels: largest / 1e6 });
    await batch(out, { workers: 0 });
    const again = await planBatch({ inputs: [lib], outRoot: out, preset: TEST_MODEL_ID });
    expect(await chooseWorkers(again, { cores: 64, budgetBytes: 1e12 })).toMatchObject({ workers: 1, limitedBy: 'photos', largestMegapixels: 0 });
  });

  it('a request cancelled while it waits never reaches a worker', async () => {
    const pool = newPool(1);
    pool.pause();
    const ctrl = new AbortController();
    let started = false;
    const p = pool.submit({ source: join(lib, PHOTOS[0]), label: PHOTOS[0], options: {} }, { signal: ctrl.signal, onStart: () => (started = true) });
    ctrl.abort();
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
    pool.resume();
    expect(started).toBe(false);
    expect(pool.workers()[0].state).toBe('stopped'); // never even spawned
  });
});
