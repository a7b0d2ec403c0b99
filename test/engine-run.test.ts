/**
 * The in-process batch runner on real files: per-photo failures, resume, redo on change,
 * crash leftovers, cancel, and shards. Originals are hashed before and after every test.
 */
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, resolveModel, verifySgai } from '../src/core';
import { type BatchEvent, type EncodeSettings, planBatch, PRESETS, readManifest, resolvePreset, runBatch } from '../src/engine';
import { makePhoto } from './engine-fixtures';
import { TEST_MODEL_ID, listFiles, tempDir } from './helpers';
import { expectOriginalsUnchanged, snapshotTree } from './helpers-originals';

const GOOD = ['5.webp', '6.tif', 'a/1.jpg', 'a/b/2.png', 'a/b/3.jpg', 'c d/ü 4.jpg'];

describe('batch runner', () => {
  let lib: string;
  let settings: EncodeSettings;
  beforeAll(async () => {
    await initBackend('wasm');
    lib = tempDir('sgai-run-');
    for (const [i, rel] of GOOD.entries()) await makePhoto(join(lib, rel), { seed: i });
    await makePhoto(join(lib, 'a', 'corrupt.jpg'), { seed: 9 });
    truncateSync(join(lib, 'a', 'corrupt.jpg'), 600); // cut mid-scan
    writeFileSync(join(lib, 'empty.jpg'), '');
    settings = { model: resolveModel({ model: TEST_MODEL_ID }) };
  });

  async function run(out: string, opts: { settings?: EncodeSettings; signal?: AbortSignal; shard?: { k: number; n: number }; onEvent?: (e: BatchEvent) => void } = {}) {
    const events: BatchEvent[] = [];
    const plan = await planBatch({ inputs: [lib], outRoot: out, preset: TEST_MODEL_ID, shard: opts.shard });
    const summary = await runBatch(plan, {
      settings: opts.settings ?? settings, signal: opts.signal,
      onEvent: (e) => {
        events.push(e);
        opts.onEvent?.(e);
      },
    });
    const started = events.filter((e) => e.type === 'job:state' && e.state === 'running').map((e) => (e as { id: string }).id);
    return { summary, events, started };
  }

  it('encodes the good photos, records the bad ones with their codes, resumes, and redoes only what changed', async () => {
    const before = snapshotTree(lib);
    const out = tempDir('sgai-run-out-');
    const first = await run(out);
    expect(first.summary).toMatchObject({ total: 8, done: 6, failed: 2, encoded: 6, cancelled: false });
    const failed = Object.fromEntries(first.events.flatMap((e) => (e.type === 'job:state' && e.state === 'failed' ? [[e.id, e.error?.code]] : [])));
    expect(failed).toEqual({ 'a/corrupt.jpg': 'UNSUPPORTED_IMAGE', 'empty.jpg': 'UNSUPPORTED_IMAGE' });
    const outs = GOOD.map((r) => r.replace(/\.\w+$/, '.sgai'));
    expect(listFiles(out)).toEqual(['.sgai-batch/manifest.jsonl', ...outs].sort());
    for (const o of outs) verifySgai(readFileSync(join(out, o)));
    expect(first.events.some((e) => e.type === 'job:progress')).toBe(true);

    // Re-run: nothing done is encoded again; the two failures are retried (and fail again).
    const second = await run(out);
    expect(second.started.sort()).toEqual(['a/corrupt.jpg', 'empty.jpg']);
    expect(second.summary).toMatchObject({ done: 6, resumed: 6, encoded: 0, failed: 2 });

    // A changed photo is redone, in place; nothing else is.
    const old = readFileSync(join(out, 'a', '1.sgai'));
    await makePhoto(join(lib, 'a', '1.jpg'), { seed: 42 });
    const changedBefore = snapshotTree(lib);
    const third = await run(out);
    expect(third.started.filter((id) => !id.includes('corrupt') && id !== 'empty.jpg')).toEqual(['a/1.jpg']);
    expect(readFileSync(join(out, 'a', '1.sgai')).equals(old)).toBe(false);
    expect(listFiles(out)).toEqual(['.sgai-batch/manifest.jsonl', ...outs].sort()); // no "1 (2).sgai"

    // An output that no longer passes its CRCs is redone too.
    const damaged = readFileSync(join(out, 'a', 'b', '2.sgai'));
    damaged[damaged.length - 5] ^= 0xff;
    writeFileSync(join(out, 'a', 'b', '2.sgai'), damaged);
    // Other settings: everything is redone.
    const fourth = await run(out, { settings: { ...settings, preview: false } });
    expect(fourth.summary).toMatchObject({ encoded: 6, resumed: 0 });
    const fifth = await run(out, { settings: { ...settings, preview: false } });
    expect(fifth.summary.resumed).toBe(6);
    expectOriginalsUnchanged(lib, changedBefore);
    expect(before.get('a/1.jpg')!.sha256).not.toBe(changedBefore.get('a/1.jpg')!.sha256); // the test did change it
  });

  it('removes temp files a crash left, and redoes a photo whose output went missing', async () => {
    const out = tempDir('sgai-run-out-');
    await run(out);
    const stray = join(out, 'a', '.1.sgai.sgai-tmp-0123456789ab');
    writeFileSync(stray, 'half a file');
    const gone = join(out, 'a', 'b', '3.sgai');
    writeFileSync(gone, ''); // truncated by something else
    const again = await run(out);
    expect(existsSync(stray)).toBe(false);
    expect(again.started.filter((id) => id !== 'empty.jpg' && id !== 'a/corrupt.jpg')).toEqual(['a/b/3.jpg']);
    verifySgai(readFileSync(gone));
  });

  it('cancel: the photo in progress leaves nothing, the manifest stays readable, a re-run does the rest', async () => {
    const before = snapshotTree(lib);
    const out = tempDir('sgai-run-out-');
    const ctrl = new AbortController();
    let progressOn = '';
    const cut = await run(out, {
      signal: ctrl.signal,
      onEvent: (e) => {
        // Abort in the middle of the second photo's encode.
        if (e.type === 'job:progress' && e.id === 'a/1.jpg' && !progressOn) {
          progressOn = e.id;
          ctrl.abort();
        }
      },
    });
    expect(cut.summary.cancelled).toBe(true);
    expect(cut.events.find((e) => e.type === 'job:state' && e.id === 'a/1.jpg' && e.state === 'cancelled')).toBeTruthy();
    const left = listFiles(out);
    expect(left.some((f) => f.includes('sgai-tmp'))).toBe(false);
    expect(left).not.toContain('a/1.sgai');
    const doneBefore = cut.events.filter((e) => e.type === 'job:state' && e.state === 'done').map((e) => (e as { id: string }).id);
    expect(doneBefore.length).toBeGreaterThan(0);
    const m = await readManifest(out);
    expect(m.badLines).toBe(0);

    const rest = await run(out);
    expect(rest.started.filter((id) => doneBefore.includes(id))).toEqual([]);
    expect(rest.summary).toMatchObject({ done: 6, failed: 2, cancelled: false });
    expectOriginalsUnchanged(lib, before);
  });

  it('a torn last manifest line (crash mid-append) is ignored and does not swallow the next record', async () => {
    const out = tempDir('sgai-run-out-');
    await run(out);
    const path = join(out, '.sgai-batch', 'manifest.jsonl');
    writeFileSync(path, `${readFileSync(path, 'utf8')}{"v":1,"at":"2026-01-0`);
    const again = await run(out);
    expect(again.summary.resumed).toBe(6);
    const m = await readManifest(out);
    expect(m.badLines).toBe(1);
    expect(m.records.filter((r) => r.state === 'failed').length).toBeGreaterThanOrEqual(4);
  });

  it('two shards into one output root give exactly the files of one unsharded run', async () => {
    const one = tempDir('sgai-run-one-');
    const two = tempDir('sgai-run-two-');
    await run(one);
    const a = await run(two, { shard: { k: 0, n: 2 } });
    const b = await run(two, { shard: { k: 1, n: 2 } });
    expect(a.summary.total + b.summary.total).toBe(8);
    expect(a.summary.total).toBeGreaterThan(0);
    expect(b.summary.total).toBeGreaterThan(0);
    const outs = (d: string) => listFiles(d).filter((f) => !f.startsWith('.sgai-batch'));
    expect(outs(two)).toEqual(outs(one));
    for (const f of outs(one)) expect(readFileSync(join(two, f)).equals(readFileSync(join(one, f))), f).toBe(true);
  });

  it('presets pick installed models by lambda', () => {
    const archive = resolvePreset('archive');
    const small = resolvePreset('small');
    if (!archive.isTestModel) expect(archive.model.card.lambda).toBeGreaterThan(small.model.card.lambda);
    expect(PRESETS.small.refine.kind).toBe('off');
    expect(() => resolvePreset('huge')).toThrow(/unknown preset/);
  });
});
