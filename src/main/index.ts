/**
 * Electron main: composes the app from small modules and owns nothing else. Order: one instance
 * only → ready → engine process → pixel protocol → IPC handlers → window → menu; quitting stops the
 * engine first (running photos are cancelled, nothing partial is left), then exits.
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
import { electronHostHandlers } from './host-handlers';
import { registerIpcHandlers } from './ipc-handlers';
import { createLog } from './log';
import { menuTemplate } from './menu';
import { menuActions } from './menu-actions';
import { batchNotifier } from './notify';
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
  let quit: 'running' | 'stopping-engine' | 'ready-to-exit' = 'running';

  const focusWindow = () => {
    if (!win) return void openWindow();
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
  };
  // A second launch (double-click on the icon again) brings this window forward instead.
  app.on('second-instance', focusWindow);

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

    // Roots 'anywhere': see host-handlers.ts for why Electron does not keep a list of allowed roots.
    const guard = new PathGuard('anywhere');
    const host = electronHostHandlers({ dialog, shell, guard, engine: engineClient, window: () => win, exists: existsSync });
    const dispatcher = createDispatcher({ engine: engineClient, guard, host, log });

    servePixels(protocol, dispatcher, log);
    registerIpcHandlers(ipcMain, { dispatcher, window: () => win, isRendererUrl: (url) => isRendererUrl(renderer, url), engine: engineClient, log });
    secureSession(session.defaultSession, log);
    openWindow();

    const actions = menuActions({
      dispatcher, showMessage: (options) => dialog.showMessageBox(options), version: app.getVersion(), versions: process.versions, log,
    });
    const run = (what: string, action: () => Promise<void>) => () => void action().catch((e: unknown) => log(`${what} failed: ${(e as Error)?.message ?? e}`));
    Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate({ isDev, isMac, addFolder: run('Add folder', actions.addFolder), about: run('About', actions.about) })));

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

  app.on('before-quit', (event) => {
    if (quit === 'ready-to-exit' || !engine) return closeLog();
    event.preventDefault();
    if (quit === 'stopping-engine') return;
    quit = 'stopping-engine';
    log('quitting: stopping the engine (running photos are cancelled, nothing partial is left)');
    win?.hide();
    engine
      .shutdown()
      .catch((e: unknown) => log(`the engine did not stop cleanly: ${(e as Error)?.message ?? e}`))
      .finally(() => {
        quit = 'ready-to-exit';
        app.quit();
      });
  });

  // Ctrl-C in the terminal of `npm run dev`, or a system shutdown: the same clean quit.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.quit());
}
