/**
 * PathGuard on real folders and symlinks: roots, added folders and their output roots, `..`,
 * symlink escapes (also dangling ones and `link/..`), and whole-segment comparison.
 */
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isInside, PathGuard, realPathOf } from '../src/host/path-guard';
import type { PathCheck } from '../src/ipc/contract';
import type { OutputSettings } from '../src/ipc/schemas';
import { tempDir } from './helpers';

const output = (path: string): OutputSettings => ({
  destination: { kind: 'folder', path }, keepTree: true, template: '', conflict: 'unique', minSavingsPercent: 0,
  copyIfNoSavings: false, metadata: 'all', quality: { kind: 'preset', preset: 'balanced' }, effort: 'off', include: [], exclude: [], verify: false,
});

async function refusal(guard: PathGuard, checks: PathCheck[]): Promise<{ code: string; message: string } | undefined> {
  try {
    await guard.check(checks);
    return undefined;
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
}

describe('PathGuard', () => {
  let base: string;
  let root: string;
  let outside: string;
  beforeAll(() => {
    base = realpathSync(tempDir('sgai-guard-'));
    root = join(base, 'home');
    outside = join(base, 'elsewhere');
    for (const d of ['home/photos/2024', 'home/photosX', 'home/out', 'elsewhere/secret']) mkdirSync(join(base, d), { recursive: true });
    writeFileSync(join(base, 'elsewhere', 'secret', 'a.jpg'), 'x');
    symlinkSync(join(outside, 'secret'), join(root, 'photos', 'escape')); // a link out of the library
    symlinkSync(join(outside, 'nothing-yet'), join(root, 'dangling')); // points at a folder that does not exist
    symlinkSync(join(outside, 'secret'), join(root, 'deep-link'));
  });

  it('compares whole path segments', () => {
    expect(isInside('/a/b', '/a/b')).toBe(true);
    expect(isInside('/a/b', '/a/b/c')).toBe(true);
    expect(isInside('/a/b', '/a/bc')).toBe(false);
    expect(isInside('/a/b', '/a')).toBe(false);
  });

  it('resolves symlinks before `..`, as the OS does, and keeps a missing tail as written', async () => {
    // photos/escape -> elsewhere/secret, so photos/escape/.. is elsewhere, not photos.
    expect(await realPathOf(join(root, 'photos', 'escape') + '/..')).toBe(outside);
    expect(await realPathOf(join(root, 'photos', 'new', 'deeper'))).toBe(join(root, 'photos', 'new', 'deeper'));
    expect(await realPathOf(join(root, 'dangling', 'x'))).toBe(join(outside, 'nothing-yet', 'x'));
  });

  it("allows paths inside a root and refuses others, naming the path and what is allowed", async () => {
    const guard = new PathGuard([root]);
    expect(await refusal(guard, [{ path: join(root, 'photos'), must: 'root' }])).toBeUndefined();
    expect(await refusal(guard, [{ path: join(root, 'not-yet', 'made'), must: 'root' }])).toBeUndefined();
    const out = await refusal(guard, [{ path: join(outside, 'secret'), must: 'root' }]);
    expect(out?.code).toBe('FORBIDDEN');
    expect(out?.message).toContain(join(outside, 'secret'));
    expect(out?.message).toContain(root);
    expect(out?.message).toContain('--allow');
    for (const sneaky of [
      `${root}/photos/../../elsewhere/secret`, // plain ..
      join(root, 'photos', 'escape', 'a.jpg'), // through a symlink
      `${join(root, 'photos', 'escape')}/../secret`, // link/.. lands beside the link's target
      join(root, 'dangling', 'new-output'), // a dangling link: writes would land outside
      `${root}X`, // a sibling that shares the prefix
      'relative/path', // not a full path
    ]) {
      expect((await refusal(guard, [{ path: sneaky, must: 'root' }]))?.code, sneaky).toBe('FORBIDDEN');
    }
    expect(await refusal(new PathGuard('anywhere'), [{ path: join(outside, 'secret'), must: 'root' }])).toBeUndefined();
  });

  it("'added' paths must be in a library folder or its output root, which it learns and forgets", async () => {
    const guard = new PathGuard([root]);
    const inLibrary: PathCheck = { path: join(root, 'photos', '2024'), must: 'added' };
    expect((await refusal(guard, [inLibrary]))?.message).toContain('none yet');
    guard.learnFolder({ id: 'f1', path: join(root, 'photos'), output: output(join(root, 'out')) });
    expect(await refusal(guard, [inLibrary])).toBeUndefined();
    expect(await refusal(guard, [{ path: join(root, 'out', 'x.sgai'), must: 'added' }])).toBeUndefined();
    expect((await refusal(guard, [{ path: join(root, 'photosX'), must: 'added' }]))?.code).toBe('FORBIDDEN');
    expect((await refusal(guard, [{ path: join(root, 'photos', 'escape', 'a.jpg'), must: 'added' }]))?.code).toBe('FORBIDDEN');
    guard.forgetFolder('f1');
    expect((await refusal(guard, [inLibrary]))?.code).toBe('FORBIDDEN');
  });

  it('an added folder outside the roots also counts as a root (the user gave it)', async () => {
    const guard = new PathGuard([root]);
    guard.learnFolder({ id: 'f2', path: outside, output: output(join(outside, 'out')) });
    expect(await refusal(guard, [{ path: join(outside, 'secret'), must: 'root' }])).toBeUndefined();
  });

  it('keeps pixel requests inside their own folder, also through symlinks', async () => {
    const guard = new PathGuard([root]);
    guard.learnFolder({ id: 'f1', path: join(root, 'photos'), output: output(join(root, 'out')) });
    await expect(guard.checkInFolder('f1', '2024/a.jpg')).resolves.toBeUndefined();
    await expect(guard.checkInFolder('f1', 'escape/a.jpg')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(guard.checkInFolder('nope', 'a.jpg')).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
