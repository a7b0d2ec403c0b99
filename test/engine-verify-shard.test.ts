/**
 * The batch's last lines of defence and its multi-machine mode, through the real CLI and real
 * files: --verify decodes what was written before it is kept (and refuses a file that decodes to
 * other pixels), --report writes what happened per photo, two shard processes on one output root
 * produce exactly the outputs of one unsharded run, and a second run on a busy folder is refused.
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSgai, encodeFile, encodeSgai, initBackend, resolveModel, SgaiError } from '../src/core';
import { verifyWritten } from '../src/engine';
import { makePhoto } from './engine-fixtures';
import { ROOT, TEST_MODEL_ID, listFiles, runCli, tempDir } from './helpers';
import { expectOriginalsUnchanged, snapshotTree } from './helpers-originals';

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Every .sgai under root, by path relative to root, with its hash. */
function outputs(root: string): Record<string, string> {
  return Object.fromEntries(listFiles(root).filter((f) => f.endsWith('.sgai')).map((f) => [f, sha(join(root, f))]));
}

function manifestLines(out: string): { source: string; state: string; result?: { psnr?: number; bytes: number } }[] {
  return readFileSync(join(out, '.sgai-batch', 'manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

/** `sgai batch` as a child process, to run several at once. */
function startBatch(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(ROOT, 'bin', 'sgai.mjs'), 'batch', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

describe('batch --verify and --report', () => {
  it('every written file decodes to the PSNR its encode measured; the report says so per photo', async () => {
    const dir = tempDir();
    const lib = join(dir, 'lib');
    await makePhoto(join(lib, 'a, "first".png'), { w: 96, h: 64, seed: 1 });
    await makePhoto(join(lib, 'sub', 'b.jpg'), { w: 80, h: 72, seed: 2 });
    mkdirSync(join(lib, 'sub', 'broken'), { recursive: true });
    await makePhoto(join(lib, 'sub', 'broken', 'c.png'), { w: 64, h: 64, seed: 3 });
    const before = snapshotTree(lib);
    const out = join(dir, 'out');
    const report = join(dir, 'report.csv');
    const r = await runCli(['batch', lib, '--out', out, '--model', TEST_MODEL_ID, '--workers', '1', '--verify', '--report', report, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const done = manifestLines(out).filter((l) => l.state === 'done');
    expect(done).toHaveLength(3);
    for (const l of done) expect(l.result?.psnr).toBeGreaterThan(10);

    const rows = readFileSync(report, 'utf8').trim().split('\r\n');
    expect(rows[0]).toBe('source,output,result,bytesIn,bytesOut,savedPercent,bpp,psnr,seconds,errorCode,message');
    expect(rows).toHaveLength(4);
    const first = rows.find((x) => x.startsWith('"a, ""first"".png"'))!;
    const psnrA = done.find((l) => l.source === 'a, "first".png')!.result!.psnr!;
    expect(first.startsWith('"a, ""first"".png","a, ""first"".sgai",done,')).toBe(true);
    expect(first).toContain(`,${Number(psnrA.toFixed(3))},`);

    // A second run: everything resumes, and the report says so; the earlier report is replaced.
    const again = await runCli(['batch', lib, '--out', out, '--model', TEST_MODEL_ID, '--workers', '1', '--verify', '--report', report, '--quiet']);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(report, 'utf8').match(/,resumed,/g)).toHaveLength(3);
    expectOriginalsUnchanged(lib, before);

    // The photographer reorganises: a photo moves to another folder. Found by its content, its
    // .sgai is reused under the new name (no encode: the worker logs gain no line), checked and recorded.
    const logLines = () => listFiles(join(out, '.sgai-batch')).filter((f) => f.startsWith('worker-')).map((f) => readFileSync(join(out, '.sgai-batch', f), 'utf8')).join('').split('\n').length;
    const logsBefore = logLines();
    expect(logsBefore).toBeGreaterThan(3);
    mkdirSync(join(lib, 'moved'));
    renameSync(join(lib, 'sub', 'b.jpg'), join(lib, 'moved', 'b.jpg'));
    const moved = await runCli(['batch', lib, '--out', out, '--model', TEST_MODEL_ID, '--workers', '1', '--json']);
    expect(moved.code, moved.stderr).toBe(0);
    const ev = moved.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.type === 'job:state' && e.id === 'moved/b.jpg' && e.state === 'done');
    expect(ev.reason).toBe('the same photo as sub/b.jpg (moved or renamed): its .sgai was reused');
    expect(readFileSync(join(out, 'moved', 'b.sgai'))).toEqual(readFileSync(join(out, 'sub', 'b.sgai')));
    expect(logLines()).toBe(logsBefore);
  });

  it('a file that decodes to other pixels than the encode measured is refused (VERIFY_FAILED)', async () => {
    await initBackend('wasm');
    const dir = tempDir();
    const photo = join(dir, 'p.png');
    await makePhoto(photo, { w: 96, h: 96, seed: 7 });
    const model = resolveModel({ model: TEST_MODEL_ID });
    const r = await encodeFile(photo, { model, measure: true });
    const source = readFileSync(photo);
    expect(await verifyWritten({ written: r.bytes, source, sourcePath: photo, expectedPsnr: r.stats.psnr!, model })).toBe(r.stats.psnr);
    // Valid framing and checksums, other latents: what a disk returning wrong sectors inside a chunk could give after re-framing.
    const otherPhoto = join(dir, 'q.png');
    await makePhoto(otherPhoto, { w: 96, h: 96, seed: 8 });
    const o = decodeSgai((await encodeFile(otherPhoto, { model })).bytes);
    const swapped = encodeSgai({ ...decodeSgai(r.bytes), zStream: o.zStream, yStreams: o.yStreams });
    const e = await verifyWritten({ written: swapped, source, sourcePath: photo, expectedPsnr: r.stats.psnr!, model }).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(SgaiError);
    expect((e as SgaiError).code).toBe('VERIFY_FAILED');
    expect((e as SgaiError).message).toMatch(/it was not kept/);
  });
});

describe('batch --target-*: a size or quality per photo, over the trained family', () => {
  it('each photo gets the best file within the size, verified; an unreachable quality keeps the closest and says so', async () => {
    const dir = tempDir();
    const lib = join(dir, 'lib');
    await makePhoto(join(lib, 'smooth.png'), { w: 128, h: 96, seed: 31 });
    await makePhoto(join(lib, 'busy.png'), { w: 128, h: 96, seed: 32 });
    const out = join(dir, 'bpp');
    const r = await runCli(['batch', lib, '--out', out, '--target-bpp', '1.5', '--preset', 'small', '--workers', '1', '--verify', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/target: at most 1\.5 bpp per photo, over sgai-msh-c64-l0018, .*sgai-msh-c64-l0932/);
    const done = manifestLines(out).filter((l) => l.state === 'done');
    expect(done).toHaveLength(2);
    for (const l of done) {
      const info = JSON.parse((await runCli(['info', join(out, l.source.replace('.png', '.sgai')), '--json'])).stdout);
      expect(info.bpp).toBeLessThanOrEqual(1.5);
      expect(l.result?.psnr).toBeGreaterThan(15);
    }

    const hard = join(dir, 'psnr');
    const h = await runCli(['batch', lib, '--out', hard, '--target-psnr', '99', '--preset', 'small', '--workers', '0', '--json']);
    expect(h.code, h.stderr).toBe(0);
    const states = h.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'job:state' && e.state === 'done');
    expect(states).toHaveLength(2);
    for (const s of states) expect(s.reason).toMatch(/no installed model reaches at least 99 dB PSNR on this photo; the closest was kept \(.* dB\)/);
    // The closest to a quality target beats what the preset's own model (the lowest lambda) gives.
    const plain = join(dir, 'plain');
    const p = await runCli(['batch', lib, '--out', plain, '--preset', 'small', '--workers', '0', '--verify', '--quiet']);
    expect(p.code, p.stderr).toBe(0);
    const psnrOf = (root: string) => Object.fromEntries(manifestLines(root).filter((l) => l.state === 'done').map((l) => [l.source, l.result!.psnr!]));
    const closest = Object.fromEntries(states.map((s) => [s.id, s.psnr as number]));
    for (const [src, db] of Object.entries(psnrOf(plain))) expect(closest[src]).toBeGreaterThan(db + 1);
    expect(JSON.parse((await runCli(['info', join(hard, 'busy.sgai'), '--json'])).stdout).header.modelId).not.toBe('sgai-msh-c64-l0018');
  });
});

describe('batch --shard k/n on many machines, one output root', () => {
  let lib: string;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir();
    lib = join(dir, 'lib');
    for (let i = 0; i < 8; i++) await makePhoto(join(lib, i % 2 ? 'even' : 'odd', `photo ${i}.png`), { w: 64 + 8 * i, h: 64, seed: 20 + i });
  });

  it('two shard processes at once give exactly the outputs of one unsharded run; a run beside them is refused', async () => {
    const common = ['--model', TEST_MODEL_ID, '--workers', '1', '--quiet'];
    const whole = join(dir, 'whole');
    const one = await runCli(['batch', lib, '--out', whole, ...common]);
    expect(one.code, one.stderr).toBe(0);

    const split = join(dir, 'split');
    const [s0, s1] = await Promise.all([
      startBatch([lib, '--out', split, '--shard', '0/2', ...common]),
      startBatch([lib, '--out', split, '--shard', '1/2', ...common]),
    ]);
    expect(s0.code, s0.stderr).toBe(0);
    expect(s1.code, s1.stderr).toBe(0);
    expect(s0.stderr).toMatch(/shard 0\/2: \d+ of 8/);
    expect(outputs(split)).toEqual(outputs(whole));
    expect(Object.keys(outputs(whole))).toHaveLength(8);
    const states = manifestLines(split).filter((l) => l.state === 'done').map((l) => l.source).sort();
    expect(states).toEqual(manifestLines(whole).filter((l) => l.state === 'done').map((l) => l.source).sort());

    // While a shard holds the folder, an unsharded run there is refused before it touches anything.
    const busyOut = join(dir, 'busy');
    const slow = startBatch([lib, '--out', busyOut, '--shard', '0/2', '--model', TEST_MODEL_ID, '--workers', '1', '--refine', 'ssl', '--iters', '100', '--quiet']);
    await waitFor(() => existsSync(join(busyOut, '.sgai-batch', 'lock.shard-0-of-2')));
    const refused = await runCli(['batch', lib, '--out', busyOut, ...common]);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/another sgai batch \(shard 0\/2\) started .* is writing to/);
    expect((await slow).code).toBe(0);
    expect(listFiles(busyOut).filter((f) => f.includes('lock'))).toEqual([]);
  });
});

async function waitFor(cond: () => boolean, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
