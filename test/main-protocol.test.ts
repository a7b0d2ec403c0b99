/**
 * The sgai-pixels:// handler: registered privileged before ready, parses route + q, goes through
 * the shared dispatcher (schema and folder checks), answers the bytes with their type, and refuses
 * anything else with a bare status. The engine's part is played by sharp on the real photo file.
 */
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createDispatcher } from '../src/host/dispatch';
import { PathGuard } from '../src/host/path-guard';
import { PIXEL_SCHEME } from '../src/ipc/contract';
import { electronPixelsUrl } from '../src/ipc/http';
import { ApiError } from '../src/ipc/result';
import { pixelHandler, registerPixelScheme, servePixels } from '../src/main/protocol';
import { makePhoto } from './engine-fixtures';
import { tempDir } from './helpers';

const get = (url: string, method = 'GET') => new Request(url, { method });

describe('pixel protocol', () => {
  let lib: string;
  let outside: string;
  beforeAll(async () => {
    lib = tempDir('sgai-pixels-lib-');
    outside = tempDir('sgai-pixels-outside-');
    await makePhoto(join(lib, 'trip', 'a.jpg'), { w: 400, h: 300 });
    await makePhoto(join(outside, 'secret.jpg'));
    symlinkSync(join(outside, 'secret.jpg'), join(lib, 'link.jpg'));
  });

  function setup() {
    const guard = new PathGuard('anywhere');
    guard.learnFolder({ id: 'f1', path: lib, output: { destination: { kind: 'beside', suffix: '' } } as never });
    const enginePixels = vi.fn(async (_route: string, req: unknown) => {
      const { rel } = req as { rel: string };
      const bytes = await sharp(join(lib, rel)).rotate().resize(160, 160, { fit: 'inside' }).jpeg({ quality: 70 }).toBuffer();
      return { bytes: new Uint8Array(bytes), mime: 'image/jpeg' };
    });
    const lines: string[] = [];
    const dispatcher = createDispatcher({
      engine: { invoke: vi.fn(), pixels: enginePixels, on: () => () => {} }, guard, log: (l) => void lines.push(l),
      host: {
        engineStatus: () => ({ state: 'ready', message: '', restarts: 0 }), pickFolder: () => ({ path: null }), pickFiles: () => ({ paths: [] }),
        pendingOpens: () => ({ paths: [] }), revealPath: () => ({ shown: false }),
      },
    });
    return { handler: pixelHandler(dispatcher, (l) => void lines.push(l)), enginePixels, lines };
  }

  it('registers the scheme as standard, secure and fetchable, and handles it', () => {
    const registerSchemesAsPrivileged = vi.fn();
    registerPixelScheme({ registerSchemesAsPrivileged });
    expect(registerSchemesAsPrivileged).toHaveBeenCalledWith([{ scheme: PIXEL_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
    const handle = vi.fn();
    servePixels({ handle }, { pixels: vi.fn() }, () => {});
    expect(handle).toHaveBeenCalledWith(PIXEL_SCHEME, expect.any(Function));
  });

  it('serves a thumbnail of a library photo as JPEG bytes', async () => {
    const { handler } = setup();
    const res = await handler(get(electronPixelsUrl('thumb', { folderId: 'f1', rel: 'trip/a.jpg' })));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 160, height: 120 });
  });

  const refused: Array<[string, string, number, string?]> = [
    ['an unknown route', `${PIXEL_SCHEME}://full?q=${encodeURIComponent('{"folderId":"f1","rel":"trip/a.jpg"}')}`, 404],
    ['a path after the route', `${PIXEL_SCHEME}://thumb/extra?q=${encodeURIComponent('{"folderId":"f1","rel":"trip/a.jpg"}')}`, 404],
    ['a q that is not JSON', `${PIXEL_SCHEME}://thumb?q=%7Bnot-json`, 400],
    ['no q at all', `${PIXEL_SCHEME}://thumb`, 400],
    ['a request outside the schema', electronPixelsUrl('thumb', { folderId: 'f1', rel: '../../etc/passwd' }), 400],
    ['a folder nobody added', electronPixelsUrl('thumb', { folderId: 'nope', rel: 'trip/a.jpg' }), 403],
    ['a symlink leading out of the folder', electronPixelsUrl('thumb', { folderId: 'f1', rel: 'link.jpg' }), 403],
  ];
  for (const [what, url, status] of refused) {
    it(`refuses ${what} with ${status} and no body, without asking the engine`, async () => {
      const { handler, enginePixels, lines } = setup();
      const res = await handler(get(url));
      expect(res.status).toBe(status);
      expect(await res.text()).toBe('');
      expect(enginePixels).not.toHaveBeenCalled();
      expect(lines.length).toBeGreaterThan(0);
    });
  }

  it('refuses other methods', async () => {
    const { handler, enginePixels } = setup();
    const res = await handler(get(electronPixelsUrl('thumb', { folderId: 'f1', rel: 'trip/a.jpg' }), 'POST'));
    expect(res.status).toBe(404);
    expect(enginePixels).not.toHaveBeenCalled();
  });

  it("maps the engine's refusals to a status, with no details in the body", async () => {
    const cases: Array<[string, number]> = [['NOT_FOUND', 404], ['INPUT_UNREADABLE', 404], ['ENGINE_LOST', 503], ['UNEXPECTED', 500]];
    for (const [code, status] of cases) {
      const handler = pixelHandler({ pixels: async () => { throw new ApiError({ code, message: `/home/me/private/${code}` }); } }, () => {});
      const res = await handler(get(electronPixelsUrl('thumb', { folderId: 'f1', rel: 'trip/a.jpg' })));
      expect([res.status, await res.text()]).toEqual([status, '']);
    }
  });
});
