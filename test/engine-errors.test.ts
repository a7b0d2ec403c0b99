/**
 * Per-photo errors in a batch, each with the code and words a photographer needs, while every
 * other photo completes: a PNG declaring 100000x100000, a photo deleted mid-run, a disk that fills
 * up (a real tmpfs made by the test), and a read-only output folder (tmpfs mounted read-only).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32, initBackend, resolveModel } from '../src/core';
import { type BatchEvent, type EncodeSettings, planBatch, runBatch } from '../src/engine';
import { makePhoto } from './engine-fixtures';
import { TEST_MODEL_ID, listFiles, tempDir, tryMountTmpfs } from './helpers';
import { expectOriginalsUnchanged, snapshotTree } from './helpers-originals';

/** A valid PNG whose header declares width x height (its pixel data is one tiny row). */
function pngDeclaring(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(4))), chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** File names (not paths) under root, sorted. */
const fileNames = (root: string) => listFiles(root).map((f) => basename(f)).sort();

describe('batch: per-photo errors, the rest completes', () => {
  let settings: EncodeSettings;
  const mounts: string[] = [];
  beforeAll(async () => {
    await initBackend('wasm');
    settings = { model: resolveModel({ model: TEST_MODEL_ID }) };
  });
  afterAll(() => {
    for (const m of mounts) spawnSync('umount', ['-l', m]);
  });

  async function run(lib: string, out: string, onEvent?: (e: BatchEvent) => void) {
    const events: BatchEvent[] = [];
    const plan = await planBatch({ inputs: [lib], outRoot: out, preset: TEST_MODEL_ID });
    const summary = await runBatch(plan, { settings, onEvent: (e) => { events.push(e); onEvent?.(e); } });
    const failed = Object.fromEntries(events.flatMap((e) => (e.type === 'job:state' && e.state === 'failed' ? [[e.id, e.error!]] : [])));
    return { summary, failed };
  }

  it('a 100000x100000 PNG and a photo deleted mid-run fail alone', async () => {
    const lib = tempDir('sgai-err-lib-');
    for (let i = 0; i < 4; i++) await makePhoto(join(lib, `p${i}.jpg`), { seed: i });
    writeFileSync(join(lib, 'huge.png'), pngDeclaring(100000, 100000));
    await makePhoto(join(lib, 'z-vanishes.jpg'), { seed: 7 });
    const out = tempDir('sgai-err-out-');
    const before = snapshotTree(lib, { skip: (rel) => rel === 'z-vanishes.jpg' });
    const { summary, failed } = await run(lib, out, (e) => {
      // When the first photo starts, a later one disappears (a card pulled, a sync client).
      if (e.type === 'job:state' && e.state === 'running' && e.id === 'huge.png') rmSync(join(lib, 'z-vanishes.jpg'), { force: true });
    });
    expect(failed['huge.png'].code).toBe('IMAGE_TOO_LARGE');
    expect(failed['huge.png'].message).toMatch(/--max-megapixels/);
    expect(failed['z-vanishes.jpg'].code).toBe('INPUT_UNREADABLE');
    expect(failed['z-vanishes.jpg'].message).toMatch(/moved or deleted after the scan/);
    expect(summary).toMatchObject({ total: 6, done: 4, failed: 2 });
    expect(fileNames(out)).toEqual(['manifest.jsonl', 'p0.sgai', 'p1.sgai', 'p2.sgai', 'p3.sgai']);
    expectOriginalsUnchanged(lib, before);
  });

  it('a disk that fills up mid-batch: what fits is done, the rest fail as disk full, nothing partial', async (ctx) => {
    const mnt = join(tempDir('sgai-err-disk-'), 'disk');
    if (!tryMountTmpfs(mnt, 'size=96k', mounts)) {
      console.log('mounting a tmpfs is not permitted here: disk-full is covered with an injected fs in test/safe-write.test.ts');
      ctx.skip();
      return;
    }
    const lib = tempDir('sgai-err-lib2-');
    for (let i = 0; i < 12; i++) await makePhoto(join(lib, `p${String(i).padStart(2, '0')}.jpg`), { w: 320, h: 240, seed: i });
    const before = snapshotTree(lib);
    // Leave room for a few photos only (tmpfs counts whole 4 KiB pages).
    spawnSync('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=4096', 'count=14'], { stdio: 'ignore' });
    const out = join(mnt, 'out');
    const { summary, failed } = await run(lib, out);
    expect(summary.done).toBeGreaterThan(0);
    expect(summary.failed).toBeGreaterThan(0);
    expect(summary.done + summary.failed).toBe(12);
    for (const e of Object.values(failed)) {
      expect(e.code).toBe('IO');
      expect(e.message).toMatch(/disk is full/);
    }
    const written = fileNames(out).filter((f) => f.endsWith('.sgai'));
    expect(written.length).toBe(summary.done);
    expect(fileNames(out).filter((f) => /sgai-tmp/.test(f))).toEqual([]);
    expectOriginalsUnchanged(lib, before);
  });

  it('a read-only output folder: every photo fails with words that say so', async (ctx) => {
    const mnt = join(tempDir('sgai-err-ro-'), 'ro');
    if (!tryMountTmpfs(mnt, 'size=64k', mounts)) {
      console.log('mounting a tmpfs is not permitted here: the read-only case is covered in test/safe-write.test.ts');
      ctx.skip();
      return;
    }
    mkdirSync(join(mnt, 'out'));
    spawnSync('mount', ['-o', 'remount,ro', mnt]);
    const lib = tempDir('sgai-err-lib3-');
    for (let i = 0; i < 3; i++) await makePhoto(join(lib, `p${i}.jpg`), { seed: i });
    let summary: { failed: number; done: number } | undefined;
    let error: unknown;
    try {
      ({ summary } = await run(lib, join(mnt, 'out')));
    } catch (e) {
      error = e;
    }
    // Either refused up front (the manifest cannot be written) or per photo: never a partial file, never "done".
    if (error) expect(String((error as Error).message)).toMatch(/read-only/);
    else expect(summary).toMatchObject({ done: 0, failed: 3 });
    expect(readdirSync(join(mnt, 'out'))).toEqual([]);
  });
});
