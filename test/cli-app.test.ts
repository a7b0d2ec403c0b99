/**
 * `sgai app` as users run it (bin/sgai.mjs in a child process): without --browser it explains and
 * exits 2; with it, it serves the app with the given folder added, and Ctrl-C shuts the engine
 * down cleanly and exits 130.
 */
import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { invokeHttp, makeRendererDir } from './app-helpers';
import { makePhoto } from './engine-fixtures';
import { alive, ROOT, runCli, tempDir } from './helpers';

describe('sgai app', () => {
  it('without --browser says where the desktop app is and exits 2; bad options are usage errors', async () => {
    const r = await runCli(['app']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('npm run dev');
    expect(r.stderr).toContain('--browser');
    expect((await runCli(['app', '--browser', '--port', 'http'])).code).toBe(2);
    const missing = await runCli(['app', '--browser', join(tempDir(), 'no-such-folder')]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('does not exist');
  });

  it('--browser serves the app with the folder added; Ctrl-C stops the engine cleanly and exits 130', async () => {
    const home = realpathSync(tempDir('sgai-cli-app-'));
    const lib = join(home, 'Pictures');
    await makePhoto(join(lib, 'a.jpg'));
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'sgai.mjs'), 'app', '--browser', lib, '--allow', home, '--data-dir', join(home, 'config')], {
      cwd: ROOT, env: { ...process.env, SGAI_RENDERER_DIR: makeRendererDir() },
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const url = await new Promise<URL>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        const m = /running at (\S+)/.exec(stdout);
        if (m && stdout.includes('Ctrl-C stops the server')) resolve(new URL(m[1]));
      });
      void exited.then((code) => reject(new Error(`sgai app exited (${code}) before serving: ${stderr}`)));
    });
    expect(url.hostname).toBe('127.0.0.1');
    const token = new URLSearchParams(url.hash.slice(1)).get('token')!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const listed = await invokeHttp(Number(url.port), token, 'libraryList', {});
    expect((listed.json?.value as { path: string }[]).map((f) => f.path)).toEqual([lib]);
    const enginePid = Number(/engine: ready \(pid (\d+)\)/.exec(stderr)?.[1]);
    expect(alive(enginePid)).toBe(true);

    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('engine: stopped');
    expect(stderr).toContain('exit code 0');
    expect(alive(enginePid)).toBe(false);
  });
});
