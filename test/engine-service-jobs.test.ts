/**
 * Batches through the engine service with real encoder processes: job events to the end, files
 * that decode, a second start that skips everything done, photo states in the library, pause and
 * resume, cancelling one photo or the whole batch (nothing partial left), retry, the report,
 * resuming after an engine restart, and a shutdown that leaves no encoder process behind.
 */
import { readFileSync, truncateSync, utimesSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, initBackend, verifySgai } from '../src/core';
import { readManifest } from '../src/engine';
import { invoke } from '../src/ipc/contract';
import type { BatchInfo, LibraryFolder, OutputSettings } from '../src/ipc/schemas';
import { makePhoto } from './engine-fixtures';
import { outputTo, startService, type TestService } from './engine-service-helpers';
import { alive, listFiles, tempDir } from './helpers';

const sgaiOf = (rel: string) => rel.replace(/\.\w+$/, '.sgai');

describe('engine service: batches', () => {
  let t: TestService;
  let data: string;

  beforeAll(async () => {
    await initBackend('wasm'); // the test decodes what the batches wrote
    data = tempDir('sgai-jobs-data-');
    t = await startService(data);
    // One encoder process: the events come in plan order and the machine stays usable.
    await t.call('settingsSet', { workers: 1 });
  });
  afterAll(async () => {
    await t?.svc.shutdown();
  });

  async function library(photos: string[], prefix: string): Promise<string> {
    const lib = await realpath(tempDir(prefix));
    for (const [i, rel] of photos.entries()) await makePhoto(join(lib, rel), { seed: i + 3 });
    return lib;
  }

  async function addFolder(lib: string, output: OutputSettings): Promise<LibraryFolder> {
    const folder = await t.call('libraryAdd', { path: lib, output });
    await t.until(() => t.of('library:scan').find((e) => e.folderId === folder.id && e.done), 'the scan');
    return folder;
  }

  const batchEnd = (batchId: string) =>
    t.until(() => t.of('batch:state').find((b) => b.batchId === batchId && ['done', 'cancelled', 'failed'].includes(b.state)), `batch ${batchId} to end`);
  const jobStates = (batchId: string, state?: string) => t.of('job:state').filter((e) => e.batchId === batchId && (!state || e.state === state));
  const folderNow = async (id: string) => (await t.call('libraryList', {})).find((f) => f.id === id)!;

  it('runs a batch to the end with job events, writes files that decode, and skips them all the second time', async () => {
    const photos = ['1.jpg', 'a/2.png', 'a/3.jpg', 'b/4.webp'];
    const lib = await library(photos, 'sgai-jobs-lib-');
    await makePhoto(join(lib, 'b', 'broken.jpg'), { seed: 9 });
    truncateSync(join(lib, 'b', 'broken.jpg'), 500);
    const out = join(tempDir('sgai-jobs-out-'), 'out');
    const folder = await addFolder(lib, outputTo(out));

    const started = await t.call('jobsStart', { folderId: folder.id });
    expect(started).toMatchObject({ folderId: folder.id, folderPath: lib, outRoot: out });
    expect(['queued', 'running']).toContain(started.state);
    const end = await batchEnd(started.batchId);
    expect(end.state).toBe('done');
    expect(end.totals).toMatchObject({ total: 5, done: 4, encoded: 4, resumed: 0, failed: 1, skipped: 0, cancelled: 0 });
    expect(end.totals.bytesOut).toBeGreaterThan(0);
    expect(end.totals.megapixels).toBeCloseTo((4 * 128 * 96) / 1e6, 6);
    expect(end.finishedAt).toBeGreaterThanOrEqual(end.startedAt);
    expect(Object.keys(end.skippedReasons)).toEqual([expect.stringMatching(/^failed: b\/broken\.jpg: /)]);
    // The host hears "nothing running" once the folder's photo states are refreshed, just after the end event.
    await t.until(() => (t.running.at(-1) === null ? true : undefined), 'the host to hear that nothing runs', 30_000);
    expect(t.running.slice(-2)).toEqual([folder.id, null]);

    // Every photo: running, then its final state; progress in between.
    for (const p of photos) expect(jobStates(started.batchId).filter((e) => e.id === p).map((e) => e.state)).toEqual(['running', 'done']);
    expect(jobStates(started.batchId, 'failed')).toEqual([expect.objectContaining({ id: 'b/broken.jpg', error: expect.objectContaining({ code: 'UNSUPPORTED_IMAGE' }) })]);
    expect(t.of('job:progress').some((e) => e.batchId === started.batchId && e.id === '1.jpg')).toBe(true);
    for (const p of photos) {
      const bytes = readFileSync(join(out, sgaiOf(p)));
      verifySgai(bytes);
      const img = (await decode(bytes)).image;
      expect([img.width, img.height]).toEqual([128, 96]);
    }
    const rows = await t.call('jobsRows', { batchId: started.batchId, offset: 0, limit: 1000 });
    expect(rows.total).toBe(5);
    expect(rows.rows.map((r) => [r.id, r.state])).toEqual([['1.jpg', 'done'], ['a/2.png', 'done'], ['a/3.jpg', 'done'], ['b/4.webp', 'done'], ['b/broken.jpg', 'failed']]);
    expect(rows.rows[0]).toMatchObject({ output: join(out, '1.sgai'), bytesIn: readFileSync(join(lib, '1.jpg')).length, bytesOut: readFileSync(join(out, '1.sgai')).length });
    expect((await t.call('jobsRows', { batchId: started.batchId, offset: 3, limit: 1 })).rows.map((r) => r.id)).toEqual(['b/4.webp']);

    // The library follows: done and failed, with outputs relative to the output root.
    await t.until(() => t.of('library:changed').find((f) => f.id === folder.id && f.states.done === 4), 'library states');
    expect((await folderNow(folder.id)).states).toEqual({ new: 0, done: 4, failed: 1, skipped: 0, 'out-of-date': 0 });
    const done = await t.call('libraryPhotos', { folderId: folder.id, offset: 0, limit: 10, filter: 'done' });
    expect(done.rows.map((r) => r.output)).toEqual(photos.map(sgaiOf));
    const failed = await t.call('libraryPhotos', { folderId: folder.id, offset: 0, limit: 10, filter: 'failed' });
    expect(failed.rows[0].reason).toMatch(/damaged|truncated|decoded/);

    // Again: nothing is encoded, every done photo is resumed; the broken one is tried again.
    const second = await t.call('jobsStart', { folderId: folder.id });
    expect(second.batchId).not.toBe(started.batchId);
    const end2 = await batchEnd(second.batchId);
    expect(end2.totals).toMatchObject({ total: 5, done: 4, resumed: 4, encoded: 0, failed: 1 });
    expect(jobStates(second.batchId, 'running').map((e) => e.id)).toEqual(['b/broken.jpg']);
    expect((await t.call('jobsList', {})).map((b) => b.batchId)).toEqual(expect.arrayContaining([started.batchId, second.batchId]));

    // The report, in the output folder's .sgai-batch/.
    const csv = await t.call('jobsReport', { batchId: started.batchId, format: 'csv' });
    expect(csv.path).toBe(join(out, '.sgai-batch', `report-${started.batchId}.csv`));
    const lines = readFileSync(csv.path, 'utf8').trim().split('\r\n');
    expect(lines[0]).toMatch(/^source,output,result,/);
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 3).join(','))).toEqual([
      '1.jpg,1.sgai,done', 'a/2.png,a/2.sgai,done', 'a/3.jpg,a/3.sgai,done', 'b/4.webp,b/4.sgai,done', 'b/broken.jpg,,failed',
    ]);
    const json = JSON.parse(readFileSync((await t.call('jobsReport', { batchId: second.batchId, format: 'json' })).path, 'utf8'));
    expect(json).toMatchObject({ format: 'sgai-batch-report', summary: { resumed: 4 } });

    // Other settings: everything is out of date; a changed photo too.
    await t.call('libraryUpdate', { folderId: folder.id, output: outputTo(out, { metadata: 'no-location' }) });
    expect((await folderNow(folder.id)).states).toMatchObject({ 'out-of-date': 4, failed: 1 });
    await t.call('libraryUpdate', { folderId: folder.id, output: outputTo(out) });
    expect((await folderNow(folder.id)).states).toMatchObject({ done: 4 });
    await makePhoto(join(lib, 'a', '3.jpg'), { seed: 77 });
    const n = t.of('library:scan').length;
    await t.call('libraryScan', { folderId: folder.id });
    await t.until(() => t.of('library:scan').slice(n).find((e) => e.folderId === folder.id && e.done), 'the rescan');
    expect((await folderNow(folder.id)).states).toMatchObject({ done: 3, 'out-of-date': 1 });
    // Touched but the same bytes: still done (the content decides).
    utimesSync(join(lib, '1.jpg'), new Date(), new Date(Date.now() - 3600_000));
    const m = t.of('library:scan').length;
    await t.call('libraryScan', { folderId: folder.id });
    await t.until(() => t.of('library:scan').slice(m).find((e) => e.folderId === folder.id && e.done), 'the rescan');
    expect((await t.call('libraryPhotos', { folderId: folder.id, offset: 0, limit: 1, filter: 'all' })).rows[0]).toMatchObject({ rel: '1.jpg', state: 'done' });

    // Photos that do not shrink enough are skipped, and say why.
    await t.call('libraryUpdate', { folderId: folder.id, output: outputTo(join(tempDir('sgai-jobs-out-'), 'o'), { minSavingsPercent: 99 }) });
    const strict = await t.call('jobsStart', { folderId: folder.id });
    const end3 = await batchEnd(strict.batchId);
    expect(end3.totals).toMatchObject({ skipped: 4, failed: 1, done: 0 });
    expect(end3.skippedReasons['not 99 % smaller than the original']).toBe(4);
    await t.until(() => t.of('library:changed').find((f) => f.id === folder.id && f.states.skipped === 4), 'skipped states');
    const skipped = await t.call('libraryPhotos', { folderId: folder.id, offset: 0, limit: 10, filter: 'skipped' });
    expect(skipped.rows[0].reason).toMatch(/is not 99 % smaller/);
    await t.call('libraryRemove', { folderId: folder.id });
  });

  it('pauses (no new photo starts; running ones finish) and resumes', async () => {
    const photos = ['1.jpg', '2.jpg', '3.jpg', '4.jpg', '5.jpg', '6.jpg'];
    const lib = await library(photos, 'sgai-jobs-pause-');
    const out = join(tempDir('sgai-jobs-out-'), 'out');
    const folder = await addFolder(lib, outputTo(out));
    // Pause when the first photo is done: the next one may already be with the encoder.
    let pausedAt = -1;
    t.onEvent = (e) => {
      if (pausedAt < 0 && e.name === 'job:state' && (e.payload as { state: string }).state === 'done') {
        pausedAt = t.events.length;
        void t.svc.invoke(invoke.jobsPause.channel, {});
      }
    };
    const b = await t.call('jobsStart', { folderId: folder.id });
    await t.until(() => t.of('batch:state').find((s) => s.batchId === b.batchId && s.state === 'paused'), 'the pause');
    expect(t.of('queue:state').at(-1)).toEqual({ paused: true });
    // Let whatever was with the encoder finish, then check that nothing new starts.
    await new Promise((r) => setTimeout(r, 4000));
    const startedBefore = jobStates(b.batchId, 'running').length;
    await new Promise((r) => setTimeout(r, 2000));
    expect(jobStates(b.batchId, 'running').length).toBe(startedBefore);
    expect(jobStates(b.batchId, 'done').length).toBeLessThan(photos.length);
    const runningAfterPause = t.events.slice(pausedAt).filter((e) => e.name === 'job:state' && (e.payload as { state: string }).state === 'running');
    // The next photo was with the encoder before the first one was written: nothing starts after the pause.
    expect(runningAfterPause.length).toBeLessThanOrEqual(1);
    t.onEvent = undefined;
    expect(await t.call('jobsResume', {})).toEqual({ paused: false });
    const end = await batchEnd(b.batchId);
    expect(end).toMatchObject({ state: 'done', totals: { done: 6, encoded: 6 } });
    expect(t.of('queue:state').at(-1)).toEqual({ paused: false });

    // Paused before it starts: a batch waits, queued, until resumed.
    await t.call('jobsPause', {});
    const again = await t.call('jobsStart', { folderId: folder.id });
    await new Promise((r) => setTimeout(r, 1000));
    expect((await t.call('jobsList', {})).find((x) => x.batchId === again.batchId)?.state).toBe('queued');
    await t.call('jobsResume', {});
    expect((await batchEnd(again.batchId)).totals).toMatchObject({ resumed: 6 });
    await t.call('libraryRemove', { folderId: folder.id });
  });

  it('cancels one photo (waiting or being refined) while the others are written', async () => {
    const photos = ['1.jpg', '2.jpg', '3.jpg', '4.jpg'];
    const lib = await library(photos, 'sgai-jobs-one-');
    const out = join(tempDir('sgai-jobs-out-'), 'out');
    // Refined ('max': at least a second per photo) so a cancel reaches a photo mid-encode.
    const folder = await addFolder(lib, outputTo(out, { effort: 'max' }));
    let batchId = '';
    const cancels: Promise<unknown>[] = [];
    t.onEvent = (e) => {
      const p = e.payload as { batchId?: string; id?: string; state?: string; stage?: string };
      if (p.batchId !== batchId) return;
      // The last photo while it waits; the second while it is being refined.
      if (e.name === 'job:state' && p.id === '1.jpg' && p.state === 'running') cancels.push(t.call('jobsCancel', { batchId, id: '4.jpg' }));
      if (e.name === 'job:progress' && p.id === '2.jpg' && p.stage === 'refine' && cancels.length === 1) cancels.push(t.call('jobsCancel', { batchId, id: '2.jpg' }));
    };
    batchId = (await t.call('jobsStart', { folderId: folder.id })).batchId;
    const end = await batchEnd(batchId);
    t.onEvent = undefined;
    expect(await Promise.all(cancels)).toEqual([{ cancelled: true }, { cancelled: true }]);
    expect(end).toMatchObject({ state: 'done', totals: { total: 4, done: 2, cancelled: 2, failed: 0 } });
    expect(jobStates(batchId, 'cancelled').map((e) => e.id).sort()).toEqual(['2.jpg', '4.jpg']);
    expect(jobStates(batchId).filter((e) => e.id === '4.jpg').map((e) => e.state)).toEqual(['cancelled']); // never started
    expect(listFiles(out).filter((f) => !f.startsWith('.sgai-batch'))).toEqual(['1.sgai', '3.sgai']);
    // A finished photo cannot be cancelled; an unknown one is not found.
    expect(await t.call('jobsCancel', { batchId, id: '1.jpg' })).toEqual({ cancelled: false });
    expect(await t.svc.invoke(invoke.jobsCancel.channel, { batchId, id: 'nope.jpg' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });

    // Retry: the cancelled ones run; the done ones are kept.
    const retry = await t.call('jobsRetry', { batchId });
    expect(retry.batchId).not.toBe(batchId);
    const end2 = await batchEnd(retry.batchId);
    expect(end2.totals).toMatchObject({ done: 4, resumed: 2, encoded: 2 });
    expect(jobStates(retry.batchId, 'running').map((e) => e.id)).toEqual(['2.jpg', '4.jpg']);
    for (const p of photos) verifySgai(readFileSync(join(out, sgaiOf(p))));
    await t.call('libraryRemove', { folderId: folder.id });
  });

  it('cancels a whole batch or shuts down mid-batch, leaving no partial or temp file, and resumes in a restarted engine', async () => {
    const photos = ['1.jpg', '2.jpg', '3.jpg', '4.jpg', '5.jpg'];
    const lib = await library(photos, 'sgai-jobs-all-');
    const out = join(tempDir('sgai-jobs-out-'), 'out');
    const folder = await addFolder(lib, outputTo(out, { effort: 'max' }));
    let batchId = '';
    let cancel: Promise<unknown> | undefined;
    t.onEvent = (e) => {
      const p = e.payload as { batchId?: string; id?: string; stage?: string };
      if (e.name === 'job:progress' && p.batchId === batchId && p.id === '2.jpg' && p.stage === 'refine') cancel ??= t.call('jobsCancel', { batchId });
    };
    batchId = (await t.call('jobsStart', { folderId: folder.id })).batchId;
    const end = await batchEnd(batchId);
    t.onEvent = undefined;
    expect(await cancel).toEqual({ cancelled: true });
    expect(t.of('batch:state').filter((s) => s.batchId === batchId).map((s) => s.state)).toContain('cancelling');
    expect(end).toMatchObject({ state: 'cancelled', totals: { total: 5, done: 1, cancelled: 4 } });
    expect(listFiles(out).filter((f) => !f.startsWith('.sgai-batch/manifest') && !f.endsWith('.log'))).toEqual(['1.sgai']); // no temp file, no partial .sgai
    expect((await readManifest(out)).badLines).toBe(0);
    expect(await t.call('jobsCancel', { batchId })).toEqual({ cancelled: false }); // already over
    expect(await t.svc.invoke(invoke.jobsRetry.channel, { batchId: 'nope' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });

    // Shutdown mid-batch: the running batch and a waiting one are cancelled, nothing partial is
    // left, and no encoder process outlives the engine.
    const other = await addFolder(await library(['x.jpg'], 'sgai-jobs-other-'), outputTo(join(tempDir('sgai-jobs-out-'), 'o')));
    let stopping: Promise<void> | undefined;
    let waiting = '';
    t.onEvent = (e) => {
      const p = e.payload as { batchId?: string; id?: string; stage?: string };
      if (e.name === 'job:progress' && p.id === '3.jpg' && p.stage === 'refine' && !stopping) {
        stopping = t.call('jobsStart', { folderId: other.id }).then((q) => {
          waiting = q.batchId;
          expect(q.state).toBe('queued'); // one batch at a time
          return t.svc.shutdown();
        });
      }
    };
    const retry = await t.call('jobsRetry', { batchId });
    await t.until(() => stopping, 'the shutdown to begin');
    await stopping;
    t.onEvent = undefined;
    expect(t.of('batch:state').filter((s) => s.batchId === retry.batchId).at(-1)).toMatchObject({ state: 'cancelled', totals: { done: 2, resumed: 1 } });
    expect(t.of('batch:state').filter((s) => s.batchId === waiting).at(-1)?.state).toBe('cancelled');
    expect(listFiles(out).filter((f) => !f.startsWith('.sgai-batch/manifest') && !f.endsWith('.log'))).toEqual(['1.sgai', '2.sgai']);
    const pids = t.logs.flatMap((l) => /ready \(pid (\d+)/.exec(l)?.[1] ?? []).map(Number);
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(t.running.at(-1)).toBe(null);

    // A new engine resumes the folder's batch (as a host does after a crash): finished photos are kept.
    t = await startService(data, { resumeFolderId: folder.id });
    const resumed: BatchInfo = await t.until(() => t.of('batch:state').find((s) => s.folderId === folder.id && s.state === 'done'), 'the resumed batch');
    expect(resumed).toMatchObject({ resumedAfterRestart: true, totals: { done: 5, resumed: 2, encoded: 3 } });
    expect(listFiles(out).filter((f) => f.endsWith('.sgai'))).toEqual(photos.map(sgaiOf));
  });
});
