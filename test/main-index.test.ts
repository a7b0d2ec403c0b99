/**
 * Electron main composed as it runs, with the 'electron' module replaced by small fakes (no Electron
 * binary here) and the engine as a real process: the scheme is registered before ready; after ready
 * the engine starts in userData, IPC answers our window only, the menu's Add folder goes through
 * the dispatcher, events reach the window, pixels come over the protocol, a finished batch notifies
 * once, .sgai files asked for (macOS open-file before ready, a second launch) reach the page, and
 * quitting stops the engine before the app exits.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { verifySgai } from '../src/core';
import { engineEntry } from '../src/engine/service/entry-path';
import { electronPixelsUrl } from '../src/ipc/http';
import type { Result } from '../src/ipc/result';
import type { BatchInfo, LibraryFolder } from '../src/ipc/schemas';
import { makePhoto } from './engine-fixtures';
import { tempDir } from './helpers';

const fx = await vi.hoisted(async () => {
  const { EventEmitter: Emitter } = await import('node:events');
  const { pathToFileURL: toUrl } = await import('node:url');
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  class FakeApp extends Emitter {
    isPackaged = false;
    paths = new Map<string, string>([['userData', '/nonexistent-default-profile']]);
    quits = 0;
    exited: number | null = null;
    setPath(k: string, v: string) { this.paths.set(k, v); }
    getPath(k: string) { return this.paths.get(k)!; }
    getVersion() { return '0.1.0-test'; }
    requestSingleInstanceLock() { return true; }
    whenReady() { return ready; }
    quit() {
      this.quits++;
      const e = { prevented: false, preventDefault() { this.prevented = true; } };
      this.emit('before-quit', e);
      if (!e.prevented) this.emit('test:exited');
    }
    exit(code: number) { this.exited = code; }
  }
  class FakeWebContents extends Emitter {
    sent: unknown[][] = [];
    mainFrame = { url: '', processId: 3, routingId: 1 };
    openHandler: unknown;
    setWindowOpenHandler(h: unknown) { this.openHandler = h; }
    send(...args: unknown[]) { this.sent.push(args); }
    isDestroyed() { return false; }
  }
  class FakeBrowserWindow extends Emitter {
    static all: FakeBrowserWindow[] = [];
    webContents = new FakeWebContents();
    visible = false;
    constructor(public options: Record<string, unknown>) { super(); FakeBrowserWindow.all.push(this); }
    async loadFile(p: string) { this.webContents.mainFrame.url = toUrl(p).href; this.emit('ready-to-show'); }
    async loadURL(u: string) { this.webContents.mainFrame.url = u; this.emit('ready-to-show'); }
    show() { this.visible = true; } hide() { this.visible = false; } focus() {} restore() {}
    isMinimized() { return false; } isMaximized() { return false; } maximize() {} isDestroyed() { return false; }
    getNormalBounds() { return { x: 10, y: 10, width: 1200, height: 800 }; }
  }
  class FakeNotification extends Emitter {
    static shown: Array<{ title: string; body: string }> = [];
    static isSupported() { return true; }
    constructor(private o: { title: string; body: string }) { super(); }
    show() { FakeNotification.shown.push(this.o); }
  }
  const handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>();
  const electron = {
    app: new FakeApp(),
    BrowserWindow: FakeBrowserWindow,
    Notification: FakeNotification,
    ipcMain: { handle: (c: string, h: (event: unknown, ...args: unknown[]) => unknown) => void handlers.set(c, h), removeHandler: (c: string) => void handlers.delete(c) },
    dialog: { showOpenDialog: async (..._a: unknown[]) => ({ canceled: true, filePaths: [] as string[] }), showMessageBox: async () => ({ response: 0 }), showErrorBox: () => {} },
    Menu: { template: null as unknown, buildFromTemplate: (t: unknown) => t, setApplicationMenu(m: unknown) { electron.Menu.template = m; } },
    protocol: { privileged: [] as unknown[], handler: null as null | ((r: Request) => Promise<Response>), registerSchemesAsPrivileged(s: unknown[]) { this.privileged.push(...s); }, handle(_s: string, h: (r: Request) => Promise<Response>) { this.handler = h; } },
    screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] },
    session: { defaultSession: { webRequest: { onHeadersReceived: () => {} }, setPermissionRequestHandler: () => {} } },
    shell: { openExternal: async () => {}, showItemInFolder: () => {} },
    // Set by the test: the real engine process behind utilityProcess.fork.
    utilityProcess: { fork: null as unknown as (...a: unknown[]) => unknown, forks: [] as Array<{ modulePath: string; options: Record<string, unknown> }> },
  };
  return { electron, handlers, markReady, FakeBrowserWindow, FakeNotification };
});
vi.mock('electron', () => ({ ...fx.electron, default: fx.electron }));

const { electron, handlers, FakeBrowserWindow, FakeNotification } = fx;
let engineChild: ChildProcess | undefined;

/** utilityProcess.fork → the real engine entry through child_process (same messages as a parentPort). */
electron.utilityProcess.fork = (modulePath: unknown, _args: unknown, options: unknown) => {
  const o = options as { env: Record<string, string>; serviceName: string; stdio: string };
  electron.utilityProcess.forks.push({ modulePath: modulePath as string, options: o });
  // The built worker (out/main/worker.js) is not there in a source checkout: its encoder processes run from sources.
  const { SGAI_WORKER_ENTRY: _built, ...env } = o.env;
  const child = fork(engineEntry().path, [], { env, serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  engineChild = child;
  const hardKill = child.kill.bind(child, 'SIGKILL');
  return Object.assign(child, { postMessage: (m: unknown) => void child.send(m as never), kill: () => hardKill() });
};

const profile = tempDir('sgai-main-profile-');
process.env.SGAI_USER_DATA_DIR = profile;

async function until<T>(what: string, probe: () => T | undefined | false, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterAll(() => {
  if (engineChild && engineChild.exitCode === null) engineChild.kill('SIGKILL');
});

describe('electron main, composed', () => {
  it('runs the app: engine, IPC, menu, events, pixels, notification and a clean quit', async () => {
    const lib = tempDir('sgai-main-lib-');
    for (const [i, rel] of ['a.jpg', 'b/c.jpg'].entries()) await makePhoto(join(lib, rel), { seed: i });

    const viewed = tempDir('sgai-main-viewed-');
    for (const f of ['early.sgai', 'later.sgai']) writeFileSync(join(viewed, f), 'not decoded here');

    await import('../src/main/index');
    // Before ready: only the scheme is registered (Electron requires it then).
    expect(electron.protocol.privileged).toEqual([{ scheme: 'sgai-pixels', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
    expect(electron.app.getPath('userData')).toBe(profile);
    expect(handlers.size).toBe(0);
    // macOS hands over a double-clicked file before the app is ready: it waits for the page.
    let prevented = false;
    electron.app.emit('open-file', { preventDefault: () => void (prevented = true) }, join(viewed, 'early.sgai'));
    expect(prevented).toBe(true);
    expect(FakeBrowserWindow.all).toHaveLength(0);

    fx.markReady();
    const win = await until('the window', () => FakeBrowserWindow.all[0]);
    expect(win.options).toMatchObject({ webPreferences: { contextIsolation: true, sandbox: true, nodeIntegration: false } });
    expect(win.webContents.mainFrame.url).toBe(pathToFileURL(join(import.meta.dirname, '..', 'src', 'renderer', 'index.html')).href);
    expect(electron.utilityProcess.forks[0]).toMatchObject({ options: { serviceName: 'sgai engine', stdio: 'pipe' } });
    expect(electron.utilityProcess.forks[0].modulePath).toMatch(/engine\.js$/);

    const asWindow = { sender: win.webContents, senderFrame: win.webContents.mainFrame };
    const call = async <T>(channel: string, req: unknown, event: unknown = asWindow) => (await handlers.get(channel)!(event, req)) as Result<T>;

    const info = await call<{ transport: string; version: string }>('app:info', {});
    expect(info).toMatchObject({ ok: true, value: { transport: 'electron', version: '0.1.0-test' } });
    const foreign = await call('app:info', {}, { sender: {}, senderFrame: { url: 'https://example.com', processId: 9, routingId: 9 } });
    expect(foreign).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });

    // The page takes what waited; a second launch's file (relative to its folder) then arrives as an event.
    expect(await call('app:pending-opens', {})).toEqual({ ok: true, value: { paths: [join(viewed, 'early.sgai')] } });
    expect(await call('app:pending-opens', {})).toEqual({ ok: true, value: { paths: [] } });
    electron.app.emit('second-instance', {}, [process.execPath, 'later.sgai'], viewed);
    expect(win.webContents.sent).toContainEqual(['sgai:event', 'viewer:open-request', { path: join(viewed, 'later.sgai') }]);
    expect(FakeBrowserWindow.all).toHaveLength(1);

    // File → Add folder… : the dialog answers, the folder is added and scanned; the window hears it.
    electron.dialog.showOpenDialog = async () => ({ canceled: false, filePaths: [lib] });
    const file = (electron.Menu.template as Array<{ label?: string; submenu?: Array<{ label?: string; click?: () => void }> }>).find((m) => m.label === 'File')!;
    file.submenu!.find((i) => i.label === 'Add folder…')!.click!();
    const events = () => win.webContents.sent.filter((s) => s[0] === 'sgai:event') as Array<[string, string, unknown]>;
    const scanned = await until('the scan', () => events().find(([, n, p]) => n === 'library:scan' && (p as { done: boolean }).done)?.[2] as { folderId: string; counts: { photos: number } } | undefined);
    expect(scanned.counts.photos).toBe(2);

    const res = await electron.protocol.handler!(new Request(electronPixelsUrl('thumb', { folderId: scanned.folderId, rel: 'b/c.jpg' })));
    expect(res.status).toBe(200);
    const thumb = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect(thumb.format).toBe('jpeg');
    expect(Math.max(thumb.width, thumb.height)).toBeLessThanOrEqual(160);
    expect(thumb.width / thumb.height).toBeCloseTo(128 / 96, 1);

    // No refinement, to keep it short, and no minimum saving (tiny test photos barely shrink); then run the folder.
    const folder = (await call<LibraryFolder[]>('library:list', {})) as { ok: true; value: LibraryFolder[] };
    const f = folder.value.find((x) => x.id === scanned.folderId)!;
    expect(await call('library:update', { folderId: f.id, output: { ...f.output, effort: 'off', minSavingsPercent: 0 } })).toMatchObject({ ok: true });
    expect(await call('jobs:start', { folderId: f.id })).toMatchObject({ ok: true });
    const done = await until('the batch', () => events().find(([, n, p]) => n === 'batch:state' && ['done', 'failed', 'cancelled'].includes((p as BatchInfo).state))?.[2] as BatchInfo | undefined, 300_000);
    expect(done, JSON.stringify(done)).toMatchObject({ state: 'done', totals: { done: 2, failed: 0 } });
    const outRoot = done.outRoot;
    const written = readdirSync(outRoot, { recursive: true }).map(String).filter((p) => p.endsWith('.sgai')).sort();
    expect(written).toEqual(['a.sgai', 'b/c.sgai']);
    for (const p of written) verifySgai(readFileSync(join(outRoot, p)));
    await until('the notification', () => FakeNotification.shown.length > 0);
    expect(FakeNotification.shown).toEqual([{ title: 'Compression finished', body: expect.stringMatching(/^[^:]+: 2 photos/) }]);

    // Quit: the first quit is held until the engine has stopped, then the app quits for real.
    const exited = new Promise<void>((r) => electron.app.once('test:exited', () => r()));
    const engineGone = new Promise<number | null>((r) => engineChild!.once('exit', (code) => r(code)));
    electron.app.quit();
    expect(await engineGone).toBe(0);
    await exited;
    expect(electron.app.quits).toBe(2);
    expect(existsSync(join(profile, 'library.json'))).toBe(true);
    expect(readFileSync(join(profile, 'logs', 'main.log'), 'utf8')).toMatch(/quitting: stopping the engine/);
  }, 600_000);
});

