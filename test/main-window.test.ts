/**
 * The window's locks with Electron faked: navigation to anything but our page is blocked, new windows
 * are denied (web links go to the OS browser), <webview> is refused; the window is built with the
 * secure preferences and remembers its size in a real file; the session sets our CSP and refuses
 * permissions.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserWindowConstructorOptions } from 'electron';
import { describe, expect, it, vi } from 'vitest';
import { RENDERER_CSP } from '../src/ipc/http';
import { guardNavigation, type GuardedContents, type PreventableEvent } from '../src/main/navigation-guard';
import { isRendererUrl, rendererLocation } from '../src/main/renderer-location';
import { secureSession, withCsp } from '../src/main/session-security';
import { createMainWindow } from '../src/main/window';
import { loadWindowState, MIN_WIDTH } from '../src/main/window-state';
import { tempDir } from './helpers';

type Listener = (event: PreventableEvent, url?: unknown) => void;
function fakeContents() {
  const listeners = new Map<string, Listener[]>();
  let openHandler: ((d: { url: string }) => { action: 'deny' }) | undefined;
  const contents: GuardedContents = {
    on: (event, l) => listeners.set(event, [...(listeners.get(event) ?? []), l]),
    setWindowOpenHandler: (h) => void (openHandler = h),
  };
  /** Fires an event the way Electron does; returns whether a listener prevented it. */
  const fire = (name: string, url: string, { onEvent = true } = {}) => {
    let prevented = false;
    const event: PreventableEvent = { preventDefault: () => void (prevented = true), ...(onEvent ? { url } : {}) };
    for (const l of listeners.get(name) ?? []) l(event, url);
    return prevented;
  };
  return { contents, fire, open: (url: string) => openHandler!({ url }), listeners };
}

const builtPage = '/opt/sgai/out/renderer/index.html';

describe('navigation guard', () => {
  function guarded(renderer = rendererLocation(undefined, builtPage)) {
    const f = fakeContents();
    const openExternal = vi.fn(async (_url: string) => {});
    const lines: string[] = [];
    guardNavigation(f.contents, { renderer, openExternal, log: (l) => void lines.push(l) });
    return { ...f, openExternal, lines };
  }

  it('blocks navigation away from our page (a dropped photo, a link, another file)', () => {
    const g = guarded();
    for (const url of ['file:///home/me/Pictures/a.jpg', 'https://example.com/', 'file:///opt/sgai/out/renderer/other.html', 'javascript:alert(1)']) {
      expect(g.fire('will-navigate', url)).toBe(true);
      expect(g.fire('will-redirect', url, { onEvent: false })).toBe(true);
    }
    expect(g.lines.filter((l) => l.startsWith('blocked navigation'))).toHaveLength(4);
    expect(g.openExternal).not.toHaveBeenCalled();
  });

  it('lets our own page through (any route) and blocks <webview>', () => {
    const g = guarded();
    expect(g.fire('will-navigate', 'file:///opt/sgai/out/renderer/index.html#/queue')).toBe(false);
    expect(g.fire('will-attach-webview', 'about:blank')).toBe(true);
  });

  it('in dev, only the local dev server origin is ours', () => {
    const g = guarded(rendererLocation('http://localhost:5173/', builtPage));
    expect(g.fire('will-navigate', 'http://localhost:5173/index.html')).toBe(false);
    expect(g.fire('will-navigate', 'http://localhost:5174/')).toBe(true);
    expect(() => rendererLocation('https://evil.example/', builtPage)).toThrow(/this machine/);
  });

  it('denies every new window; http(s) links open in the OS browser, nothing else does', () => {
    const g = guarded();
    expect(g.open('https://github.com/sgai')).toEqual({ action: 'deny' });
    expect(g.open('http://example.com/docs')).toEqual({ action: 'deny' });
    for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'smb://server/share', 'not a url']) expect(g.open(url)).toEqual({ action: 'deny' });
    expect(g.openExternal.mock.calls.map((c) => c[0])).toEqual(['https://github.com/sgai', 'http://example.com/docs']);
  });

  it('isRendererUrl compares the whole file path, not a prefix', () => {
    const loc = rendererLocation(undefined, builtPage);
    expect(isRendererUrl(loc, 'file:///opt/sgai/out/renderer/index.html?x=1')).toBe(true);
    expect(isRendererUrl(loc, 'file:///opt/sgai/out/renderer/index.html.evil')).toBe(false);
    expect(isRendererUrl(loc, 'sgai-pixels://thumb')).toBe(false);
  });
});

