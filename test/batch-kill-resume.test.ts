/**
 * The crash test of `sgai batch`: SIGKILL the real process at 20 seeded random moments over a
 * library of 32 photos (nested folders, spaces and non-ASCII names); each restart resumes. In the
 * end the outputs are byte-identical to an uninterrupted run, no temp or partial file remains, the
 * originals are untouched, and no photo recorded done before a kill is encoded again: neither
 * started again per the manifest, nor encoded again per the encoder processes' own logs. The
 * batch runs with its default encoder processes, and none of them outlives a killed batch.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readWorkerLogs } from '../src/engine';
import { makePhoto } from './engine-fixtures';
import { ROOT, TEST_MODEL_ID, alive, listFiles, runCli, tempDir } from './helpers';
import { expectOriginalsUnchanged, snapshotTree } from './helpers-originals';
import { mulberry32 } from './seeded-random';

const KILLS = 20;
const FOLDERS = ['2019/summer trip', '2019/winter', 'Ærø & Bornholm', '写真/family', 'raw exports/2020 (final)'];

/**
 * Start a batch (with --json) and SIGKILL it `ms` after it starts, or `ms` after its first photo
 * starts encoding (`afterFirstEncode`): encoder processes take a variable while to start, so a
 * moment counted from the first encode lands mid-batch whatever the start-up took.
 */
function runAndKill(args: string[], ms: number, afterFirstEncode: boolean): Promise<{ killed: boolean; code: number | null }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [join(ROOT, 'bin', 'sgai.mjs'), ...args, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
    let timer = afterFirstEncode ? undefined : setTimeout(() => p.kill('SIGKILL'), ms);
    p.stdout.on('data', (d: Buffer) => {
      if (!timer && d.includes('"state":"running"')) timer = setTimeout(() => p.kill('SIGKILL'), ms);
    });
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      res({ killed: signal === 'SIGKILL', code });
    });
  });
}

describe('sgai batch survives SIGKILL at any moment', () => {
  let lib: string;
  let ref: string;
  let out: string;
  beforeAll(async () => {
    const dir = tempDir('sgai-kill-');
    lib = join(dir, 'library');
    ref = join(dir, 'reference');
    out = join(dir, 'killed');
    for (let i = 0; i < 32; i++) {
      const folder = FOLDERS[i % FOLDERS.length];
      const ext = ['jpg', 'png', 'JPG', 'webp'][i % 4];
      await makePhoto(join(lib, folder, `IMG ${String(i).padStart(4, '0')} – ü.${ext}`), { w: 320, h: 224, seed: i });
    }
  });

  it(`${KILLS} kills, then a clean finish equal to one uninterrupted run`, async () => {
    const before = snapshotTree(lib);
    const common = ['--model', TEST_MODEL_ID, '--quiet'];
    const launched = Date.now();
    const r = await runCli(['batch', lib, '--out', ref, ...common]);
    expect(r.code, r.stderr).toBe(0);
    const uninterruptedMs = Date.now() - launched;
    // Start-up (scan, hashes, encoder processes with backend and model): until the first encode
    // begins, as the uninterrupted run's worker logs show.
    const firstEncode = readWorkerLogs(join(ref, '.sgai-batch')).find((l) => l.event === 'start');
    expect(firstEncode).toBeDefined();
    const startupMs = Date.parse(firstEncode!.at) - launched;
    // Wall time per photo with all workers busy.
    const perPhotoMs = Math.max(20, (uninterruptedMs - startupMs) / 32);

    const rnd = mulberry32(20261202);
    let kills = 0;
    for (let attempt = 0; kills < KILLS && attempt < 3 * KILLS; attempt++) {
      // One kill in five somewhere in start-up; the others up to two and a half photos' time after
      // the first encode began, so they land mid-batch (during encodes, writes and manifest
      // appends) and the library is not done before the last kill.
      const inStartup = rnd() < 0.2;
      const ms = inStartup ? 300 + rnd() * Math.max(0, startupMs - 300) : rnd() * 2.5 * perPhotoMs;
      const end = await runAndKill(['batch', lib, '--out', out, ...common], ms, !inStartup);
      if (end.killed) kills++;
      else {
        expect(end.code).toBe(0);
        break; // the batch finished before the kill: nothing left to interrupt
      }
    }
    expect(kills).toBe(KILLS);
    const last = await runCli(['batch', lib, '--out', out, ...common]);
    expect(last.code, last.stderr).toBe(0);

    // Same files, same bytes, nothing partial.
    const want = listFiles(ref).filter((f) => !f.startsWith('.sgai-batch'));
    const got = listFiles(out).filter((f) => !f.startsWith('.sgai-batch'));
    expect(got).toEqual(want);
    expect(want.length).toBe(32);
    for (const f of want) expect(Buffer.compare(readFileSync(join(out, f)), readFileSync(join(ref, f))), f).toBe(0);
    expect(listFiles(out).filter((f) => /sgai-tmp|sgai-probe/.test(f))).toEqual([]);
    expectOriginalsUnchanged(lib, before);

    // From the manifest: once a photo is recorded done, no later run starts it again.
    const records = readFileSync(join(out, '.sgai-batch', 'manifest.jsonl'), 'utf8').split('\n').filter(Boolean).flatMap((l) => {
      try {
        return [JSON.parse(l) as { at: string; source: string; state: string }];
      } catch {
        return []; // a line torn by a kill
      }
    });
    const done = new Set<string>();
    let redone = 0;
    for (const rec of records) {
      if (rec.state === 'done') done.add(rec.source);
      else if (rec.state === 'started' && done.has(rec.source)) redone++;
    }
    expect(done.size).toBe(32);
    expect(redone).toBe(0);

    // From the worker logs (what the encoder processes really did): no encode of a photo starts
    // after the moment it was first recorded done, and every photo was encoded to the end.
    const firstDone = new Map<string, string>();
    for (const rec of records) if (rec.state === 'done' && !firstDone.has(rec.source)) firstDone.set(rec.source, rec.at);
    const logs = readWorkerLogs(join(out, '.sgai-batch'));
    const encodedAgain = logs.filter((l) => l.event === 'start' && l.at > (firstDone.get(l.source) ?? '\uffff'));
    expect(encodedAgain).toEqual([]);
    expect(new Set(logs.filter((l) => l.event === 'finish').map((l) => l.source)).size).toBe(32);
    // Every encoder process ended with its batch, killed or not.
    const pids = [...new Set(logs.map((l) => l.pid))];
    expect(pids.length).toBeGreaterThan(1);
    for (let t = 0; t < 50 && pids.some(alive); t++) await new Promise((r) => setTimeout(r, 100));
    expect(pids.filter(alive)).toEqual([]);
    const finished = new Set(logs.filter((l) => l.event !== 'start').map((l) => `${l.pid} ${l.source}`));
    const interrupted = logs.filter((l) => l.event === 'start' && !finished.has(`${l.pid} ${l.source}`)).length;
    console.log(`kill/resume: ${kills} kills, ${records.filter((x) => x.state === 'started').length} starts and ${logs.filter((l) => l.event === 'start').length} encodes (${interrupted} cut by a kill) for 32 photos; uninterrupted run ${Math.round(uninterruptedMs)} ms, start-up ${Math.round(startupMs)} ms`);
    expect(interrupted).toBeGreaterThan(0); // some kills did land mid-encode
    expect(existsSync(join(out, '.sgai-batch'))).toBe(true);
  });
});
