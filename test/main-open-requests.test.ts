/**
 * Opening .sgai files in the desktop app, with Electron's `app`, window and dialog as fakes and
 * real files on disk: which command-line arguments are files to open (POSIX and Windows style),
 * macOS open-file before and after the page is ready, a second launch with its own argv and
 * working folder, a closed window, and File > Open through the real dispatcher. The requests reach
 * the page through the real preload bridge.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher } from '../src/host/dispatch';
import { PathGuard } from '../src/host/path-guard';
import { electronHostHandlers } from '../src/main/host-handlers';
import { menuActions } from '../src/main/menu-actions';
import { isFileOnDisk, sgaiPathsFromArgv } from '../src/main/open-args';
import { listenForOpens, OpenRequests, type OpenWindowLike } from '../src/main/open-requests';
import { buildBridge } from '../src/preload/bridge';
import { EVENT_CHANNEL } from '../src/preload/channels';
import { tempDir } from './helpers';

let dir: string;
let elsewhere: string;
beforeAll(() => {
  dir = realpathSync(tempDir('sgai-open-'));
  elsewhere = realpathSync(tempDir('sgai-open-cwd2-'));
  mkdirSync(join(dir, 'sub'));
  mkdirSync(join(dir, 'folder.sgai')); // a folder with the extension is not a file
  for (const f of ['a.sgai', 'B.SGAI', 'sub/c.sgai', 'photo.jpg', 'with space.sgai']) writeFileSync(join(dir, f), 'x');
  writeFileSync(join(elsewhere, 'd.sgai'), 'x');
});

describe('files to open on a command line', () => {
  it('POSIX: skips the executable, the app path and flags; resolves relative paths and file URLs; keeps existing .sgai files once', () => {
    const lines: string[] = [];
    const argv = [
      '/usr/lib/electron/electron', '--inspect=0', '--remote-debugging-port=0', '/home/me/sgai', // what `electron <app>` under a test driver gets
      'a.sgai', '--', '--no-sandbox', 'sub/c.sgai', 'photo.jpg', 'missing.sgai', 'folder.sgai',
      pathToFileURL(join(dir, 'B.SGAI')).href, `file://${join(dir, 'with%20space.sgai')}`, 'https://example.com/x.sgai', './a.sgai', join(dir, 'a.sgai'),
    ];
    const found = sgaiPathsFromArgv(argv, { cwd: dir, hasAppPath: true, isFile: isFileOnDisk, platform: 'posix', log: (l) => void lines.push(l) });
    expect(found).toEqual([join(dir, 'a.sgai'), join(dir, 'sub', 'c.sgai'), join(dir, 'B.SGAI'), join(dir, 'with space.sgai')]);
    expect(lines).toEqual([
      `not opening ${join(dir, 'photo.jpg')}: sgai opens .sgai files`,
      `not opening ${join(dir, 'missing.sgai')}: there is no such file`,
      `not opening ${join(dir, 'folder.sgai')}: there is no such file`,
      'not opening https://example.com/x.sgai: only files on this computer can be opened',
    ]);
    // The packaged app has no app path: the first plain argument is already a file.
    expect(sgaiPathsFromArgv(['/opt/sgai/sgai', 'a.sgai'], { cwd: dir, hasAppPath: false, isFile: isFileOnDisk, platform: 'posix' })).toEqual([join(dir, 'a.sgai')]);
    // In development the app path is not taken for a file, even when it is the only argument.
    expect(sgaiPathsFromArgv(['/usr/lib/electron/electron', join(dir, 'a.sgai')], { cwd: dir, hasAppPath: true, isFile: isFileOnDisk, platform: 'posix' })).toEqual([]);
  });

  it('Windows: drive letters, relative paths against the launch folder, UNC shares, file URLs, any case', () => {
    const existing = new Set(['D:\\card\\IMG_0001.SGAI', 'C:\\Users\\me\\Pictures\\out\\b.sgai', '\\\\nas\\photos\\c.sgai', 'C:\\Users\\me\\d e.sgai', 'C:\\Users\\me\\Pictures\\notes.txt']);
    const argv = [
      'C:\\Program Files\\sgai\\sgai.exe', '--allow-file-access-from-files', '--original-process-start-time=13355', 'D:\\card\\IMG_0001.SGAI',
      'out\\b.sgai', '\\\\nas\\photos\\c.sgai', 'file:///C:/Users/me/d%20e.sgai', 'notes.txt', 'E:\\gone.sgai',
    ];
    const lines: string[] = [];
    const found = sgaiPathsFromArgv(argv, { cwd: 'C:\\Users\\me\\Pictures', hasAppPath: false, isFile: (p) => existing.has(p), platform: 'win32', log: (l) => void lines.push(l) });
    expect(found).toEqual(['D:\\card\\IMG_0001.SGAI', 'C:\\Users\\me\\Pictures\\out\\b.sgai', '\\\\nas\\photos\\c.sgai', 'C:\\Users\\me\\d e.sgai']);
    expect(lines).toEqual(['not opening C:\\Users\\me\\Pictures\\notes.txt: sgai opens .sgai files', 'not opening E:\\gone.sgai: there is no such file']);
  });
});

/** A window whose page hears events through the real preload bridge. */
function fakeWindow() {
  const ipcRenderer = new EventEmitter();
  const bridge = buildBridge(
    { invoke: async () => ({ ok: true, value: null }), on: (c, l) => ipcRenderer.on(c, l), removeListener: (c, l) => ipcRenderer.off(c, l) },
    { getPathForFile: () => '' },
  );
  const heard: string[] = [];
  bridge.on('viewer:open-request', ({ path }) => void heard.push(path));
  const raw: unknown[][] = [];
  let destroyed = false;
  const win: OpenWindowLike = {
    isDestroyed: () => destroyed,
    webContents: {
      isDestroyed: () => destroyed,
      send: (channel, ...args) => {
        raw.push([channel, ...args]);
        ipcRenderer.emit(channel, {}, ...args);
      },
    },
  };
  return { win, heard, raw, close: () => void (destroyed = true) };
}