describe('main window', () => {
  function fakeWindowFactory() {
    const made: Array<{ options: BrowserWindowConstructorOptions; win: ReturnType<typeof makeWin> }> = [];
    function makeWin() {
      const handlers = new Map<string, () => void>();
      const contents = fakeContents();
      const win = {
        webContents: contents.contents,
        bounds: { x: 100, y: 80, width: 1000, height: 700 },
        maximized: false,
        shown: false,
        loaded: [] as string[],
        loadURL: vi.fn(async (u: string) => void win.loaded.push(u)),
        loadFile: vi.fn(async (p: string) => void win.loaded.push(p)),
        getNormalBounds: () => win.bounds,
        isMaximized: () => win.maximized,
        maximize: () => void (win.maximized = true),
        show: () => void (win.shown = true),
        once: (e: string, l: () => void) => void handlers.set(e, l),
        on: (e: string, l: () => void) => void handlers.set(e, l),
        emit: (e: string) => handlers.get(e)?.(),
        contents,
      };
      return win;
    }
    const createWindow = (options: BrowserWindowConstructorOptions) => {
      const win = makeWin();
      made.push({ options, win });
      return win;
    };
    return { made, createWindow };
  }

  it('is locked down, loads the built page, shows when ready and remembers its size and place', () => {
    const dir = tempDir('sgai-window-');
    const stateFile = join(dir, 'window-state.json');
    const f = fakeWindowFactory();
    const deps = {
      createWindow: f.createWindow, renderer: rendererLocation(undefined, builtPage), preloadPath: '/opt/sgai/out/preload/index.cjs',
      stateFile, workAreas: () => [{ x: 0, y: 0, width: 1920, height: 1080 }], openExternal: async () => {}, log: () => {},
    };
    const first = createMainWindow(deps);
    const { webPreferences, show, width } = f.made[0].options;
    expect(webPreferences).toMatchObject({
      preload: '/opt/sgai/out/preload/index.cjs', contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false,
    });
    expect(show).toBe(false);
    expect(width).toBeGreaterThanOrEqual(MIN_WIDTH);
    expect(first.loaded).toEqual([builtPage]);
    expect(first.contents.listeners.has('will-navigate')).toBe(true);
    first.emit('ready-to-show');
    expect(first.shown).toBe(true);

    first.bounds = { x: 300, y: 200, width: 1111, height: 777 };
    first.maximized = true;
    first.emit('close');
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual({ x: 300, y: 200, width: 1111, height: 777, maximized: true });

    const second = createMainWindow(deps);
    expect(f.made[1].options).toMatchObject({ x: 300, y: 200, width: 1111, height: 777 });
    second.emit('ready-to-show');
    expect(second.maximized).toBe(true);
  });

  it('loads the dev server URL under electron-vite dev', () => {
    const f = fakeWindowFactory();
    const win = createMainWindow({
      createWindow: f.createWindow, renderer: rendererLocation('http://localhost:5173', builtPage), preloadPath: '/p.cjs',
      stateFile: join(tempDir('sgai-window-'), 'w.json'), workAreas: () => [], openExternal: async () => {}, log: () => {},
    });
    expect(win.loaded).toEqual(['http://localhost:5173/']);
  });

  it('forgets a position on a display that is gone, and survives a damaged state file', () => {
    const dir = tempDir('sgai-window-');
    const file = join(dir, 's.json');
    writeFileSync(file, JSON.stringify({ x: 3000, y: 100, width: 1000, height: 700, maximized: false }));
    expect(loadWindowState(file, [{ x: 0, y: 0, width: 1920, height: 1080 }])).toMatchObject({ x: undefined, y: undefined, width: 1000 });
    expect(loadWindowState(file, [{ x: 0, y: 0, width: 1920, height: 1080 }, { x: 1920, y: 0, width: 2560, height: 1440 }])).toMatchObject({ x: 3000, y: 100 });
    writeFileSync(file, '{"width": 1000, "hei');
    expect(loadWindowState(file, [])).toMatchObject({ width: 1280, height: 820, maximized: false });
    writeFileSync(file, JSON.stringify({ width: 10, height: 10 }));
    expect(loadWindowState(file, []).width).toBe(1280);
  });
});

describe('session security', () => {
  it('sets exactly our CSP on responses and refuses permissions except copying', () => {
    let headersListener: ((d: { responseHeaders?: Record<string, string[] | string> }, cb: (r: { responseHeaders: Record<string, string[] | string> }) => void) => void) | undefined;
    let permissionHandler: ((c: unknown, p: string, cb: (g: boolean) => void) => void) | undefined;
    const lines: string[] = [];
    secureSession(
      { webRequest: { onHeadersReceived: (l) => void (headersListener = l) }, setPermissionRequestHandler: (h) => void (permissionHandler = h) },
      (l) => void lines.push(l),
    );
    let out: Record<string, string[] | string> | undefined;
    headersListener!({ responseHeaders: { 'content-security-policy': ["default-src *"], 'Content-Type': ['text/html'] } }, (r) => void (out = r.responseHeaders));
    expect(out).toEqual({ 'Content-Type': ['text/html'], 'Content-Security-Policy': [RENDERER_CSP] });
    expect(withCsp(undefined)).toEqual({ 'Content-Security-Policy': [RENDERER_CSP] });

    const answers: Record<string, boolean> = {};
    for (const p of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-sanitized-write']) permissionHandler!({}, p, (g) => void (answers[p] = g));
    expect(answers).toEqual({ media: false, geolocation: false, notifications: false, openExternal: false, 'clipboard-sanitized-write': true });
    expect(lines).toHaveLength(4);
  });
});
