/**
 * Electron main's IPC handlers with Electron's ipcMain and the window faked: every contract channel
 * is registered, requests from anything but our window's main frame showing our page are refused
 * (FORBIDDEN, logged, never dispatched), accepted ones reach the real dispatcher, and engine events
 * reach the window. The preload's bridge is wired to the same fake IPC to check both ends agree.
 */
import { describe, expect, it, vi } from 'vitest';
import { createDispatcher } from '../src/host/dispatch';
import { PathGuard } from '../src/host/path-guard';
import { type EventName, invoke, invokeNames, type InvokeName } from '../src/ipc/contract';
import { ok, type Result } from '../src/ipc/result';
import { electronHostHandlers } from '../src/main/host-handlers';
import { type AppWindowLike, type FrameLike, type InvokeEventLike, type IpcMainLike, NOT_OUR_WINDOW, registerIpcHandlers } from '../src/main/ipc-handlers';
import { isRendererUrl, rendererLocation } from '../src/main/renderer-location';
import { buildBridge } from '../src/preload/bridge';
import { EVENT_CHANNEL } from '../src/preload/channels';

const renderer = rendererLocation(undefined, '/opt/sgai/out/renderer/index.html');
const OUR_PAGE = 'file:///opt/sgai/out/renderer/index.html';

