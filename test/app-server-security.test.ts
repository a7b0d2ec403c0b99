/**
 * `sgai app --browser` against a real server, a real engine process and a real library folder:
 * everything that is not sgai's own page asking for something allowed is refused with the right
 * status and code, logged, and never reaches the engine (the engine client's invoke and pixels are
 * spied on). Allowed requests of the same kinds do reach it, so the spies can see. The viewer's
 * pixel routes name .sgai files by path: real files encoded here, inside and outside the roots.
 */
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RENDERER_CSP } from '../src/ipc/http';
import { type BrowserApp, startBrowserApp } from '../src/server/app-server';
import sharp from 'sharp';
import { encodeFile } from '../src/core';
import { NO_FILE_DIALOG, NO_FOLDER_DIALOG } from '../src/server/browser-host';
import { type HttpAnswer, http, invokeHttp, makeRendererDir, openEvents } from './app-helpers';
import { makePhoto } from './engine-fixtures';
import { TEST_MODEL_ID, tempDir } from './helpers';

describe('sgai app --browser security', () => {
  let app: BrowserApp;
  let base: string;
  let root: string;
  let lib: string;
  let outside: string;
  let folderId: string;
  const logs: string[] = [];
  let engineInvoke: ReturnType<typeof vi.spyOn>;
  let enginePixels: ReturnType<typeof vi.spyOn>;

  beforeAll(async () => {
    base = realpathSync(tempDir('sgai-app-sec-'));
    root = join(base, 'home');
    lib = join(root, 'Pictures');
    outside = join(base, 'outside');
    mkdirSync(outside, { recursive: true });
    await makePhoto(join(lib, 'a.jpg'), { seed: 1 });
    await makePhoto(join(lib, 'trip', 'b.jpg'), { seed: 2 });
    await makePhoto(join(outside, 'secret.jpg'), { seed: 3 });
    symlinkSync(join(outside, 'secret.jpg'), join(lib, 'escape.jpg')); // a "photo" that is a door out
    symlinkSync(outside, join(root, 'door')); // a folder inside the root that leads out of it
    // .sgai files: one in the root (not in any library folder), one outside, and a link from the root to it.
    await makePhoto(join(base, 'src.jpg'), { w: 160, h: 120, seed: 4 });
    const sgai = (await encodeFile(join(base, 'src.jpg'), { model: TEST_MODEL_ID })).bytes;
    mkdirSync(join(root, 'out'), { recursive: true });
    writeFileSync(join(root, 'out', 'view.sgai'), sgai);
    writeFileSync(join(outside, 'secret.sgai'), sgai);
    symlinkSync(join(outside, 'secret.sgai'), join(root, 'out', 'door.sgai'));
    app = await startBrowserApp({ folders: [lib], roots: [root], dataDir: tempDir('sgai-app-data-'), rendererDir: makeRendererDir(), log: (l) => void logs.push(l) });
    engineInvoke = vi.spyOn(app.engine, 'invoke');
    enginePixels = vi.spyOn(app.engine, 'pixels');
    const listed = await invokeHttp(app.port, app.token, 'libraryList', {});
    const folder = (listed.json?.value as { id: string; path: string }[]).find((f) => f.path === lib);
    folderId = folder!.id;
    // Thumbnails are served for scanned photos: wait for the scan of the added folder.
    for (let i = 0; i < 600; i++) {
      const photos = await invokeHttp(app.port, app.token, 'libraryPhotos', { folderId, offset: 0, limit: 10, filter: 'all' });
      if ((photos.json?.value as { total: number } | undefined)?.total === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(async () => {
    await app?.close();
  });

  const thumb = (req: unknown, token: string | null = app.token) =>
    http(app.port, 'GET', `/pixels/thumb?q=${encodeURIComponent(JSON.stringify(req))}${token === null ? '' : `&token=${encodeURIComponent(token)}`}`);
  const viewerPx = (route: 'viewer-preview' | 'viewer-tile', req: unknown) =>
    http(app.port, 'GET', `/pixels/${route}?q=${encodeURIComponent(JSON.stringify(req))}&token=${encodeURIComponent(app.token)}`);
  const tile = (path: string) => ({ path, layer: 'sgai', level: 0, tx: 0, ty: 0 });

  it('serves the renderer with its CSP and safe headers, and only its files', async () => {
    const page = await http(app.port, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toBe(RENDERER_CSP);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    const script = await http(app.port, 'GET', '/assets/app.js');
    expect([script.status, script.headers['content-type']]).toEqual([200, 'text/javascript; charset=utf-8']);
    for (const p of ['/assets/', '/assets', '/nope.js', '/assets/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc%2fpasswd', '/%00index.html']) {
      expect((await http(app.port, 'GET', p)).status, p).toBe(404);
    }
    expect((await http(app.port, 'POST', '/', { body: 'x' })).status).toBe(405);
  });

  it('answers sgai\'s own page: the engine is reached, and host channels answer as a browser can', async () => {
    const before = engineInvoke.mock.calls.length;
    const info = await invokeHttp(app.port, app.token, 'appInfo', {}, { Origin: `http://127.0.0.1:${app.port}`, 'Sec-Fetch-Site': 'same-origin' });
    expect(info.status).toBe(200);
    expect(info.json).toMatchObject({ ok: true, value: { transport: 'browser' } });
    const viaLocalhost = await invokeHttp(app.port, app.token, 'jobsList', {}, { Host: `localhost:${app.port}`, Origin: `http://localhost:${app.port}` });
    expect(viaLocalhost.status).toBe(200);
    expect(engineInvoke.mock.calls.length).toBe(before + 2);

    expect((await invokeHttp(app.port, app.token, 'pickFolder', { purpose: 'library' })).json).toEqual({ ok: false, error: { code: 'NOT_AVAILABLE', message: NO_FOLDER_DIALOG } });
    expect((await invokeHttp(app.port, app.token, 'revealPath', { path: join(lib, 'a.jpg') })).json).toEqual({ ok: true, value: { shown: false } });
    expect((await invokeHttp(app.port, app.token, 'engineStatus', {})).json).toMatchObject({ ok: true, value: { state: 'ready' } });

    const px = await thumb({ folderId, rel: 'trip/b.jpg' });
    expect(px.status).toBe(200);
    expect(px.headers['content-type']).toBe('image/jpeg');
    expect(px.body.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(enginePixels).toHaveBeenCalledTimes(1);

    expect((await invokeHttp(app.port, app.token, 'pickFiles', { purpose: 'sgai' })).json).toEqual({ ok: false, error: { code: 'NOT_AVAILABLE', message: NO_FILE_DIALOG } });
    expect((await invokeHttp(app.port, app.token, 'pendingOpens', {})).json).toEqual({ ok: true, value: { paths: [] } });

    const events = await openEvents(app.port, `/api/events?token=${encodeURIComponent(app.token)}`);
    expect(events.status).toBe(200);
    const first = await events.until(() => true, 10_000);
    expect(first).toMatchObject({ name: 'engine:status', data: { state: 'ready' } });
    events.close();
  });

  it('serves the viewer\'s pixels of a .sgai inside the roots, typed as the engine says', async () => {
    const before = enginePixels.mock.calls.length;
    const preview = await viewerPx('viewer-preview', { path: join(root, 'out', 'view.sgai') });
    expect(preview.status, preview.body.toString()).toBe(200);
    const format = (await sharp(preview.body).metadata()).format;
    expect(['webp', 'jpeg']).toContain(format);
    expect(preview.headers['content-type']).toBe(`image/${format}`);
    const t = await viewerPx('viewer-tile', tile(join(root, 'out', 'view.sgai')));
    expect(t.status, t.body.toString()).toBe(200);
    expect(t.headers['content-type']).toBe('image/png');
    expect(await sharp(t.body).metadata()).toMatchObject({ format: 'png', width: 160, height: 120 });
    expect(enginePixels.mock.calls.length).toBe(before + 2);
  });

  it('answers viewer:open and viewer:original for a .sgai inside the roots (its photo is not beside it: no original)', async () => {
    const before = engineInvoke.mock.calls.length;
    const path = join(root, 'out', 'view.sgai');
    const opened = await invokeHttp(app.port, app.token, 'viewerOpen', { path });
    expect(opened.json).toMatchObject({ ok: true, value: { name: 'view.sgai', width: 160, height: 120 } });
    expect((await invokeHttp(app.port, app.token, 'viewerOriginal', { path })).json).toEqual({ ok: true, value: { original: null, warnings: [] } });
    expect(engineInvoke.mock.calls.length).toBe(before + 2);
  });

  const json = { 'Content-Type': 'application/json' };
  const cases: [string, () => Promise<HttpAnswer>, number, string][] = [
    ['no token', () => invokeHttp(app.port, null, 'appInfo', {}), 403, 'FORBIDDEN'],
    ['a wrong token', () => invokeHttp(app.port, `${app.token.slice(0, -2)}xx`, 'appInfo', {}), 403, 'FORBIDDEN'],
    ['the token in the query instead of the header', () => http(app.port, 'POST', `/api/invoke/appInfo?token=${app.token}`, { headers: json, body: '{}' }), 403, 'FORBIDDEN'],
    ['a foreign Origin', () => invokeHttp(app.port, app.token, 'appInfo', {}, { Origin: 'https://evil.example' }), 403, 'FORBIDDEN'],
    ['Origin: null', () => invokeHttp(app.port, app.token, 'appInfo', {}, { Origin: 'null' }), 403, 'FORBIDDEN'],
    ['another port on this machine', () => invokeHttp(app.port, app.token, 'appInfo', {}, { Origin: `http://127.0.0.1:${app.port + 1}` }), 403, 'FORBIDDEN'],
    ['a wrong Host (DNS rebinding)', () => invokeHttp(app.port, app.token, 'appInfo', {}, { Host: `evil.example:${app.port}` }), 403, 'FORBIDDEN'],
    ['a Host with another port', () => invokeHttp(app.port, app.token, 'appInfo', {}, { Host: `127.0.0.1:${app.port + 1}` }), 403, 'FORBIDDEN'],
    ['Sec-Fetch-Site: cross-site', () => invokeHttp(app.port, app.token, 'appInfo', {}, { 'Sec-Fetch-Site': 'cross-site' }), 403, 'FORBIDDEN'],
    ['Sec-Fetch-Site: same-site', () => invokeHttp(app.port, app.token, 'appInfo', {}, { 'Sec-Fetch-Site': 'same-site' }), 403, 'FORBIDDEN'],
    ['malformed JSON', () => invokeHttp(app.port, app.token, 'appInfo', '{"oops": '), 400, 'BAD_REQUEST'],
    ['a body that is not JSON', () => invokeHttp(app.port, app.token, 'appInfo', '{}', { 'Content-Type': 'text/plain' }), 415, 'BAD_REQUEST'],
    ['a body over 1 MB', () => invokeHttp(app.port, app.token, 'settingsSet', { pad: 'x'.repeat((1 << 20) + 10) }), 413, 'BAD_REQUEST'],
    ['GET on an invoke route', () => http(app.port, 'GET', '/api/invoke/appInfo', { headers: { Authorization: `Bearer ${app.token}` } }), 405, 'BAD_REQUEST'],
    ['an unknown channel', () => invokeHttp(app.port, app.token, 'formatDisk', {}), 404, 'BAD_REQUEST'],
    ['a prototype key as channel', () => invokeHttp(app.port, app.token, '__proto__', {}), 404, 'BAD_REQUEST'],
    ['a request with an unknown field', () => invokeHttp(app.port, app.token, 'appInfo', { extra: 1 }), 400, 'BAD_REQUEST'],
    ['a request with a wrong type', () => invokeHttp(app.port, app.token, 'libraryPhotos', { folderId, offset: 0, limit: 100_000, filter: 'all' }), 400, 'BAD_REQUEST'],
    ['an id with path characters', () => invokeHttp(app.port, app.token, 'libraryScan', { folderId: '../x' }), 400, 'BAD_REQUEST'],
    ['a folder outside the roots', () => invokeHttp(app.port, app.token, 'libraryAdd', { path: outside }), 403, 'FORBIDDEN'],
    ['a `..` path out of the roots', () => invokeHttp(app.port, app.token, 'libraryAdd', { path: `${root}/Pictures/../../outside` }), 403, 'FORBIDDEN'],
    ['a symlinked folder that leads out', () => invokeHttp(app.port, app.token, 'libraryAdd', { path: join(root, 'door') }), 403, 'FORBIDDEN'],
    ['`link/..` (the OS resolves the link first)', () => invokeHttp(app.port, app.token, 'libraryAdd', { path: `${join(root, 'door')}/../outside` }), 403, 'FORBIDDEN'],
    ['a sibling that shares the root\'s prefix', () => invokeHttp(app.port, app.token, 'libraryAdd', { path: `${root}2` }), 403, 'FORBIDDEN'],
    ['a relative path', () => invokeHttp(app.port, app.token, 'libraryAdd', { path: 'Pictures' }), 403, 'FORBIDDEN'],
    ['an output folder outside the roots', () => invokeHttp(app.port, app.token, 'settingsSet', { defaultOutput: join(outside, 'out') }), 403, 'FORBIDDEN'],
    ['a destination outside the roots', () => invokeHttp(app.port, app.token, 'libraryUpdate', { folderId, output: outputTo(join(root, 'door', 'out')) }), 403, 'FORBIDDEN'],
    ['revealing a file outside the added folders', () => invokeHttp(app.port, app.token, 'revealPath', { path: join(outside, 'secret.jpg') }), 403, 'FORBIDDEN'],
    ['revealing through a symlink out of the library', () => invokeHttp(app.port, app.token, 'revealPath', { path: join(lib, 'escape.jpg') }), 403, 'FORBIDDEN'],
    ['events without a token', () => http(app.port, 'GET', '/api/events'), 403, 'FORBIDDEN'],
    ['events with a wrong token', () => http(app.port, 'GET', '/api/events?token=abc'), 403, 'FORBIDDEN'],
    ['events from another site', () => http(app.port, 'GET', `/api/events?token=${app.token}`, { headers: { 'Sec-Fetch-Site': 'cross-site' } }), 403, 'FORBIDDEN'],
    ['pixels without a token', () => thumb({ folderId, rel: 'a.jpg' }, null), 403, 'FORBIDDEN'],
    ['pixels with a wrong Host', () => http(app.port, 'GET', `/pixels/thumb?q=${encodeURIComponent(JSON.stringify({ folderId, rel: 'a.jpg' }))}&token=${app.token}`, { headers: { Host: 'attacker.example' } }), 403, 'FORBIDDEN'],
    ['pixels with a rel that climbs out', () => thumb({ folderId, rel: '../outside/secret.jpg' }), 400, 'BAD_REQUEST'],
    ['pixels with an absolute rel', () => thumb({ folderId, rel: join(outside, 'secret.jpg') }), 400, 'BAD_REQUEST'],
    ['pixels through a symlink out of the folder', () => thumb({ folderId, rel: 'escape.jpg' }), 403, 'FORBIDDEN'],
    ['pixels of a folder never added', () => thumb({ folderId: 'notafolder', rel: 'a.jpg' }), 403, 'FORBIDDEN'],
    ['a .sgai preview outside the roots', () => viewerPx('viewer-preview', { path: join(outside, 'secret.sgai') }), 403, 'FORBIDDEN'],
    ['a .sgai tile outside the roots', () => viewerPx('viewer-tile', tile(join(outside, 'secret.sgai'))), 403, 'FORBIDDEN'],
    ['a .sgai tile through a symlinked file that leads out', () => viewerPx('viewer-tile', tile(join(root, 'out', 'door.sgai'))), 403, 'FORBIDDEN'],
    ['a .sgai preview through a symlinked folder that leads out', () => viewerPx('viewer-preview', { path: join(root, 'door', 'secret.sgai') }), 403, 'FORBIDDEN'],
    ['a .sgai tile by a `..` path out of the roots', () => viewerPx('viewer-tile', tile(`${root}/out/../../outside/secret.sgai`)), 403, 'FORBIDDEN'],
    ['a .sgai preview by a relative path', () => viewerPx('viewer-preview', { path: 'out/view.sgai' }), 403, 'FORBIDDEN'],
    ['a .sgai tile with an unknown layer', () => viewerPx('viewer-tile', { ...tile(join(root, 'out', 'view.sgai')), layer: 'raw' }), 400, 'BAD_REQUEST'],
    ['opening a .sgai outside the roots in the viewer', () => invokeHttp(app.port, app.token, 'viewerOpen', { path: join(outside, 'secret.sgai') }), 403, 'FORBIDDEN'],
    ['opening a .sgai through a symlink out of the roots', () => invokeHttp(app.port, app.token, 'viewerOpen', { path: join(root, 'out', 'door.sgai') }), 403, 'FORBIDDEN'],
    ['asking for the original of a .sgai outside the roots', () => invokeHttp(app.port, app.token, 'viewerOriginal', { path: join(outside, 'secret.sgai') }), 403, 'FORBIDDEN'],
    ['asking for the original through a symlink out of the roots', () => invokeHttp(app.port, app.token, 'viewerOriginal', { path: join(root, 'out', 'door.sgai') }), 403, 'FORBIDDEN'],
    ['asking for the original by a `..` path out of the roots', () => invokeHttp(app.port, app.token, 'viewerOriginal', { path: `${root}/out/../../outside/secret.sgai` }), 403, 'FORBIDDEN'],
    ['pixels with a q that is not JSON', () => http(app.port, 'GET', `/pixels/thumb?q=%7Bnope&token=${app.token}`), 400, 'BAD_REQUEST'],
    ['an unknown pixel route', () => http(app.port, 'GET', `/pixels/original?q=${encodeURIComponent(JSON.stringify({ folderId, rel: 'a.jpg' }))}&token=${app.token}`), 404, 'NOT_FOUND'],
    ['an unknown API path', () => http(app.port, 'GET', `/api/admin?token=${app.token}`), 404, 'NOT_FOUND'],
  ];

  for (const [what, send, status, code] of cases) {
    it(`refuses ${what}: ${status} ${code}, logged, never reaching the engine`, async () => {
      const calls = engineInvoke.mock.calls.length + enginePixels.mock.calls.length;
      const refused = app.refusals.length;
      const logged = logs.length;
      const answer = await send();
      expect(answer.status).toBe(status);
      expect(answer.json?.ok).toBe(false);
      expect(answer.json?.error?.code).toBe(code);
      expect(answer.json?.error?.message.length).toBeGreaterThan(10);
      expect(engineInvoke.mock.calls.length + enginePixels.mock.calls.length).toBe(calls);
      expect(app.refusals.length).toBe(refused + 1);
      expect(app.refusals[refused]).toMatchObject({ status, code });
      const lines = logs.slice(logged).filter((l) => l.startsWith('refused'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).not.toContain(app.token);
    });
  }

  it('the engine still answers afterwards (nothing above broke it)', async () => {
    expect((await invokeHttp(app.port, app.token, 'libraryList', {})).json).toMatchObject({ ok: true });
  });
});

function outputTo(path: string) {
  return {
    destination: { kind: 'folder', path }, keepTree: true, template: '', conflict: 'unique', minSavingsPercent: 0, copyIfNoSavings: false,
    metadata: 'all', quality: { kind: 'preset', preset: 'balanced' }, effort: 'off', include: [], exclude: [], verify: false,
  };
}
