/**
 * The batch lock (one writer per output folder or shard) and the batch report (CSV/JSON), on
 * real files: lock files taken, refused, released and taken over from a dead process; reports
 * that a spreadsheet reads back, that never replace a file sgai did not write.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireBatchLock, MANIFEST_DIR, ReportBuilder, reportCsv, writeReport, type BatchEvent } from '../src/engine';
import { SgaiError } from '../src/core';
import { tempDir } from './helpers';

async function busy(p: Promise<unknown>): Promise<SgaiError> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(SgaiError);
  expect((e as SgaiError).code).toBe('BUSY');
  return e as SgaiError;
}

/** The pid of a process that has exited: what a SIGKILLed batch leaves in its lock. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('batch lock', () => {
  it('one unsharded run per output folder; released on finish', async () => {
    const out = tempDir();
    const a = await acquireBatchLock(out);
    expect(JSON.parse(readFileSync(a.path, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname(), shard: null });
    const e = await busy(acquireBatchLock(out));
    expect(e.message).toMatch(new RegExp(`another sgai batch started .* by process ${process.pid} on `));
    expect(e.message).toContain(out);
    await a.release();
    expect(existsSync(a.path)).toBe(false);
    const b = await acquireBatchLock(out);
    await b.release();
  });

  it('shards of one library run side by side, but not the same shard twice, nor beside an unsharded run or another split', async () => {
    const out = tempDir();
    const s0 = await acquireBatchLock(out, { k: 0, n: 2 });
    const s1 = await acquireBatchLock(out, { k: 1, n: 2 });
    expect((await busy(acquireBatchLock(out, { k: 0, n: 2 }))).message).toMatch(/shard 0\/2/);
    await busy(acquireBatchLock(out));
    await busy(acquireBatchLock(out, { k: 0, n: 3 }));
    await s0.release();
    await s1.release();
    const all = await acquireBatchLock(out);
    await busy(acquireBatchLock(out, { k: 1, n: 2 }));
    await all.release();
    expect(readdirSync(join(out, MANIFEST_DIR))).toEqual([]);
  });

  it('a lock left by a process that died on this machine is taken over; one from another machine is not', async () => {
    const out = tempDir();
    mkdirSync(join(out, MANIFEST_DIR), { recursive: true });
    const lock = join(out, MANIFEST_DIR, 'lock');
    writeFileSync(lock, JSON.stringify({ pid: deadPid(), host: hostname(), startedAt: '2026-01-01T00:00:00Z', shard: null }));
    const mine = await acquireBatchLock(out);
    expect(JSON.parse(readFileSync(lock, 'utf8')).pid).toBe(process.pid);
    await mine.release();
    // A torn lock (crash between create and write) is stale too.
    writeFileSync(lock, '{"pid":');
    await (await acquireBatchLock(out)).release();
    writeFileSync(lock, JSON.stringify({ pid: 1, host: 'render-node-7', startedAt: '2026-01-01T00:00:00Z', shard: null }));
    const e = await busy(acquireBatchLock(out, { k: 0, n: 4 }));
    expect(e.message).toMatch(/on render-node-7 .*delete .*lock\*/s);
  });
});

describe('batch report', () => {
  const out = '/photos/out';
  const events: BatchEvent[] = [
    { type: 'job:state', id: 'a/café, "best".jpg', output: `${out}/a/café, "best".sgai`, state: 'done', bytesIn: 2000, bytesOut: 500, bpp: 0.412345678, psnr: 31.23456, seconds: 1.234 },
    { type: 'job:state', id: 'b.png', output: `${out}/b.sgai`, state: 'done', resumed: true, bytesIn: 1000, bytesOut: 800 },
    { type: 'job:state', id: 'c.jpg', output: '', state: 'skipped', reason: 'the .sgai (900 bytes) is not 20 % smaller than the original (1000 bytes)', bytesIn: 1000, bytesOut: 900 },
    { type: 'job:state', id: 'broken.jpg', output: `${out}/broken.sgai`, state: 'failed', error: { code: 'UNSUPPORTED_IMAGE', message: 'not a photo:\nline two' } },
  ];

  it('one row per photo of the plan, in plan order, with photos never reached listed too', () => {
    const b = new ReportBuilder(out, ['a/café, "best".jpg', 'b.png', 'c.jpg', 'broken.jpg', 'later.jpg']);
    for (const e of events) b.onEvent(e);
    b.onEvent({ type: 'batch:done', total: 5, done: 2, resumed: 1, encoded: 1, skipped: 1, failed: 1, cancelled: true, bytesIn: 3000, bytesOut: 1300, megapixels: 0.4, seconds: 3 });
    const r = b.report();
    expect(r.summary?.cancelled).toBe(true);
    expect(r.photos.map((p) => [p.source, p.result])).toEqual([
      ['a/café, "best".jpg', 'done'], ['b.png', 'resumed'], ['c.jpg', 'skipped'], ['broken.jpg', 'failed'], ['later.jpg', 'not started'],
    ]);
    expect(r.photos[0]).toMatchObject({ output: 'a/café, "best".sgai', savedPercent: 75, bpp: 0.41235, psnr: 31.235, seconds: 1.23 });
    expect(r.photos[2]).toMatchObject({ output: '', bytesOut: null, message: expect.stringMatching(/not 20 % smaller/) });
    expect(r.photos[3]).toMatchObject({ errorCode: 'UNSUPPORTED_IMAGE', output: '' });

    const csv = reportCsv(r);
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('source,output,result,bytesIn,bytesOut,savedPercent,bpp,psnr,seconds,errorCode,message');
    expect(lines[1]).toBe('"a/café, ""best"".jpg","a/café, ""best"".sgai",done,2000,500,75,0.41235,31.235,1.23,,');
    expect(csv).toContain('broken.jpg,,failed,,,,,,,UNSUPPORTED_IMAGE,"not a photo:\nline two"\r\n');
    expect(lines.at(-1)).toBe('');
  });

  it('writes CSV or JSON by extension, replaces its own earlier report, never a file sgai did not write', async () => {
    const dir = tempDir();
    const b = new ReportBuilder(out, []);
    for (const e of events) b.onEvent(e);
    const csv = join(dir, 'report.csv');
    await writeReport(csv, b.report());
    await writeReport(csv, b.report()); // a re-run replaces it
    expect(readFileSync(csv, 'utf8')).toBe(reportCsv(b.report()));
    const json = join(dir, 'report.json');
    await writeReport(json, b.report());
    expect(JSON.parse(readFileSync(json, 'utf8'))).toMatchObject({ format: 'sgai-batch-report', version: 1, photos: { length: 4 } });

    const theirs = join(dir, 'budget.csv');
    writeFileSync(theirs, 'month,amount\r\njan,3\r\n');
    const e = await writeReport(theirs, b.report()).then(() => null, (x: unknown) => x as SgaiError);
    expect(e?.code).toBe('IO');
    expect(e?.message).toMatch(/budget\.csv exists and is not an sgai report/);
    expect(readFileSync(theirs, 'utf8')).toBe('month,amount\r\njan,3\r\n');
    await expect(writeReport(join(dir, 'r.txt'), b.report())).rejects.toThrow(/\.csv or \.json/);
  });
});
