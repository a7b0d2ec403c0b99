/**
 * `sgai app` as users run it (bin/sgai.mjs in a child process): without --browser it explains and
 * exits 2; with it, it serves the app with the given folder added, and Ctrl-C shuts the engine
 * down cleanly and exits 130. A .sgai given on the command line waits for the page (pendingOpens)
 * and its folder may be read, though it lies outside the allowed folders; other files may not.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodeFile } from '../src/core';
import { http, invokeHttp, makeRendererDir } from './app-helpers';
import { makePhoto } from './engine-fixtures';
import { alive, ROOT, runCli, TEST_MODEL_ID, tempDir } from './helpers';

/** Starts `sgai app --browser ...` and waits for the address it prints. */
async function startApp(args: string[], cwd = ROOT) {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'sgai.mjs'), 'app', '--browser', ...args], {
    cwd, env: { ...process.env, SGAI_RENDERER_DIR: makeRendererDir() },
  });
  const out = { stdout: '', stderr: '' };
  child.stderr.on('data', (d) => (out.stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const url = await new Promise<URL>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out.stdout += d;
      const m = /running at (\S+)/.exec(out.stdout);
      if (m && out.stdout.includes('Ctrl-C stops the server')) resolve(new URL(m[1]));
    });
    void exited.then((code) => reject(new Error(`sgai app exited (${code}) before serving: ${out.stderr}`)));
  });
  const token = new URLSearchParams(url.hash.slice(1)).get('token')!;
  return { child: child as ChildProcessWithoutNullStreams, exited, url, port: Number(url.port), token, out };
}

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
    const photo = join(tempDir(), 'a.jpg');
    await makePhoto(photo);
    const notSgai = await runCli(['app', '--browser', photo]);
    expect(notSgai.code).toBe(3);
    expect(notSgai.stderr).toContain('is neither a folder (to add to the library) nor a .sgai file (to view)');
  });

  it('--browser with a .sgai: the page gets it (absolute) once, and its tiles are served while files outside the roots are refused', async () => {
    const home = realpathSync(tempDir('sgai-cli-app-home-'));
    const viewed = realpathSync(tempDir('sgai-cli-app-viewed-')); // not under the --allow folder
    const other = realpathSync(tempDir('sgai-cli-app-other-'));
    await makePhoto(join(viewed, 'src.jpg'), { w: 160, h: 120, seed: 5 });
    const bytes = (await encodeFile(join(viewed, 'src.jpg'), { model: TEST_MODEL_ID })).bytes;
    writeFileSync(join(viewed, 'trip.sgai'), bytes);
    writeFileSync(join(other, 'secret.sgai'), bytes);

    // Started from the .sgai's folder with a relative path, as a shell user would.
    const app = await startApp(['trip.sgai', '--allow', home, '--data-dir', join(home, 'config')], viewed);
    try {
      expect(app.out.stdout).toContain(`The page opens ${join(viewed, 'trip.sgai')} in its viewer.`);
      expect((await invokeHttp(app.port, app.token, 'pendingOpens', {})).json).toEqual({ ok: true, value: { paths: [join(viewed, 'trip.sgai')] } });
      expect((await invokeHttp(app.port, app.token, 'pendingOpens', {})).json).toEqual({ ok: true, value: { paths: [] } });

      const px = (route: string, req: unknown) => http(app.port, 'GET', `/pixels/${route}?q=${encodeURIComponent(JSON.stringify(req))}&token=${app.token}`);
      const tile = await px('viewer-tile', { path: join(viewed, 'trip.sgai'), layer: 'sgai', level: 0, tx: 0, ty: 0 });
      expect(tile.status, tile.body.toString()).toBe(200);
      expect(await sharp(tile.body).metadata()).toMatchObject({ format: 'png', width: 160, height: 120 });
      const opened = await invokeHttp(app.port, app.token, 'viewerOpen', { path: join(viewed, 'trip.sgai') });
      expect(opened.json).toMatchObject({ ok: true, value: { width: 160, height: 120 } });

      const refused = await px('viewer-tile', { path: join(other, 'secret.sgai'), layer: 'sgai', level: 0, tx: 0, ty: 0 });
      expect([refused.status, refused.json?.error?.code]).toEqual([403, 'FORBIDDEN']);
      expect((await invokeHttp(app.port, app.token, 'viewerOpen', { path: join(other, 'secret.sgai') })).status).toBe(403);
      expect(app.out.stderr).toMatch(/refused pixels "viewer-tile": FORBIDDEN/);
    } finally {
      app.child.kill('SIGINT');
    }
    expect(await app.exited).toBe(130);
  });

  it('--browser serves the app with the folder added; Ctrl-C stops the engine cleanly and exits 130', async () => {
    const home = realpathSync(tempDir('sgai-cli-app-'));
    const lib = join(home, 'Pictures');
    await makePhoto(join(lib, 'a.jpg'));
    const { child, exited, url, port, token, out } = await startApp([lib, '--allow', home, '--data-dir', join(home, 'config')]);
    expect(url.hostname).toBe('127.0.0.1');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const listed = await invokeHttp(port, token, 'libraryList', {});
    expect((listed.json?.value as { path: string }[]).map((f) => f.path)).toEqual([lib]);
    const stderr = () => out.stderr;
    const enginePid = Number(/engine: ready \(pid (\d+)\)/.exec(stderr())?.[1]);
    expect(alive(enginePid)).toBe(true);

    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr()).toContain('engine: stopped');
    expect(stderr()).toContain('exit code 0');
    expect(alive(enginePid)).toBe(false);
  });
});
