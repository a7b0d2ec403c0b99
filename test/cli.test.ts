/**
 * The `sgai` command as a user meets it: help, exit codes, clear messages, originals untouched,
 * and a portrait JPEG with EXIF orientation 6 and a Display-P3 profile coming back upright with
 * its ICC profile and EXIF carried into PNG and JPEG exports.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import exifr from 'exifr';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_MODEL_ID, kodim, runCli, tempDir } from './helpers';

describe('sgai CLI', () => {
  let dir: string;
  let sgai: string;
  beforeAll(async () => {
    dir = tempDir();
    sgai = join(dir, 'k.sgai');
    const e = await runCli(['encode', kodim(4), '-o', sgai, '--model', TEST_MODEL_ID, '--quiet']);
    expect(e.code, e.stderr).toBe(0);
  });

  it('--help and usage errors', async () => {
    const h = await runCli(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/sgai encode <image>/);
    expect((await runCli(['frobnicate'])).code).toBe(2);
    expect((await runCli(['encode'])).stderr).toMatch(/encode needs an input image/);
    const bad = await runCli(['encode', kodim(4), '--refine', 'magic']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown --refine method "magic"/);
  });

  it('info dumps header, chunks and sizes', async () => {
    const i = await runCli(['info', sgai]);
    expect(i.code).toBe(0);
    expect(i.stdout).toMatch(/model\s+sgai-test-n32m48 \(N=32, M=48\)/);
    expect(i.stdout).toMatch(/HEAD .* required\s+crc ok/);
    const j = JSON.parse((await runCli(['info', sgai, '--json'])).stdout);
    expect(j.header.width).toBe(512);
    expect(j.header.height).toBe(768);
    // The source's hash and size, recorded so a moved library is still recognised.
    const original = readFileSync(kodim(4));
    expect(j.source).toEqual({ sha256: createHash('sha256').update(original).digest('hex'), bytes: original.length });
    expect(j.version).toBe('1.1');
    expect(i.stdout).toContain(`source     ${original.length} B, sha256 ${j.source.sha256}`);
    expect(Object.values(j.sizeBreakdown as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(j.bytes);
  });

  it('bad input: missing file, corrupt file, missing model, existing output, unwritable folder', async () => {
    const missing = await runCli(['decode', join(dir, 'nope.sgai')]);
    expect(missing.code).toBe(3); // bad input, not a write failure
    expect(missing.stderr).toMatch(/no such file/);

    const bytes = readFileSync(sgai);
    const cut = join(dir, 'cut.sgai');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    const t = await runCli(['decode', cut, '-o', join(dir, 'cut.png')]);
    expect(t.code).toBe(3);
    expect(t.stderr).toMatch(/truncated/);
    expect(existsSync(join(dir, 'cut.png'))).toBe(false);

    const notImage = join(dir, 'notes.jpg');
    writeFileSync(notImage, 'this is not a photo');
    expect((await runCli(['encode', notImage, '-o', join(dir, 'n.sgai'), '--model', TEST_MODEL_ID])).code).toBe(3);

    const other = await runCli(['decode', sgai, '-o', join(dir, 'x.png')], { env: { SGAI_MODELS_DIR: '' } });
    expect(other.code).toBe(0); // the test model is found by id

    const exists = await runCli(['encode', kodim(4), '-o', sgai, '--model', TEST_MODEL_ID]);
    expect(exists.code).toBe(2);
    expect(exists.stderr).toMatch(/exists; pass --force/);

    const ro = join(dir, 'readonly');
    mkdirSync(ro);
    chmodSync(ro, 0o500);
    if (process.getuid?.() !== 0) {
      const w = await runCli(['decode', sgai, '-o', join(ro, 'x.png')]);
      expect(w.code).toBe(5);
    } else {
      console.log('running as root: a read-only folder is still writable, unwritable-folder check uses a missing folder');
    }
    const gone = await runCli(['decode', sgai, '-o', join(dir, 'no', 'such', 'folder', 'x.png')]);
    expect(gone.code).toBe(5);
    expect(gone.stderr).toMatch(/does not exist/);
  });

  it('portrait JPEG with orientation 6 and Display P3: upright, ICC and EXIF carried to PNG and JPEG', async () => {
    // Store the pixels rotated so that applying orientation 6 makes them upright again.
    const src = join(dir, 'portrait.jpg');
    const upright = await sharp(kodim(23)).extract({ left: 0, top: 0, width: 512, height: 384 }).toBuffer();
    // withMetadata first: it would otherwise reset the profile to sRGB.
    await sharp(await sharp(upright).rotate(-90).toBuffer()).withMetadata({ orientation: 6 }).withIccProfile('p3')
      .withExif({ IFD0: { Make: 'SgaiCam', Model: 'Test 1' } }).jpeg({ quality: 95 }).toFile(src);
    expect((await sharp(src).metadata()).orientation).toBe(6);
    const before = readFileSync(src);
    const out = join(dir, 'portrait.sgai');
    expect((await runCli(['encode', src, '-o', out, '--model', TEST_MODEL_ID, '--quiet'])).code).toBe(0);
    expect(Buffer.compare(readFileSync(src), before)).toBe(0); // original untouched
    const info = JSON.parse((await runCli(['info', out, '--json'])).stdout);
    expect([info.header.width, info.header.height]).toEqual([512, 384]);
    expect(info.header.originalOrientation).toBe(6);
    expect(info.metadata.icc).toBeGreaterThan(0);
    const srcIcc = (await sharp(src).metadata()).icc!;
    for (const ext of ['png', 'jpg']) {
      const exported = join(dir, `portrait-decoded.${ext}`);
      const d = await runCli(['decode', out, '-o', exported, '--quiet']);
      expect(d.code, d.stderr).toBe(0);
      const m = await sharp(exported).metadata();
      expect([m.width, m.height]).toEqual([512, 384]);
      expect(Buffer.compare(m.icc!, srcIcc)).toBe(0);
      const tags = await exifr.parse(exported, { translateValues: false });
      expect(tags.Make).toBe('SgaiCam');
      expect(tags.Orientation ?? 1).toBe(1);
      expect(statSync(exported).size).toBeGreaterThan(1000);
    }
  });
});
