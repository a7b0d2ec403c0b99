/**
 * The engine process dies mid-batch under `sgai app --browser` (SIGKILL, as an out-of-memory kill
 * would): the page hears engine:status lost, then ready; a fresh engine resumes the batch; the
 * photos finished before the crash are not encoded again (their files keep their bytes and mtime,
 * and the resumed batch reports them as resumed); every output decodes.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decode, initBackend } from '../src/core';
import { eventsPath } from '../src/ipc/http';
import type { BatchInfo, JobRow, LibraryFolder } from '../src/ipc/schemas';
import { type BrowserApp, startBrowserApp } from '../src/server/app-server';
import { invokeHttp, makeRendererDir, openEvents } from './app-helpers';
import { makePhoto } from './engine-fixtures';
import { alive, listFiles, tempDir } from './helpers';

const PHOTOS = ['a.jpg', 'b.jpg', 'c.jpg', 'trip/d.jpg', 'trip/e.jpg', 'trip/f.jpg'];
const W = 320;
const H = 240;

describe('sgai app --browser: the engine process dies mid-batch', () => {
  let app: BrowserApp | undefined;
  afterAll(async () => {
    await app?.close();
  });

  it('restarts it, resumes the batch, keeps the finished photos, and tells the page', async () => {
    const base = realpathSync(tempDir('sgai-app-restart-'));
    const root = join(base, 'home');
    const lib = join(root, 'Pictures');
    const out = join(root, 'Pictures (sgai)');
    for (const [i, rel] of PHOTOS.entries()) await makePhoto(join(lib, rel), { w: W, h: H, seed: i });
    const logs: string[] = [];
    app = await startBrowserApp({ folders: [], roots: [root], dataDir: tempDir('sgai-app-restart-data-'), rendererDir: makeRendererDir(), log: (l) => void logs.push(l) });
    const call = async <T>(name: string, req: unknown): Promise<T> => {
      const r = await invokeHttp(app!.port, app!.token, name, req);
      if (!r.json?.ok) throw new Error(`${name}: ${JSON.stringify(r.json)}`);
      return r.json.value as T;
    };
    const sse = await openEvents(app.port, eventsPath(app.token));

    // One encoder process, so photos finish one after another and the kill lands mid-batch.
    await call('settingsSet', { workers: 1 });
    const folder = await call<LibraryFolder>('libraryAdd', {
      path: lib,
      output: {
        destination: { kind: 'folder', path: out }, keepTree: true, template: '', conflict: 'unique', minSavingsPercent: 0, copyIfNoSavings: false,
        metadata: 'all', quality: { kind: 'preset', preset: 'balanced' }, effort: 'off', include: [], exclude: [], verify: false,
      },
    });
    await sse.until((e) => e.name === 'library:scan' && (e.data as { folderId: string; done: boolean }).folderId === folder.id && (e.data as { done: boolean }).done);
    const first = await call<BatchInfo>('jobsStart', { folderId: folder.id });

    const doneIn = (batchId: string) => sse.events.filter((e) => e.name === 'job:state' && (e.data as JobRow & { batchId: string }).batchId === batchId && (e.data as JobRow).state === 'done').map((e) => e.data as JobRow);
    await sse.until(() => doneIn(first.batchId).length >= 2);
    const pid = app.engine.pid!;
    process.kill(pid, 'SIGKILL');
    const finishedBefore = doneIn(first.batchId);
    expect(finishedBefore.length, 'the batch finished before the engine could be killed; use larger photos').toBeLessThan(PHOTOS.length);
    const before = new Map(finishedBefore.map((j) => [j.id, { mtimeMs: statSync(j.output!).mtimeMs, bytes: readFileSync(j.output!) }]));

    const lost = await sse.until((e) => e.name === 'engine:status' && (e.data as { state: string }).state === 'lost');
    expect((lost.data as { message: string }).message).toContain('SIGKILL');
    const ready = await sse.until((e) => e.name === 'engine:status' && (e.data as { state: string }).state === 'ready' && e.at >= lost.at);
    expect(ready.data).toMatchObject({ restarts: 1 });
    expect((ready.data as { message: string }).message).toContain(lib);
    expect(app.engine.pid).not.toBe(pid);
    expect(alive(pid)).toBe(false);

    const resumed = await sse.until((e) => e.name === 'batch:state' && (e.data as BatchInfo).resumedAfterRestart === true && (e.data as BatchInfo).state === 'done');
    const info = resumed.data as BatchInfo;
    expect(info.folderId).toBe(folder.id);
    expect(info.totals).toMatchObject({ total: PHOTOS.length, done: PHOTOS.length, failed: 0 });
    expect(info.totals.resumed).toBeGreaterThanOrEqual(finishedBefore.length);
    expect(info.totals.encoded).toBe(PHOTOS.length - info.totals.resumed);

    // The photos finished before the crash were not redone.
    const rows = doneIn(info.batchId);
    for (const [id, was] of before) {
      expect(rows.find((r) => r.id === id), id).toMatchObject({ resumed: true });
      const row = rows.find((r) => r.id === id)!;
      expect(statSync(row.output!).mtimeMs, id).toBe(was.mtimeMs);
      expect(readFileSync(row.output!).equals(was.bytes), id).toBe(true);
    }

    // Every photo has one output, nothing partial is left, and each decodes to the photo's size.
    const files = listFiles(out).filter((f) => !f.startsWith('.sgai-batch/'));
    expect(files).toEqual(PHOTOS.map((p) => p.replace(/\.jpg$/, '.sgai')).sort());
    await initBackend('wasm');
    for (const f of files) {
      const { image } = await decode(readFileSync(join(out, f)));
      expect([image.width, image.height], f).toEqual([W, H]);
    }
    expect(logs.some((l) => l.includes('stopped unexpectedly (signal SIGKILL)'))).toBe(true);
    sse.close();
  });
});
