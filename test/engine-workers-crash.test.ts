/**
 * Encoder processes that die or hang, for real: the test SIGKILLs or SIGSTOPs the worker that is
 * encoding a photo (found by its pid) and checks the engine restarts it and retries the photo
 * once, records a photo that kills its worker twice as failed while every other photo completes,
 * and that workers exit when the batch process itself is SIGKILLed.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFile, initBackend, resolveModel } from '../src/core';
import { type BatchEvent, type EncodeRequest, EncoderPool, type EncodeSettings, MANIFEST_DIR, planBatch, readManifest, runBatch } from '../src/engine';
import { makePhoto } from './engine-fixtures';
import { ROOT, TEST_MODEL_ID, alive, listFiles, tempDir } from './helpers';

const SLOW = { method: 'ssl' as const, iterations: 12, seed: 3 };
const PHOTOS = ['1.jpg', '2.jpg', 'victim.png', 'z/3.jpg', 'z/4.jpg'];

async function waitUntilGone(pids: number[], ms: number): Promise<number[]> {
  const end = Date.now() + ms;
  while (Date.now() < end && pids.some(alive)) await new Promise((r) => setTimeout(r, 100));
  return pids.filter(alive);
}

describe('dead or hung encoder processes', () => {
  let lib: string;
  let settings: EncodeSettings;
  const pools: EncoderPool[] = [];
  beforeAll(async () => {
    await initBackend('wasm');
    lib = tempDir('sgai-crash-');
    for (const [i, rel] of PHOTOS.entries()) await makePhoto(join(lib, rel), { w: 160, h: 128, seed: i });
    settings = { model: resolveModel({ model: TEST_MODEL_ID }) };
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });
  const newPool = (workers: number, extra: { hangTimeoutMs?: number } = {}) => {
    const events: BatchEvent[] = [];
    const pool = new EncoderPool({ workers, model: settings.model, backend: 'wasm', onEvent: (e) => events.push(e), ...extra });
    pools.push(pool);
    return { pool, events };
  };
  const request = (rel: string): EncodeRequest => ({ source: join(lib, rel), label: rel, options: { refine: SLOW } });
  const reference = async (rel: string) => (await encodeFile(join(lib, rel), { model: settings.model, refine: SLOW })).bytes;

  it('a worker SIGKILLed mid-photo is restarted and the photo completes, byte-identical', async () => {
    const { pool, events } = newPool(1);
    let killed: number | undefined;
    const r = await pool.submit(request('1.jpg'), {
      onProgress: (stage, done) => {
        if (stage === 'refine' && done >= 3 && killed === undefined) {
          killed = pool.workers()[0].pid!;
          process.kill(killed, 'SIGKILL');
        }
      },
    });
    expect(killed).toBeGreaterThan(0);
    expect(Buffer.compare(r.bytes, await reference('1.jpg'))).toBe(0);
    const lost = events.filter((e) => e.type === 'worker:lost');
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ type: 'worker:lost', worker: 0, pid: killed, reason: 'stopped unexpectedly (signal SIGKILL)', id: '1.jpg', willRetry: true });
    const ready = events.filter((e) => e.type === 'worker:ready').map((e) => (e as { pid: number }).pid);
    expect(ready.length).toBe(2);
    expect(ready[1]).not.toBe(killed);
    expect(pool.workers()[0].pid).toBe(ready[1]);
  });

  it('a worker that stops responding is killed, replaced, and the photo completes', async () => {
    const { pool, events } = newPool(1, { hangTimeoutMs: 4000 });
    let stopped: number | undefined;
    const r = await pool.submit(request('2.jpg'), {
      onProgress: (stage, done) => {
        if (stage === 'refine' && done >= 3 && stopped === undefined) {
          stopped = pool.workers()[0].pid!;
          process.kill(stopped, 'SIGSTOP'); // alive, but silent: no heartbeat, no progress
        }
      },
    });
    expect(Buffer.compare(r.bytes, await reference('2.jpg'))).toBe(0);
    const lost = events.filter((e) => e.type === 'worker:lost');
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ pid: stopped, id: '2.jpg', willRetry: true });
    expect((lost[0] as { reason: string }).reason).toMatch(/^stopped responding \(nothing heard for \d+ s\)$/);
    expect(await waitUntilGone([stopped!], 5000)).toEqual([]); // killed, not left stopped
  });

  it('a photo that kills its worker twice is recorded failed; every other photo completes', async () => {
    const { pool } = newPool(2);
    const out = tempDir('sgai-crash-out-');
    const events: BatchEvent[] = [];
    const killedPids = new Set<number>();
    const plan = await planBatch({ inputs: [lib], outRoot: out, preset: TEST_MODEL_ID });
    const summary = await runBatch(plan, {
      settings: { ...settings, refine: SLOW }, pool,
      onEvent: (e) => {
        events.push(e);
        // Whichever process is encoding the victim dies, every time.
        if (e.type === 'job:progress' && e.id === 'victim.png' && e.stage === 'refine') {
          const w = pool.workers().find((s) => s.job === 'victim.png' && s.pid && !killedPids.has(s.pid));
          if (w?.pid) {
            killedPids.add(w.pid);
            process.kill(w.pid, 'SIGKILL');
          }
        }
      },
    });
    expect(killedPids.size).toBe(2);
    expect(summary).toMatchObject({ total: 5, done: 4, failed: 1, cancelled: false });
    const victim = events.find((e) => e.type === 'job:state' && e.id === 'victim.png' && e.state === 'failed');
    expect(victim).toMatchObject({
      error: { code: 'ENCODER_CRASHED', message: expect.stringMatching(/^the encoder process stopped unexpectedly \(signal SIGKILL\) twice on this photo/) },
    });
    expect(summary.firstError?.code).toBe('ENCODER_CRASHED');
    const lost = events.filter((e) => e.type === 'worker:lost' && e.id === 'victim.png').map((e) => (e as { willRetry: boolean }).willRetry);
    expect(lost).toEqual([true, false]);

    expect(listFiles(out).filter((f) => !f.startsWith(MANIFEST_DIR))).toEqual(['1.sgai', '2.sgai', 'z/3.sgai', 'z/4.sgai']);
    expect(existsSync(join(out, 'victim.sgai'))).toBe(false);
    const m = await readManifest(out);
    expect(m.records.filter((r) => r.source === 'victim.png').map((r) => r.state)).toEqual(['started', 'failed']);
    // The others are exactly what an undisturbed encode gives.
    for (const rel of ['1.jpg', 'z/4.jpg']) {
      expect(Buffer.compare(readFileSync(join(out, rel.replace(/\.jpg$/, '.sgai'))), await reference(rel)), rel).toBe(0);
    }
  });

  it('workers exit when the batch process is SIGKILLed', async () => {
    const out = tempDir('sgai-orphan-');
    const cli = spawn(process.execPath, [join(ROOT, 'bin', 'sgai.mjs'), 'batch', lib, '--out', out, '--model', TEST_MODEL_ID,
      '--refine', 'ssl', '--iters', '40', '--workers', '2', '--backend', 'wasm', '--json', '--quiet'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
    const pids = await new Promise<number[]>((resolve, reject) => {
      const seen: number[] = [];
      let buf = '';
      cli.stdout.on('data', (d) => {
        buf += d;
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const e = JSON.parse(buf.slice(0, i)) as BatchEvent;
          buf = buf.slice(i + 1);
          if (e.type === 'worker:ready') seen.push(e.pid);
          if (seen.length === 2) resolve(seen);
        }
      });
      cli.on('exit', () => reject(new Error('the batch ended before both workers were up')));
    });
    expect(pids.every(alive)).toBe(true);
    cli.kill('SIGKILL');
    expect(await waitUntilGone(pids, 5000)).toEqual([]);
  });
});
