/**
 * The contract is served everywhere: every invoke name has a preload function, a main-process
 * handler and a browser route, each reaching the same contract name with its schema applied; every
 * event has a schema; every pixel route is served over the Electron scheme and over HTTP. The
 * browser half runs against a real server and engine process.
 */
import { realpathSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HOST_CHANNELS } from '../src/host/dispatch';
import { eventNames, events, invoke, invokeNames, type InvokeName, PIXEL_SCHEME, type PixelReq, type PixelRoute, pixelRoutes, pixels } from '../src/ipc/contract';
import { electronPixelsUrl, httpPixelsPath, invokePath } from '../src/ipc/http';
import { ok } from '../src/ipc/result';
import { type InvokeEventLike, registerIpcHandlers } from '../src/main/ipc-handlers';
import { pixelHandler } from '../src/main/protocol';
import { buildBridge } from '../src/preload/bridge';
import { type BrowserApp, startBrowserApp } from '../src/server/app-server';
import { http, invokeHttp, makeRendererDir } from './app-helpers';
import { tempDir } from './helpers';

/** A request no channel accepts (every request schema is strict), so it stops at the schema. */
const NOT_IN_ANY_SCHEMA = { notInTheContract: true };

/** A well-formed request for each pixel route, naming something never allowed (a folder not added, a file outside the roots). */
const NOT_ALLOWED: { [K in PixelRoute]: PixelReq<K> } = {
  thumb: { folderId: 'notadded', rel: 'a.jpg' },
  'viewer-preview': { path: '/nowhere-allowed/a.sgai' },
  'viewer-tile': { path: '/nowhere-allowed/a.sgai', layer: 'sgai', level: 0, tx: 0, ty: 0 },
};
const notAllowed = (route: PixelRoute) => NOT_ALLOWED[route] as PixelReq<'thumb'>;

