/** Scanning and planning: which files become jobs, in which order, and how shards split them. */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { emptyCounts, parseShard, planBatch, scanSources } from '../src/engine';
import { tempDir } from './helpers';
import { expectOriginalsUnchanged, snapshotTree } from './helpers-originals';

const touch = (p: string, body = 'x') => {
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, body);
};

async function scan(inputs: string[], opts: Parameters<typeof scanSources>[1] = {}) {
  const rels: string[] = [];
  for await (const f of scanSources(inputs, opts)) rels.push(f.rel);
  return rels;
}

describe('batch plan: scanning', () => {
  let lib: string;
  beforeAll(() => {
    lib = tempDir('sgai-plan-');
    // Content does not matter to the scanner: only names and types.
    for (const rel of [
      'a.jpg', 'B.JPEG', 'c.png', 'd.TIF', 'e.webp', 'f.heic', 'g.avif', 'h.tiff',
      'notes.txt', 'a.xmp', 'IMG_1.AAE', 'clip.THM', '.hidden.jpg', '.cache/x.jpg',
      '2023/Summer trip/Ærø beach 1.jpg', '2023/Summer trip/日本 写真.png', '2023/raw/IMG_2.cr2',
      'out/already.jpg', 'Trash/old.jpg',
    ]) touch(join(lib, rel));
    mkdirSync(join(lib, 'elsewhere'));
    touch(join(lib, '..', `${lib.split('/').pop()}-outside`, 'linked.jpg'));
    symlinkSync(join(lib, '..', `${lib.split('/').pop()}-outside`), join(lib, 'link-dir'));
    symlinkSync(join(lib, 'a.jpg'), join(lib, 'link.jpg'));
    symlinkSync(lib, join(lib, '2023', 'loop')); // a loop when links are followed
  });

  it('finds photos by extension (any case), skips hidden files, sidecars, other files, symlinks; sorted', async () => {
    const counts = emptyCounts();
    const rels = await scan([lib], { counts, skipFolders: [join(lib, 'out')] });
    expect(rels).toEqual([
      '2023/Summer trip/Ærø beach 1.jpg', '2023/Summer trip/日本 写真.png',
      'B.JPEG', 'Trash/old.jpg', 'a.jpg', 'c.png', 'd.TIF', 'e.webp', 'f.heic', 'g.avif', 'h.tiff',
    ]);
    expect(counts).toMatchObject({ photos: 11, hidden: 2, sidecars: 3, other: 2, outputRoots: 1, symlinks: 3 });
  });

  it('follows symlinks only when asked, and never loops', async () => {
    const counts = emptyCounts();
    const rels = await scan([lib], { followSymlinks: true, counts, skipFolders: [join(lib, 'out')] });
    expect(rels).toContain('link-dir/linked.jpg');
    expect(rels).toContain('link.jpg');
    expect(rels.filter((r) => r.includes('loop/'))).toEqual([]);
    expect(counts.warnings.some((w) => /loops back/.test(w))).toBe(true);
  });

  it('include and exclude globs; a bare glob matches the file name', async () => {
    expect(await scan([lib], { include: ['*.png'] })).toEqual(['2023/Summer trip/日本 写真.png', 'c.png']);
    const rels = await scan([lib], { exclude: ['Trash/**', '**/*.heic', 'out/**'] });
    expect(rels).not.toContain('Trash/old.jpg');
    expect(rels).not.toContain('f.heic');
    expect(rels).toContain('a.jpg');
  });

  it('plans the output root inside the input tree without scanning it, and keeps odd names', async () => {
    const before = snapshotTree(lib);
    const plan = await planBatch({ inputs: [lib], outRoot: join(lib, 'out'), preset: 'balanced' });
    const rels = plan.jobs.map((j) => j.source.rel);
    expect(rels).not.toContain('out/already.jpg');
    const odd = plan.jobs.find((j) => j.source.rel === '2023/Summer trip/日本 写真.png')!;
    expect(odd.output).toBe(join(lib, 'out', '2023', 'Summer trip', '日本 写真.sgai'));
    expectOriginalsUnchanged(lib, before);
  });

  it('refuses the input folder itself as output root', async () => {
    await expect(planBatch({ inputs: [lib], outRoot: lib, preset: 'balanced' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('explicit files are taken as given, relative to their common folder', async () => {
    const rels = await scan([join(lib, 'a.jpg'), join(lib, 'notes.txt'), join(lib, '2023', 'Summer trip', 'Ærø beach 1.jpg')]);
    expect(rels).toEqual(['a.jpg', 'notes.txt', '2023/Summer trip/Ærø beach 1.jpg']);
  });

  it('shard k/n partitions the batch exactly, and the same way every time', async () => {
    const big = tempDir('sgai-shard-');
    for (let i = 0; i < 60; i++) touch(join(big, `f${i % 4}`, `p ${i}.jpg`));
    const all = (await planBatch({ inputs: [big], outRoot: join(big, 'o'), preset: 'p' })).jobs.map((j) => j.source.rel);
    const parts: string[][] = [];
    for (let k = 0; k < 3; k++) parts.push((await planBatch({ inputs: [big], outRoot: join(big, 'o'), preset: 'p', shard: { k, n: 3 } })).jobs.map((j) => j.source.rel));
    expect(parts.flat().sort()).toEqual([...all].sort());
    expect(new Set(parts.flat()).size).toBe(all.length);
    expect(parts.every((p) => p.length > 5)).toBe(true); // not all in one shard
    const again = (await planBatch({ inputs: [big], outRoot: join(big, 'o'), preset: 'p', shard: { k: 1, n: 3 } })).jobs.map((j) => j.source.rel);
    expect(again).toEqual(parts[1]);
    expect(() => parseShard('3/3')).toThrow(/k\/n/);
    expect(parseShard('2/5')).toEqual({ k: 2, n: 5 });
  });
});
