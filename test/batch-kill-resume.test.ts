/**
 * The crash test of `sgai batch`: SIGKILL the real process at 20 seeded random moments over a
 * library of 32 photos (nested folders, spaces and non-ASCII names); each restart resumes. In the
 * end the outputs are byte-identical to an uninterrupted run, no temp or partial file remains, the
 * originals are untouched, and no photo recorded done before a kill is encoded again.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makePhoto } from './engine-fixtures';
import { ROOT, TEST_MODEL_ID, listFiles, runCli, tempDir } from './helpers';
import { expectOriginalsUnchanged, snapshotTree } from './helpers-originals';
import { mulberry32 } from './seeded-random';

const KILLS = 20;
const FOLDERS = ['2019/summer trip', '2019/winter', 'Ærø & Bornholm', '写真/family', 'raw exports/2020 (final)'];

/** Start a batch and SIGKILL it after `ms`; resolves with how it ended. */
function runAndKill(args: string[], ms: number): Promise<{ killed: boolean; code: number | null }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [join(ROOT, 'bin', 'sgai.mjs'), ...args], { cwd: ROOT, stdio: 'ignore' });
    const timer = setTimeout(() => p.kill('SIGKILL'), ms);
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
    const t0 = performance.now();
    const r = await runCli(['batch', lib, '--out', ref, ...common]);
    expect(r.code, r.stderr).toBe(0);
    const uninterruptedMs = performance.now() - t0;
    // A second run has nothing to encode: its time is the start-up (backend, model, scan, hashes).
    const t1 = performance.now();
    expect((await runCli(['batch', lib, '--out', ref, ...common])).code).toBe(0);
    const startupMs = performance.now() - t1;
    const perPhotoMs = Math.max(20, (uninterruptedMs - startupMs) / 32);

    const rnd = mulberry32(20261202);
    let kills = 0;
    for (let attempt = 0; kills < KILLS && attempt < 3 * KILLS; attempt++) {
      // Anywhere from mid-startup to about four photos in, so that many kills land mid-batch
      // (during encodes, writes and manifest appends) before the library is done.
      const ms = 300 + rnd() * (startupMs + 4 * perPhotoMs - 300);
      const end = await runAndKill(['batch', lib, '--out', out, ...common], ms);
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
        return [JSON.parse(l) as { source: string; state: string }];
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
    console.log(`kill/resume: ${kills} kills, ${records.filter((x) => x.state === 'started').length} starts for 32 photos; uninterrupted run ${Math.round(uninterruptedMs)} ms, start-up ${Math.round(startupMs)} ms`);
    expect(existsSync(join(out, '.sgai-batch'))).toBe(true);
  });
});