describe('the IPC contract', () => {
  it('declares each name once, with a unique channel, request and result schemas, and where it is answered', () => {
    const channels = invokeNames.map((n) => invoke[n].channel);
    expect(new Set(channels).size).toBe(channels.length);
    for (const name of invokeNames) {
      const def = invoke[name];
      expect(def.req, name).toBeInstanceOf(z.ZodType);
      expect(def.res, name).toBeInstanceOf(z.ZodType);
      expect(['engine', 'host'], name).toContain(def.where);
      expect(def.req.safeParse(NOT_IN_ANY_SCHEMA).success, `${name} accepts unknown fields`).toBe(false);
      // A request that can carry a filesystem path must say how that path is checked.
      const shape = JSON.stringify(z.toJSONSchema(def.req, { unrepresentable: 'any' }));
      if (/"(path|defaultOutput)"/.test(shape)) expect(typeof (def as { paths?: unknown }).paths, `${name} names paths but has no paths()`).toBe('function');
    }
    expect([...HOST_CHANNELS].sort()).toEqual(invokeNames.filter((n) => invoke[n].where === 'host').sort());
  });

  it('has a schema for every event and every pixel route', () => {
    expect(eventNames.length).toBeGreaterThan(0);
    for (const name of eventNames) expect(events[name], name).toBeInstanceOf(z.ZodType);
    for (const route of pixelRoutes) {
      expect(pixels[route].req, route).toBeInstanceOf(z.ZodType);
      expect(pixels[route].mime, route).toMatch(/^image\//);
      // The dispatcher checks a route's files from one of these; a route with neither is refused.
      const def = pixels[route] as { paths?: unknown; inFolder?: true };
      expect(typeof def.paths === 'function' || def.inFolder === true, `${route} says which files it reads`).toBe(true);
    }
  });

  it('the preload exposes one function per name, each calling its own channel, and subscribes to every event', async () => {
    const calls: unknown[][] = [];
    const ipc = { invoke: async (...args: unknown[]) => (calls.push(args), ok(null)), on: () => {}, removeListener: () => {} };
    const bridge = buildBridge(ipc, { getPathForFile: () => '' }) as unknown as Record<string, unknown>;
    const fns = Object.keys(bridge).filter((k) => k !== 'on' && k !== 'pathForFile');
    expect(fns.sort()).toEqual([...invokeNames].sort());
    for (const name of invokeNames) {
      await (bridge[name] as (r: unknown) => Promise<unknown>)({ probe: name });
      expect(calls[calls.length - 1], name).toEqual([invoke[name].channel, { probe: name }]);
    }
    const on = bridge.on as (e: string, cb: () => void) => () => void;
    for (const e of eventNames) on(e, () => {})();
    expect(() => on('not:an-event', () => {})).toThrow();
  });

  it('main registers a handler for every channel, each dispatching its own contract name', async () => {
    const handlers = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => unknown>();
    const dispatched: [InvokeName, unknown][] = [];
    const frame = { url: 'file:///app/index.html', processId: 1, routingId: 1 };
    const webContents = { mainFrame: frame, send: () => {}, isDestroyed: () => false };
    registerIpcHandlers(
      { handle: (c, l) => void handlers.set(c, l), removeHandler: (c) => void handlers.delete(c) },
      {
        dispatcher: { invoke: async (name, raw) => (dispatched.push([name, raw]), ok(null)) },
        window: () => ({ isDestroyed: () => false, webContents }),
        isRendererUrl: (u) => u === frame.url,
        engine: { on: () => () => {} },
        log: () => {},
      },
    );
    expect([...handlers.keys()].sort()).toEqual(invokeNames.map((n) => invoke[n].channel).sort());
    for (const name of invokeNames) {
      await handlers.get(invoke[name].channel)!({ sender: webContents, senderFrame: frame }, { probe: name });
      expect(dispatched[dispatched.length - 1], name).toEqual([name, { probe: name }]);
    }
  });

  it('main serves every pixel route over its scheme, and no other', async () => {
    const asked: string[] = [];
    const handler = pixelHandler({ pixels: async (route) => (asked.push(route), { bytes: new Uint8Array([0xff, 0xd8]), mime: pixels[route].mime }) }, () => {});
    for (const route of pixelRoutes) {
      const res = await handler(new Request(electronPixelsUrl(route, notAllowed(route))));
      expect(res.status, route).toBe(200);
      expect(asked[asked.length - 1]).toBe(route);
    }
    expect((await handler(new Request(`${PIXEL_SCHEME}://not-a-route?q=%7B%7D`))).status).toBe(404);
  });

  describe('over HTTP (sgai app --browser, real engine)', () => {
    let app: BrowserApp;
    beforeAll(async () => {
      const home = realpathSync(tempDir('sgai-contract-'));
      app = await startBrowserApp({ folders: [], roots: [home], dataDir: tempDir('sgai-contract-data-'), rendererDir: makeRendererDir(), log: () => {} });
    });
    afterAll(async () => {
      await app?.close();
    });

    it('answers every invoke name on its route with an envelope from that name\'s schema, and unknown names with 404', async () => {
      for (const name of invokeNames) {
        const r = await invokeHttp(app.port, app.token, invokePath(name).split('/').pop()!, NOT_IN_ANY_SCHEMA);
        expect(r.status, name).toBe(400);
        expect(r.json, name).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      }
      const engineStatus = await invokeHttp(app.port, app.token, 'engineStatus', {});
      expect(engineStatus.json).toMatchObject({ ok: true, value: { state: 'ready' } });
      expect((await invokeHttp(app.port, app.token, 'notAName', {})).status).toBe(404);
    });

    it('serves every pixel route (a request it cannot satisfy is refused, not unknown), and unknown routes with 404', async () => {
      for (const route of pixelRoutes) {
        const r = await http(app.port, 'GET', httpPixelsPath(route, notAllowed(route), app.token));
        expect(r.status, route).toBe(403);
        expect(r.json?.error?.code, route).toBe('FORBIDDEN');
      }
      expect((await http(app.port, 'GET', `/pixels/not-a-route?q=%7B%7D&token=${app.token}`)).status).toBe(404);
    });
  });
});
