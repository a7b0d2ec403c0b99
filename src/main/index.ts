/**
 * Electron main: composes the app from small modules and owns nothing else. Order: one instance
 * only → listen for files to open (command line, macOS open-file, second launches) → ready →
 * engine process → pixel protocol → IPC handlers → window → menu; quitting stops the engine first
 * (running photos are cancelled, nothing partial is left), then exits.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, Notification, protocol, screen, session, shell, utilityProcess } from 'electron';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDispatcher } from '../host/dispatch';
import { PathGuard } from '../host/path-guard';
import type { AppSettings } from '../ipc/schemas';
import { builtPaths, engineEnv } from './app-paths';
import { createEngineHost } from './engine-host';
import { stopEngineBeforeQuit } from './quit';
import { electronHostHandlers } from './host-handlers';
import { registerIpcHandlers } from './ipc-handlers';
import { createLog } from './log';
import { menuTemplate } from './menu';
import { menuActions } from './menu-actions';
import { batchNotifier } from './notify';
import { isFileOnDisk } from './open-args';
import { listenForOpens, OpenRequests } from './open-requests';
import { registerPixelScheme, servePixels } from './protocol';
import { isRendererUrl, rendererLocation } from './renderer-location';
import { secureSession } from './session-security';
import { createMainWindow } from './window';

const paths = builtPaths(dirname(fileURLToPath(import.meta.url)));
const isMac = process.platform === 'darwin';
const isDev = !app.isPackaged;

// A separate profile (tests, a second library set): must be set before the single-instance lock,
// which lives in the profile.
if (process.env.SGAI_USER_DATA_DIR) {
  mkdirSync(process.env.SGAI_USER_DATA_DIR, { recursive: true });
  app.setPath('userData', process.env.SGAI_USER_DATA_DIR);
}
registerPixelScheme(protocol);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  runApp();
}

function runApp(): void {
  const { log, close: closeLog } = createLog(join(app.getPath('userData'), 'logs'));
  let win: BrowserWindow | null = null;
  let engine: ReturnType<typeof createEngineHost> | null = null;
  let started = false;

  // Before start (ready, then the engine and handlers) there is no window yet: files asked for wait for the first one.
  const focusWindow = () => {
    if (!started) return;
    if (!win) return void openWindow();
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
  };
  // Roots 'anywhere': see host-handlers.ts for why Electron does not keep a list of allowed roots.
  const guard = new PathGuard('anywhere');
  const opens = new OpenRequests({ window: () => win, showWindow: focusWindow, allowRoot: (p) => guard.allowRoot(p), log });
  // A second launch (double-click on the icon or on a .sgai again) brings this window forward instead.
  listenForOpens(app, opens, { argv: process.argv, cwd: process.cwd(), hasAppPath: process.defaultApp === true, isFile: isFileOnDisk, log });

  const renderer = rendererLocation(app.isPackaged ? undefined : process.env.ELECTRON_RENDERER_URL, paths.rendererHtml);
  function openWindow(): void {
    win = createMainWindow({
      createWindow: (options) => new BrowserWindow(options),
      renderer,
      preloadPath: paths.preload,
      stateFile: join(app.getPath('userData'), 'window-state.json'),
      workAreas: () => screen.getAllDisplays().map((d) => d.workArea),
      openExternal: (url) => shell.openExternal(url),
      log,
    });
    win.on('closed', () => {
      win = null;
    });
  }

  app.whenReady().then(() => {
    const engineClient = createEngineHost({
      utilityProcess, entry: paths.engine, env: engineEnv(process.env, paths), dataDir: app.getPath('userData'), version: app.getVersion(), log,
    });
    engine = engineClient;
    // The window opens at once; until the engine is ready its status (and any failure) reaches the page as engine:status.
    engineClient.start().catch((e: unknown) => log(`the engine did not start: ${(e as Error)?.message ?? e}`));

    const host = electronHostHandlers({ dialog, shell, guard, engine: engineClient, window: () => win, exists: existsSync, opens });
    const dispatcher = createDispatcher({ engine: engineClient, guard, host, log });

    servePixels(protocol, dispatcher, log);
    registerIpcHandlers(ipcMain, { dispatcher, window: () => win, isRendererUrl: (url) => isRendererUrl(renderer, url), engine: engineClient, log });
    secureSession(session.defaultSession, log);
    started = true;
    openWindow();

    const actions = menuActions({
      dispatcher, showMessage: (options) => dialog.showMessageBox(options), open: (paths, from) => opens.open(paths, from), version: app.getVersion(), versions: process.versions, log,
    });
    const run = (what: string, action: () => Promise<void>) => () => void action().catch((e: unknown) => log(`${what} failed: ${(e as Error)?.message ?? e}`));
    Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate({
      isDev, isMac, openFiles: run('Open', actions.openFiles), addFolder: run('Add folder', actions.addFolder), about: run('About', actions.about),
    })));

    engineClient.on(batchNotifier({
      isSupported: () => Notification.isSupported(),
      create: (options) => new Notification(options),
      enabled: async () => {
        const r = await dispatcher.invoke('settingsGet', {});
        return r.ok && (r.value as AppSettings).notify;
      },
      focusWindow,
      log,
    }));

    app.on('activate', () => {
      if (!win) openWindow(); // macOS: the dock icon reopens the window
    });
  }).catch((e: unknown) => {
    log(`sgai could not start: ${(e as Error)?.stack ?? e}`);
    dialog.showErrorBox('sgai could not start', `${(e as Error)?.message ?? e}`);
    app.exit(1);
  });

  // macOS apps stay open without windows (a batch keeps running); elsewhere closing the window quits.
  app.on('window-all-closed', () => {
    if (!isMac) app.quit();
  });

  stopEngineBeforeQuit(app, { engine: () => engine, hideWindow: () => win?.hide(), closeLog, log });
}