class FakeIpcMain implements IpcMainLike {
  handlers = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => unknown>();
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown) {
    if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`); // Electron refuses this too
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string) {
    this.handlers.delete(channel);
  }
}

function fakeWindow(url = OUR_PAGE) {
  const sent: unknown[][] = [];
  const mainFrame: FrameLike = { url, processId: 4, routingId: 1 };
  const webContents = { mainFrame, send: (...args: unknown[]) => void sent.push(args), isDestroyed: () => false };
  const win: AppWindowLike = { isDestroyed: () => false, webContents };
  return { win, webContents, mainFrame, sent };
}

function fakeEngine() {
  const listeners = new Set<(name: EventName, payload: unknown) => void>();
  return {
    listeners,
    on(l: (name: EventName, payload: unknown) => void) {
      listeners.add(l);
      return () => void listeners.delete(l);
    },
    emit(name: EventName, payload: unknown) {
      for (const l of listeners) l(name, payload);
    },
  };
}

function setup(url?: string) {
  const ipcMain = new FakeIpcMain();
  const w = fakeWindow(url);
  const engine = fakeEngine();
  const lines: string[] = [];
  const dispatcher = { invoke: vi.fn(async (name: InvokeName, raw: unknown): Promise<Result<unknown>> => ok({ name, raw })) };
  const dispose = registerIpcHandlers(ipcMain, {
    dispatcher, window: () => w.win, isRendererUrl: (u) => isRendererUrl(renderer, u), engine, log: (l) => void lines.push(l),
  });
  return { ipcMain, w, engine, lines, dispatcher, dispose };
}

describe('registerIpcHandlers', () => {
  it('registers exactly the contract channels and removes them again', () => {
    const { ipcMain, dispose, engine } = setup();
    expect([...ipcMain.handlers.keys()].sort()).toEqual(invokeNames.map((n) => invoke[n].channel).sort());
    expect(engine.listeners.size).toBe(1);
    dispose();
    expect(ipcMain.handlers.size).toBe(0);
    expect(engine.listeners.size).toBe(0);
  });

  it('passes a request from our window to the dispatcher under its contract name', async () => {
    const { ipcMain, w, dispatcher } = setup();
    const event = { sender: w.webContents, senderFrame: w.mainFrame };
    const r = await ipcMain.handlers.get('library:photos')!(event, { folderId: 'f1', offset: 0, limit: 10, filter: 'all' });
    expect(r).toEqual(ok({ name: 'libraryPhotos', raw: { folderId: 'f1', offset: 0, limit: 10, filter: 'all' } }));
    expect(dispatcher.invoke).toHaveBeenCalledTimes(1);
    // Our page with a route in the fragment is still our page.
    const routed = { sender: w.webContents, senderFrame: { ...w.mainFrame, url: `${OUR_PAGE}#/queue` } };
    expect(await ipcMain.handlers.get('app:info')!(routed, {})).toMatchObject({ ok: true });
  });

  const foreign: Array<[string, (w: ReturnType<typeof fakeWindow>) => InvokeEventLike]> = [
    ['another web contents', (w) => ({ sender: { other: true }, senderFrame: w.mainFrame })],
    ['a sub-frame of our window', (w) => ({ sender: w.webContents, senderFrame: { url: OUR_PAGE, processId: 4, routingId: 7 } })],
    ['our frame showing another page', (w) => ({ sender: w.webContents, senderFrame: { ...w.mainFrame, url: 'https://example.com/' } })],
    ['our frame showing another local file', (w) => ({ sender: w.webContents, senderFrame: { ...w.mainFrame, url: 'file:///home/me/photo.html' } })],
    ['a frame that is gone', (w) => ({ sender: w.webContents, senderFrame: null })],
  ];
  for (const [what, makeEvent] of foreign) {
    it(`refuses a request from ${what}: FORBIDDEN, logged, not dispatched`, async () => {
      const { ipcMain, w, dispatcher, lines } = setup();
      const r = await ipcMain.handlers.get('library:add')!(makeEvent(w), { path: '/home/me/Pictures' });
      expect(r).toEqual({ ok: false, error: { code: 'FORBIDDEN', message: NOT_OUR_WINDOW } });
      expect(dispatcher.invoke).not.toHaveBeenCalled();
      expect(lines.some((l) => l.startsWith('refused library:add:'))).toBe(true);
    });
  }

  it('refuses everything while no window is open', async () => {
    const ipcMain = new FakeIpcMain();
    const dispatcher = { invoke: vi.fn(async () => ok(1)) };
    registerIpcHandlers(ipcMain, { dispatcher, window: () => null, isRendererUrl: () => true, engine: fakeEngine(), log: () => {} });
    const r = (await ipcMain.handlers.get('jobs:list')!({ sender: {}, senderFrame: { url: OUR_PAGE, processId: 1, routingId: 1 } }, {})) as Result<unknown>;
    expect(r.ok ? null : r.error.code).toBe('FORBIDDEN');
    expect(dispatcher.invoke).not.toHaveBeenCalled();
  });

  it('answers a dispatcher that throws with an envelope, not a rejected invoke', async () => {
    const { ipcMain, w, dispatcher, lines } = setup();
    dispatcher.invoke.mockRejectedValueOnce(Object.assign(new Error('disk gone'), { code: 'IO' }));
    const r = await ipcMain.handlers.get('jobs:list')!({ sender: w.webContents, senderFrame: w.mainFrame }, {});
    expect(r).toEqual({ ok: false, error: { code: 'IO', message: 'disk gone' } });
    expect(lines.some((l) => l.includes('jobs:list failed unexpectedly'))).toBe(true);
  });

  it('forwards engine events to the window on the event channel', () => {
    const { engine, w } = setup();
    const payload = { paused: true };
    engine.emit('queue:state', payload);
    expect(w.sent).toEqual([[EVENT_CHANNEL, 'queue:state', payload]]);
  });

  it('with the real dispatcher: a malformed request is refused before any engine sees it', async () => {
    const ipcMain = new FakeIpcMain();
    const w = fakeWindow();
    const engineInvoke = vi.fn(async () => ok([]));
    const engine = { ...fakeEngine(), invoke: engineInvoke, pixels: vi.fn() };
    const lines: string[] = [];
    const dispatcher = createDispatcher({
      engine, guard: new PathGuard('anywhere'), log: (l) => void lines.push(l),
      host: {
        engineStatus: () => ({ state: 'ready', message: 'ok', restarts: 0 }), pickFolder: async () => ({ path: null }), pickFiles: async () => ({ paths: [] }),
        pendingOpens: () => ({ paths: [] }), revealPath: async () => ({ shown: false }),
      },
    });
    registerIpcHandlers(ipcMain, { dispatcher, window: () => w.win, isRendererUrl: (u) => isRendererUrl(renderer, u), engine, log: (l) => void lines.push(l) });
    const event = { sender: w.webContents, senderFrame: w.mainFrame };
    const bad = (await ipcMain.handlers.get('library:photos')!(event, { folderId: '../x', offset: -1, limit: 0, filter: 'all' })) as Result<unknown>;
    expect(bad.ok ? null : bad.error.code).toBe('BAD_REQUEST');
    const reveal = (await ipcMain.handlers.get('shell:reveal')!(event, { path: '/etc/passwd' })) as Result<unknown>;
    expect(reveal.ok ? null : reveal.error.code).toBe('FORBIDDEN');
    expect(engineInvoke).not.toHaveBeenCalled();
    expect(await ipcMain.handlers.get('jobs:list')!(event, {})).toEqual(ok([]));
    expect(engineInvoke).toHaveBeenCalledWith('jobs:list', {});
  });
});