class FakeApp extends EventEmitter {}

function setup(opts: { argv?: string[]; guard?: PathGuard } = {}) {
  const windows: ReturnType<typeof fakeWindow>[] = [];
  let current: ReturnType<typeof fakeWindow> | null = null;
  let ready = false;
  let shown = 0;
  const lines: string[] = [];
  const guard = opts.guard ?? new PathGuard([elsewhere]);
  const requests = new OpenRequests({
    window: () => current?.win ?? null,
    // As index.ts: before the app is ready nothing opens; after, a missing window is opened.
    showWindow: () => {
      if (!ready) return;
      shown++;
      if (!current) windows.push((current = fakeWindow()));
    },
    allowRoot: (p) => guard.allowRoot(p),
    log: (l) => void lines.push(l),
  });
  const app = new FakeApp();
  listenForOpens(app, requests, { argv: opts.argv ?? ['/opt/sgai/sgai'], cwd: dir, hasAppPath: false, isFile: isFileOnDisk, platform: 'posix', log: (l) => void lines.push(l) });
  const openFile = (path: string) => {
    let prevented = false;
    app.emit('open-file', { preventDefault: () => void (prevented = true) }, path);
    return prevented;
  };
  return {
    app, requests, guard, lines, windows, openFile,
    get current() { return current; },
    get shown() { return shown; },
    becomeReady: () => {
      ready = true;
      windows.push((current = fakeWindow()));
    },
    closeWindow: () => {
      current?.close();
      current = null;
    },
  };
}

