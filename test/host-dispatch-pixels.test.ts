/**
 * The dispatcher's pixel routes on real folders, files and symlinks: library-photo routes are
 * checked inside their added folder, viewer routes (a .sgai path) like an invoke's 'root' paths.
 * Whatever is refused is logged and never reaches the engine (a recording stand-in here: the
 * dispatcher's job ends at forwarding); what passes is forwarded as parsed, and the engine's own
 * content type comes back unchanged (the preview may be WebP or JPEG). The same funnel behind
 * Electron's sgai-pixels:// handler answers 403 with no body.
 */
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher } from '../src/host/dispatch';
import { PathGuard } from '../src/host/path-guard';
import type { PixelRoute } from '../src/ipc/contract';
import { electronPixelsUrl } from '../src/ipc/http';
import type { OutputSettings } from '../src/ipc/schemas';
import { pixelHandler } from '../src/main/protocol';
import { tempDir } from './helpers';

const output = { destination: { kind: 'beside', suffix: '' } } as unknown as OutputSettings;

let base: string;
let root: string;
let outside: string;
let library: string;
beforeAll(() => {
  base = realpathSync(tempDir('sgai-dispatch-px-'));
  root = join(base, 'home');
  outside = join(base, 'outside');
  library = join(base, 'library'); // added to the library, not under the root
  for (const d of ['home/out', 'outside', 'library']) mkdirSync(join(base, d), { recursive: true });
  for (const f of ['home/out/a.sgai', 'outside/secret.sgai', 'library/b.sgai', 'library/p.jpg']) writeFileSync(join(base, f), 'x');
  symlinkSync(join(outside, 'secret.sgai'), join(root, 'out', 'door.sgai')); // a file in the root that is a door out
  symlinkSync(outside, join(root, 'dir-door'));
});

function setup() {
  const guard = new PathGuard([root]);
  guard.learnFolder({ id: 'lib1', path: library, output });
  const forwarded: Array<[string, unknown]> = [];
  const lines: string[] = [];
  const dispatcher = createDispatcher({
    guard, log: (l) => void lines.push(l),
    engine: {
      invoke: async () => ({ ok: true, value: null }),
      on: () => () => {},
      // The engine says what the bytes are: here a JPEG preview, to see the type is not the route's default.
      pixels: async (route, req) => (forwarded.push([route, req]), { bytes: new Uint8Array([0xff, 0xd8, 0xff]), mime: route === 'viewer-preview' ? 'image/jpeg' : 'image/png' }),
    },
    host: {
      engineStatus: () => ({ state: 'ready', message: '', restarts: 0 }), pickFolder: () => ({ path: null }), pickFiles: () => ({ paths: [] }),
      pendingOpens: () => ({ paths: [] }), revealPath: () => ({ shown: false }),
    },
  });
  const ask = async (route: string, req: unknown) => {
    try {
      return await dispatcher.pixels(route, req);
    } catch (e) {
      return { code: (e as { code: string }).code, message: (e as Error).message };
    }
  };
  return { dispatcher, guard, forwarded, lines, ask };
}

const tile = (path: string, extra: Record<string, unknown> = {}) => ({ path, layer: 'sgai', level: 0, tx: 0, ty: 0, ...extra });