describe('preload bridge over the same IPC', () => {
  /** A fake ipcRenderer that calls the fake ipcMain's handlers as our window's main frame would. */
  function wire() {
    const s = setup();
    const rendererListeners = new Map<string, Set<(event: unknown, ...args: unknown[]) => void>>();
    const ipc = {
      invoke: vi.fn(async (channel: string, ...args: unknown[]) => {
        const h = s.ipcMain.handlers.get(channel);
        if (!h) throw new Error(`No handler registered for '${channel}'`);
        return h({ sender: s.w.webContents, senderFrame: s.w.mainFrame }, ...args);
      }),
      on: vi.fn((channel: string, l: (event: unknown, ...args: unknown[]) => void) => {
        rendererListeners.set(channel, (rendererListeners.get(channel) ?? new Set()).add(l));
      }),
      removeListener: vi.fn((channel: string, l: (event: unknown, ...args: unknown[]) => void) => void rendererListeners.get(channel)?.delete(l)),
    };
    // What main's webContents.send would deliver to the renderer.
    s.engine.on((name, payload) => {
      for (const l of rendererListeners.get(EVENT_CHANNEL) ?? []) l({}, name, payload);
    });
    const files = new Map<File, string>();
    const bridge = buildBridge(ipc, { getPathForFile: (f) => files.get(f) ?? '' });
    return { ...s, ipc, rendererListeners, bridge, files };
  }

  it('has exactly one function per contract name, each reaching its channel', async () => {
    const { bridge, dispatcher } = wire();
    const fns = Object.keys(bridge).filter((k) => !['on', 'pathForFile'].includes(k));
    expect(fns.sort()).toEqual([...invokeNames].sort());
    for (const name of invokeNames) {
      const r = await (bridge[name] as (req: unknown) => Promise<Result<unknown>>)({ probe: name });
      expect(r).toEqual(ok({ name, raw: { probe: name } }));
    }
    expect(dispatcher.invoke).toHaveBeenCalledTimes(invokeNames.length);
  });

  it('on(): one IPC listener for all subscribers, filtered by event name, removed with the last', () => {
    const { bridge, engine, ipc, rendererListeners } = wire();
    const paused: unknown[] = [];
    const scans: unknown[] = [];
    const offA = bridge.on('queue:state', (p) => void paused.push(p));
    const offB = bridge.on('library:scan', (p) => void scans.push(p));
    expect(ipc.on).toHaveBeenCalledTimes(1);
    engine.emit('queue:state', { paused: true });
    expect(paused).toEqual([{ paused: true }]);
    expect(scans).toEqual([]);
    offA();
    offA(); // twice is harmless
    engine.emit('queue:state', { paused: false });
    expect(paused).toHaveLength(1);
    expect(rendererListeners.get(EVENT_CHANNEL)!.size).toBe(1);
    offB();
    expect(rendererListeners.get(EVENT_CHANNEL)!.size).toBe(0);
  });

  it('on(): refuses a name that is not a contract event', () => {
    const { bridge } = wire();
    expect(() => bridge.on('fs:read' as never, () => {})).toThrow(/not an sgai event/);
  });

  it('on(): a throwing subscriber does not stop the others', () => {
    const { bridge, engine } = wire();
    const got: unknown[] = [];
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    bridge.on('queue:state', () => {
      throw new Error('boom');
    });
    bridge.on('queue:state', (p) => void got.push(p));
    engine.emit('queue:state', { paused: true });
    expect(got).toEqual([{ paused: true }]);
    expect(err).toHaveBeenCalled();
    err.mockRestore();
  });

  it('an IPC failure comes back as an envelope, and pathForFile uses webUtils', async () => {
    const { bridge, ipc, files } = wire();
    ipc.invoke.mockRejectedValueOnce(new Error('channel closed'));
    const r = await bridge.jobsList({});
    expect(r.ok ? null : r.error).toMatchObject({ code: 'UNEXPECTED', message: expect.stringContaining('channel closed') });
    const dropped = new File(['x'], 'a.jpg');
    files.set(dropped, '/home/me/Pictures/a.jpg');
    expect(bridge.pathForFile(dropped)).toBe('/home/me/Pictures/a.jpg');
    expect(bridge.pathForFile(new File(['y'], 'made-in-page.jpg'))).toBeNull();
  });
});

