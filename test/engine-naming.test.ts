/** Output names: templates, {date} from EXIF (or the file time), and the conflict policies. */
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ManifestWriter, planBatch } from '../src/engine';
import { makePhoto } from './engine-fixtures';
import { tempDir } from './helpers';

describe('batch naming', () => {
  let lib: string;
  beforeAll(async () => {
    lib = tempDir('sgai-naming-');
    await makePhoto(join(lib, 'trip', 'dated.jpg'), { w: 32, h: 24, exifDate: '2021:07:14 10:00:00' });
    await makePhoto(join(lib, 'trip', 'undated.png'), { w: 32, h: 24 });
    utimesSync(join(lib, 'trip', 'undated.png'), new Date(2019, 0, 2, 12), new Date(2019, 0, 2, 12));
    await makePhoto(join(lib, 'same.jpg'), { w: 32, h: 24 });
    await makePhoto(join(lib, 'same.png'), { w: 32, h: 24 });
  });
  const plan = (out: string, extra: Partial<Parameters<typeof planBatch>[0]> = {}) => planBatch({ inputs: [lib], outRoot: out, preset: 'small', ...extra });
  const outputs = async (out: string, extra = {}) => Object.fromEntries((await plan(out, extra)).jobs.map((j) => [j.source.rel, j.action === 'skip' ? `skip: ${j.reason}` : j.outputRel]));

  it('mirrors the tree by default; two sources never share an output', async () => {
    const out = tempDir('sgai-naming-out-');
    expect(await outputs(out)).toEqual({
      'same.jpg': 'same.sgai', 'same.png': 'same (2).sgai', 'trip/dated.jpg': 'trip/dated.sgai', 'trip/undated.png': 'trip/undated.sgai',
    });
  });

  it('template tokens: {date} from EXIF, else the file time (and says which), {preset}, {n}', async () => {
    const out = tempDir('sgai-naming-out-');
    const p = await plan(out, { template: '{date}/{preset}-{n}-{name}' });
    const by = Object.fromEntries(p.jobs.map((j) => [j.source.rel, j]));
    expect(by['trip/dated.jpg'].outputRel).toBe('2021-07-14/small-3-dated.sgai');
    expect(by['trip/dated.jpg'].date).toEqual({ date: '2021-07-14', from: 'exif' });
    expect(by['trip/undated.png'].outputRel).toBe('2019-01-02/small-4-undated.sgai');
    expect(by['trip/undated.png'].date?.from).toBe('mtime');
  });

  it('refuses templates that escape the output folder or name every photo the same', async () => {
    const out = tempDir('sgai-naming-out-');
    await expect(plan(out, { template: '../{name}' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(plan(out, { template: '{folder}/{date}' })).rejects.toThrow(/needs \{name\}/);
    await expect(plan(out, { template: '{nmae}' })).rejects.toThrow(/unknown token/);
  });

  it('conflicts: unique adds (2), skip leaves it, overwrite only replaces files sgai wrote', async () => {
    const out = tempDir('sgai-naming-out-');
    mkdirSync(join(out, 'trip'), { recursive: true });
    writeFileSync(join(out, 'trip', 'dated.sgai'), 'not ours'); // a stranger's file
    writeFileSync(join(out, 'trip', 'undated.sgai'), 'ours');
    // The manifest says sgai wrote trip/undated.sgai (for another source).
    await new ManifestWriter(out).append({ source: 'elsewhere.jpg', size: 1, mtimeMs: 1, sha256: 'x', settings: 'y', output: 'trip/undated.sgai', state: 'done' });

    const u = await outputs(out);
    expect(u['trip/dated.jpg']).toBe('trip/dated (2).sgai');
    expect(u['trip/undated.png']).toBe('trip/undated (2).sgai');
    const s = await outputs(out, { conflict: 'skip' });
    expect(s['trip/dated.jpg']).toMatch(/^skip: .*not written by sgai/);
    expect(s['trip/undated.png']).toMatch(/^skip: .*written by sgai/);
    const o = await plan(out, { conflict: 'overwrite' });
    const by = Object.fromEntries(o.jobs.map((j) => [j.source.rel, j]));
    expect(by['trip/dated.jpg'].action).toBe('skip'); // never a file sgai did not write
    expect(by['trip/undated.png']).toMatchObject({ action: 'write', replace: true, outputRel: 'trip/undated.sgai' });
  });

  it("a photo's own earlier output keeps its name on a re-run", async () => {
    const out = tempDir('sgai-naming-out-');
    mkdirSync(join(out, 'trip'), { recursive: true });
    writeFileSync(join(out, 'trip', 'dated.sgai'), 'earlier run');
    await new ManifestWriter(out).append({ source: 'trip/dated.jpg', size: 1, mtimeMs: 1, sha256: 'x', settings: 'y', output: 'trip/dated.sgai', state: 'started' });
    const p = await plan(out);
    expect(p.jobs.find((j) => j.source.rel === 'trip/dated.jpg')).toMatchObject({ outputRel: 'trip/dated.sgai', replace: true, action: 'write' });
  });
});