describe('open requests', () => {
  it('the launch\'s own command line and an early open-file wait for the page, which takes them once; later ones arrive as events', () => {
    const t = setup({ argv: ['/opt/sgai/sgai', 'a.sgai', 'photo.jpg'] });
    // macOS: a double-clicked file arrives before the app is ready.
    expect(t.openFile(join(dir, 'sub', 'c.sgai'))).toBe(true);
    expect(t.openFile(join(dir, 'photo.jpg'))).toBe(true); // handled (not the OS's to report), but not opened
    expect(t.requests.pending).toEqual([join(dir, 'a.sgai'), join(dir, 'sub', 'c.sgai')]);
    expect(t.shown).toBe(0);

    t.becomeReady();
    const page = t.current!;
    t.openFile(join(dir, 'B.SGAI')); // the window exists, but its page has not asked yet
    expect(page.heard).toEqual([]);
    expect(t.requests.drain()).toEqual([join(dir, 'a.sgai'), join(dir, 'sub', 'c.sgai'), join(dir, 'B.SGAI')]);
    expect(t.requests.drain()).toEqual([]);

    t.openFile(join(dir, 'with space.sgai'));
    expect(page.heard).toEqual([join(dir, 'with space.sgai')]);
    expect(page.raw).toEqual([[EVENT_CHANNEL, 'viewer:open-request', { path: join(dir, 'with space.sgai') }]]);
    expect(t.shown).toBe(2); // brought forward for each request after ready
    expect(t.windows).toHaveLength(1);
  });

  it('a second launch: its files, relative to its own working folder, go to the page, and the window comes forward', () => {
    const t = setup();
    t.becomeReady();
    t.requests.drain();
    t.app.emit('second-instance', {}, ['/opt/sgai/sgai', '--allow-file-access-from-files', 'd.sgai', 'a.sgai'], elsewhere);
    expect(t.current!.heard).toEqual([join(elsewhere, 'd.sgai')]); // a.sgai is not in the second launch's folder
    expect(t.lines).toContain(`not opening ${join(elsewhere, 'a.sgai')}: there is no such file`);
    expect(t.shown).toBe(1);
    t.app.emit('second-instance', {}, ['/opt/sgai/sgai'], elsewhere);
    expect(t.shown).toBe(2);
    expect(t.current!.heard).toHaveLength(1);
  });

  it('with the window closed, a request opens a new one and waits for its page', () => {
    const t = setup();
    t.becomeReady();
    const first = t.current!;
    t.requests.drain();
    t.closeWindow();
    t.openFile(join(dir, 'a.sgai'));
    expect(t.windows).toHaveLength(2);
    expect(first.raw).toEqual([]);
    expect(t.current!.heard).toEqual([]);
    expect(t.requests.drain()).toEqual([join(dir, 'a.sgai')]);
    t.openFile(join(dir, 'B.SGAI'));
    expect(t.current!.heard).toEqual([join(dir, 'B.SGAI')]);
  });

  it('File > Open: the dialog through the real dispatcher, the files to the page, and their folders readable by the viewer', async () => {
    const guard = new PathGuard([elsewhere]); // a guard with a list of roots, to see the files allowed
    const t = setup({ guard });
    t.becomeReady();
    t.requests.drain();
    const picked = [join(dir, 'a.sgai'), join(dir, 'sub', 'c.sgai')];
    const dialogCalls: unknown[] = [];
    const host = electronHostHandlers({
      dialog: { showOpenDialog: async (...args: unknown[]) => (dialogCalls.push(args[1]), { canceled: false, filePaths: picked }) },
      shell: { showItemInFolder: () => {} },
      guard,
      engine: { status: () => ({ state: 'ready', message: '', restarts: 0 }) },
      window: () => t.current?.win ?? null,
      exists: () => true,
      opens: t.requests,
    });
    const engineCalls: unknown[] = [];
    const dispatcher = createDispatcher({ engine: { invoke: async (...a) => (engineCalls.push(a), { ok: true, value: null }), pixels: async () => ({ bytes: new Uint8Array(), mime: '' }), on: () => () => {} }, guard, host, log: () => {} });
    const viewerOpen = [{ path: join(dir, 'a.sgai'), must: 'root' as const }];
    await expect(guard.check(viewerOpen)).rejects.toMatchObject({ code: 'FORBIDDEN' });

    const actions = menuActions({ dispatcher, showMessage: async () => {}, open: (paths, from) => t.requests.open(paths, from), version: '1', versions: { node: '20' }, log: () => {} });
    await actions.openFiles();
    expect(dialogCalls).toEqual([expect.objectContaining({ properties: ['openFile', 'multiSelections'], filters: [{ name: 'sgai images', extensions: ['sgai'] }] })]);
    expect(t.current!.heard).toEqual(picked);
    expect(engineCalls).toEqual([]);
    await expect(guard.check(viewerOpen)).resolves.toBeUndefined();
    await expect(guard.check([{ path: join(dir, 'sub', 'c.sgai'), must: 'root' }])).resolves.toBeUndefined();
    // An OS open-file allows the file's folder too.
    const other = realpathSync(tempDir('sgai-open-os-'));
    writeFileSync(join(other, 'e.sgai'), 'x');
    t.openFile(join(other, 'e.sgai'));
    await expect(guard.check([{ path: join(other, 'e.sgai'), must: 'root' }])).resolves.toBeUndefined();
  });
});