describe('Electron host handlers', () => {
  function host(answer: { canceled: boolean; filePaths: string[] }, win: { id: string } | null = { id: 'win' }) {
    const dialogCalls: unknown[][] = [];
    const shown: string[] = [];
    const allowed: string[] = [];
    let waiting = ['/home/me/a.sgai'];
    const handlers = electronHostHandlers<{ id: string }>({
      dialog: { showOpenDialog: async (...args: unknown[]) => (dialogCalls.push(args), answer) },
      shell: { showItemInFolder: (p) => void shown.push(p) },
      guard: { allowRoot: (p) => void allowed.push(p) },
      engine: { status: () => ({ state: 'ready', message: 'The engine is ready.', restarts: 0 }) },
      window: () => win,
      exists: (p) => p === '/lib/out/a.sgai',
      opens: { drain: () => waiting.splice(0) },
    });
    return { handlers, dialogCalls, shown, allowed };
  }

  it('pickFolder opens a folder dialog on the window and allows what was picked', async () => {
    const h = host({ canceled: false, filePaths: ['/home/me/Pictures'] });
    expect(await h.handlers.pickFolder({ purpose: 'library' })).toEqual({ path: '/home/me/Pictures' });
    expect(h.dialogCalls).toEqual([[{ id: 'win' }, expect.objectContaining({ properties: ['openDirectory', 'createDirectory'] })]]);
    expect(h.allowed).toEqual(['/home/me/Pictures']);
    const free = host({ canceled: true, filePaths: [] }, null);
    expect(await free.handlers.pickFolder({ purpose: 'output' })).toEqual({ path: null });
    expect(free.dialogCalls).toEqual([[expect.objectContaining({ title: 'Choose where the compressed photos go' })]]);
    expect(free.allowed).toEqual([]);
  });

  it('pickFolder for an export asks where exported images go', async () => {
    const h = host({ canceled: false, filePaths: ['/home/me/Exports'] });
    expect(await h.handlers.pickFolder({ purpose: 'export' })).toEqual({ path: '/home/me/Exports' });
    expect(h.dialogCalls).toEqual([[{ id: 'win' }, { title: 'Choose where exported images go', buttonLabel: 'Export here', properties: ['openDirectory', 'createDirectory'] }]]);
    expect(h.allowed).toEqual(['/home/me/Exports']);
  });

  it('pickFiles opens a multi-select .sgai file dialog and allows the files\' folders', async () => {
    const h = host({ canceled: false, filePaths: ['/home/me/out/a.sgai', '/home/me/out/b.sgai', '/mnt/card/c.sgai'] });
    expect(await h.handlers.pickFiles({ purpose: 'sgai' })).toEqual({ paths: ['/home/me/out/a.sgai', '/home/me/out/b.sgai', '/mnt/card/c.sgai'] });
    expect(h.dialogCalls).toEqual([[{ id: 'win' }, {
      title: 'Open .sgai images', buttonLabel: 'Open', properties: ['openFile', 'multiSelections'], filters: [{ name: 'sgai images', extensions: ['sgai'] }],
    }]]);
    expect(h.allowed).toEqual(['/home/me/out', '/mnt/card']);
    const cancelled = host({ canceled: true, filePaths: [] }, null);
    expect(await cancelled.handlers.pickFiles({ purpose: 'sgai' })).toEqual({ paths: [] });
    expect(cancelled.allowed).toEqual([]);
  });

  it('pendingOpens hands over the waiting files once', async () => {
    const h = host({ canceled: true, filePaths: [] });
    expect(await h.handlers.pendingOpens({})).toEqual({ paths: ['/home/me/a.sgai'] });
    expect(await h.handlers.pendingOpens({})).toEqual({ paths: [] });
  });

  it('revealPath shows an existing path in the file manager and says when it cannot', async () => {
    const h = host({ canceled: true, filePaths: [] });
    expect(await h.handlers.revealPath({ path: '/lib/out/a.sgai' })).toEqual({ shown: true });
    expect(await h.handlers.revealPath({ path: '/lib/out/gone.sgai' })).toEqual({ shown: false });
    expect(h.shown).toEqual(['/lib/out/a.sgai']);
    expect(await h.handlers.engineStatus({})).toEqual({ state: 'ready', message: 'The engine is ready.', restarts: 0 });
  });
});