describe('dispatcher pixel routes', () => {
  it('forwards viewer requests for .sgai files inside the roots or an added folder, with the engine\'s content type', async () => {
    const { ask, forwarded } = setup();
    expect(await ask('viewer-preview', { path: join(root, 'out', 'a.sgai') })).toEqual({ bytes: new Uint8Array([0xff, 0xd8, 0xff]), mime: 'image/jpeg' });
    expect(await ask('viewer-tile', tile(join(root, 'out', 'a.sgai'), { layer: 'heat', level: 2, tx: 1 }))).toMatchObject({ mime: 'image/png' });
    expect(await ask('viewer-tile', tile(join(library, 'b.sgai')))).toMatchObject({ mime: 'image/png' });
    expect(await ask('thumb', { folderId: 'lib1', rel: 'p.jpg' })).toMatchObject({ mime: 'image/png' });
    expect(forwarded).toEqual([
      ['viewer-preview', { path: join(root, 'out', 'a.sgai') }],
      ['viewer-tile', tile(join(root, 'out', 'a.sgai'), { layer: 'heat', level: 2, tx: 1 })],
      ['viewer-tile', tile(join(library, 'b.sgai'))],
      ['thumb', { folderId: 'lib1', rel: 'p.jpg' }],
    ]);
  });

  const refused: Array<[string, PixelRoute | string, () => unknown, string]> = [
    ['a preview outside the roots', 'viewer-preview', () => ({ path: join(outside, 'secret.sgai') }), 'FORBIDDEN'],
    ['a tile outside the roots', 'viewer-tile', () => tile(join(outside, 'secret.sgai')), 'FORBIDDEN'],
    ['a tile through a symlinked file that leads out', 'viewer-tile', () => tile(join(root, 'out', 'door.sgai')), 'FORBIDDEN'],
    ['a preview through a symlinked folder that leads out', 'viewer-preview', () => ({ path: join(root, 'dir-door', 'secret.sgai') }), 'FORBIDDEN'],
    ['a `..` path out of the roots', 'viewer-tile', () => tile(`${root}/out/../../outside/secret.sgai`), 'FORBIDDEN'],
    ['a sibling that shares the root\'s prefix', 'viewer-preview', () => ({ path: `${root}2/a.sgai` }), 'FORBIDDEN'],
    ['a relative path', 'viewer-preview', () => ({ path: 'out/a.sgai' }), 'FORBIDDEN'],
    ['a tile with an unknown layer', 'viewer-tile', () => tile(join(root, 'out', 'a.sgai'), { layer: 'raw' }), 'BAD_REQUEST'],
    ['a tile level past the last', 'viewer-tile', () => tile(join(root, 'out', 'a.sgai'), { level: 17 }), 'BAD_REQUEST'],
    ['a negative tile', 'viewer-tile', () => tile(join(root, 'out', 'a.sgai'), { tx: -1 }), 'BAD_REQUEST'],
    ['a viewer request in the thumbnail\'s shape', 'viewer-preview', () => ({ folderId: 'lib1', rel: 'b.sgai' }), 'BAD_REQUEST'],
    ['a path with a NUL', 'viewer-preview', () => ({ path: `${join(root, 'out', 'a.sgai')}\0.png` }), 'BAD_REQUEST'],
    ['a thumbnail of a folder never added', 'thumb', () => ({ folderId: 'nope', rel: 'p.jpg' }), 'FORBIDDEN'],
    ['an unknown route', 'viewer-original', () => ({ path: join(root, 'out', 'a.sgai') }), 'BAD_REQUEST'],
  ];
  for (const [what, route, req, code] of refused) {
    it(`refuses ${what}: ${code}, logged, not forwarded`, async () => {
      const { ask, forwarded, lines } = setup();
      const r = (await ask(route, req())) as { code: string; message: string };
      expect(r.code).toBe(code);
      expect(r.message.length).toBeGreaterThan(10);
      expect(forwarded).toEqual([]);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^refused pixels /);
    });
  }

  it('a folder allowed later (a file the user opened) is served from then on', async () => {
    const { ask, guard, forwarded } = setup();
    expect(await ask('viewer-preview', { path: join(outside, 'secret.sgai') })).toMatchObject({ code: 'FORBIDDEN' });
    guard.allowRoot(outside);
    expect(await ask('viewer-preview', { path: join(outside, 'secret.sgai') })).toMatchObject({ mime: 'image/jpeg' });
    expect(forwarded).toHaveLength(1);
  });

  it('behind Electron\'s sgai-pixels:// handler: 403 with no body outside the roots, the bytes and the engine\'s type inside', async () => {
    const { dispatcher, forwarded } = setup();
    const handler = pixelHandler(dispatcher, () => {});
    const out = await handler(new Request(electronPixelsUrl('viewer-tile', tile(join(root, 'out', 'door.sgai')) as never)));
    expect([out.status, await out.text()]).toEqual([403, '']);
    const ok = await handler(new Request(electronPixelsUrl('viewer-preview', { path: join(root, 'out', 'a.sgai') })));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/jpeg');
    expect(new Uint8Array(await ok.arrayBuffer())).toEqual(new Uint8Array([0xff, 0xd8, 0xff]));
    expect(forwarded).toEqual([['viewer-preview', { path: join(root, 'out', 'a.sgai') }]]);
  });
});
