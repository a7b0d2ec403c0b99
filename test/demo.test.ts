/**
 * `npm run demo` works from a fresh clone: it uses the sample photo shipped in resources/sample
 * (no ../shared beside the clone), and any failure is one readable line, not a stack or a
 * screenful of minified tfjs.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers';

const tsx = createRequire(import.meta.url).resolve('tsx/cli');
let clone: string;

function runDemo(cwd: string, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [tsx, join(cwd, 'src', 'cli', 'demo.ts'), ...args], {
      cwd,
      env: { ...process.env, SGAI_BACKEND: 'wasm', SGAI_MODELS_DIR: '' },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', rej);
    p.on('close', (code) => res({ code: code ?? -1, stdout, stderr }));
  });
}

beforeAll(() => {
  // A stand-in for `git clone` into a folder with no ../shared beside it: the sources and the
  // sample are copied (so the demo resolves everything from here), the big model files and
  // node_modules are linked.
  clone = join(tempDir('sgai-clone-'), 'sgai');
  expect(existsSync(join(clone, '..', 'shared'))).toBe(false); // where the old demo looked
  mkdirSync(join(clone, 'resources'), { recursive: true });
  for (const f of ['package.json', 'tsconfig.json']) cpSync(join(ROOT, f), join(clone, f));
  cpSync(join(ROOT, 'src'), join(clone, 'src'), { recursive: true });
  cpSync(join(ROOT, 'resources', 'sample'), join(clone, 'resources', 'sample'), { recursive: true });
  symlinkSync(join(ROOT, 'resources', 'models'), join(clone, 'resources', 'models'));
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
});

afterAll(() => rmSync(dirname(clone), { recursive: true, force: true }));

describe('npm run demo', () => {
  it('runs on the shipped sample photo without ../shared', async () => {
    const r = await runDemo(clone);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^photo: +.*resources\/sample\/.*\.jpg$/m);
    for (const k of ['backend:', 'model:', 'size:', 'bpp:', 'PSNR:', 'time:', 'wrote:']) expect(r.stdout).toContain(k);
    expect(Number(/PSNR: +([\d.]+) dB/.exec(r.stdout)?.[1])).toBeGreaterThan(20);
    expect(existsSync(join(clone, 'out', 'demo', 'demo.sgai'))).toBe(true);
  }, 300_000);

  it('the demo source no longer reaches for ../shared', () => {
    expect(readFileSync(join(ROOT, 'src', 'cli', 'demo.ts'), 'utf8')).not.toMatch(/shared|kodak/i);
  });

  it('a missing photo → one line on stderr, non-zero exit, no stack', async () => {
    const r = await runDemo(clone, [join(clone, 'no-such-photo.jpg')]);
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^demo: .*no-such-photo\.jpg.*does not exist/);
    expect(r.stderr).not.toMatch(/^\s*at /m);
  }, 120_000);

  it('a file that is not a photo → one line too', async () => {
    const r = await runDemo(clone, [join(clone, 'package.json')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^demo: .*package\.json/);
  }, 120_000);
});
