/**
 * findOriginal: the viewer's original photo is proven by its bytes (size + SHA-256 from the
 * .sgai's source record, or the batch manifest's), never by its name. Real .sgai files from a
 * real `sgai batch` run with the test model.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSgai, type SourceRecord } from '../src/core';
import { sha256File } from '../src/engine/service/file-hash';
import { findOriginal } from '../src/engine/service/viewer/find-original';
import { makePhoto } from './engine-fixtures';
import { TEST_MODEL_ID, runCli, tempDir } from './helpers';

describe('findOriginal', () => {
  let dir: string;
  let library: string;
  let out: string;
  let photo: string;
  let sgai: string;
  let source: SourceRecord;

  beforeAll(async () => {
    dir = tempDir('sgai-find-original-');
    library = join(dir, 'Pictures');
    out = join(dir, 'Pictures (sgai)');
    photo = join(library, '2024', 'IMG_0001.jpg');
    await makePhoto(photo, { w: 128, h: 96, seed: 3 });
    const b = await runCli(['batch', library, '--out', out, '--model', TEST_MODEL_ID, '--quiet']);
    expect(b.code, b.stderr).toBe(0);
    sgai = join(out, '2024', 'IMG_0001.sgai');
    source = decodeSgai(readFileSync(sgai)).source!;
    expect(source.bytes).toBe(readFileSync(photo).length);
  });

  it('finds the original beside the .sgai (any case of the extension) by size and hash', async () => {
    const d = join(dir, 'beside');
    mkdirSync(d);
    copyFileSync(sgai, join(d, 'IMG_0001.sgai'));
    copyFileSync(photo, join(d, 'img_0001.JPG'));
    const found = await findOriginal(join(d, 'IMG_0001.sgai'), source, []);
    expect(found).toEqual({ path: join(d, 'img_0001.JPG'), bytes: source.bytes, how: 'beside' });
  });

  it('refuses a same-named photo of the same size with other bytes', async () => {
    const d = join(dir, 'impostor');
    mkdirSync(d);
    copyFileSync(sgai, join(d, 'IMG_0001.sgai'));
    const bytes = readFileSync(photo);
    bytes[bytes.length >> 1] ^= 0xff; // same size, one byte different: an edit, not the original
    writeFileSync(join(d, 'IMG_0001.jpg'), bytes);
    expect(readFileSync(join(d, 'IMG_0001.jpg')).length).toBe(source.bytes);
    expect(await sha256File(join(d, 'IMG_0001.jpg'))).not.toBe(source.sha256);
    expect(await findOriginal(join(d, 'IMG_0001.sgai'), source, [])).toBeNull();
  });

  it('follows the batch manifest from the output root to the source in the library', async () => {
    const found = await findOriginal(sgai, source, [{ folder: join(dir, 'elsewhere'), outRoot: join(dir, 'other-out') }, { folder: library, outRoot: out }]);
    expect(found).toEqual({ path: photo, bytes: source.bytes, how: 'manifest' });
  });

  it('a file from an older writer (no source record) is matched only through the manifest, by the bytes it records', async () => {
    // Beside, by name alone: not trusted.
    const d = join(dir, 'old-writer');
    mkdirSync(d);
    copyFileSync(sgai, join(d, 'IMG_0001.sgai'));
    copyFileSync(photo, join(d, 'IMG_0001.jpg'));
    expect(await findOriginal(join(d, 'IMG_0001.sgai'), undefined, [])).toBeNull();
    // Through the manifest: the record's size and hash of the source.
    expect(await findOriginal(sgai, undefined, [{ folder: library, outRoot: out }])).toEqual({ path: photo, bytes: source.bytes, how: 'manifest' });
  });

  it('refuses the manifest route when the library photo has since changed', async () => {
    const lib2 = join(dir, 'Edited');
    const out2 = join(dir, 'Edited (sgai)');
    const p = join(lib2, 'a.jpg');
    await makePhoto(p, { w: 96, h: 64, seed: 5 });
    const b = await runCli(['batch', lib2, '--out', out2, '--model', TEST_MODEL_ID, '--quiet']);
    expect(b.code, b.stderr).toBe(0);
    const s2 = join(out2, 'a.sgai');
    const src2 = decodeSgai(readFileSync(s2)).source!;
    expect(await findOriginal(s2, src2, [{ folder: lib2, outRoot: out2 }])).not.toBeNull();
    const bytes = readFileSync(p);
    bytes[bytes.length - 10] ^= 0x01;
    writeFileSync(p, bytes);
    expect(await findOriginal(s2, src2, [{ folder: lib2, outRoot: out2 }])).toBeNull();
    expect(await findOriginal(s2, undefined, [{ folder: lib2, outRoot: out2 }])).toBeNull();
  });

  it('a stopped lookup fails CANCELLED, never "no original"; one stopped mid-hash as well', async () => {
    const d = join(dir, 'stopped');
    mkdirSync(d);
    copyFileSync(sgai, join(d, 'IMG_0001.sgai'));
    copyFileSync(photo, join(d, 'IMG_0001.jpg'));
    const stopped = new AbortController();
    stopped.abort();
    // The photo is there and right, and the manifest route would find it too: a stop still wins over both.
    await expect(findOriginal(join(d, 'IMG_0001.sgai'), source, [], stopped.signal)).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect(findOriginal(sgai, source, [{ folder: library, outRoot: out }], stopped.signal)).rejects.toMatchObject({ code: 'CANCELLED' });
    // Nothing beside it and no library: still CANCELLED, not null (the search did not run).
    await expect(findOriginal(join(dir, 'nowhere', 'IMG_0001.sgai'), source, [], stopped.signal)).rejects.toMatchObject({ code: 'CANCELLED' });
    // Stopped while the candidate's bytes are being read: the read is abandoned, the answer is CANCELLED.
    const big = join(d, 'BIG.sgai');
    copyFileSync(sgai, big);
    const bigPhoto = join(d, 'BIG.tif');
    writeFileSync(bigPhoto, new Uint8Array(32 << 20));
    const midway = new AbortController();
    const pending = findOriginal(big, { ...source, bytes: 32 << 20 }, [], midway.signal);
    setTimeout(() => midway.abort(), 5);
    await expect(pending).rejects.toMatchObject({ code: 'CANCELLED' });
    // Not stopped: the same call answers as before.
    expect(await findOriginal(join(d, 'IMG_0001.sgai'), source, [], new AbortController().signal)).toEqual({ path: join(d, 'IMG_0001.jpg'), bytes: source.bytes, how: 'beside' });
  });

  it('finds nothing when there is no photo beside it and no library holds it', async () => {
    const d = join(dir, 'alone');
    mkdirSync(d);
    copyFileSync(sgai, join(d, 'IMG_0001.sgai'));
    copyFileSync(photo, join(d, 'IMG_0002.jpg')); // the right bytes under another name are not looked for
    expect(await findOriginal(join(d, 'IMG_0001.sgai'), source, [{ folder: library, outRoot: out }])).toBeNull();
  });
});
