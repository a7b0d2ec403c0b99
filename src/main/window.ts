/**
 * The one app window: locked-down web preferences, our page only (navigation-guard.ts), size and
 * position remembered (window-state.ts). Electron's BrowserWindow is injected (`createWindow`) so a
 * test can check the options and the wiring with a fake.
 */
import type { BrowserWindow, BrowserWindowConstructorOptions } from 'electron';
import { guardNavigation, type GuardedContents } from './navigation-guard';
import type { RendererLocation } from './renderer-location';
import { loadWindowState, MIN_HEIGHT, MIN_WIDTH, saveWindowState, type Rect } from './window-state';

/** The parts of BrowserWindow this module uses. */
export type WindowLike = Pick<BrowserWindow, 'loadURL' | 'loadFile' | 'getNormalBounds' | 'isMaximized' | 'maximize' | 'show'> & {
  once(event: 'ready-to-show', listener: () => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  webContents: GuardedContents;
};

export interface WindowDeps<W extends WindowLike> {
  createWindow: (options: BrowserWindowConstructorOptions) => W;
  renderer: RendererLocation;
  /** The built preload, out/preload/index.cjs. */
  preloadPath: string;
  /** userData/window-state.json */
  stateFile: string;
  /** Work areas of the attached displays (Electron's screen), to drop a position now off-screen. */
  workAreas: () => Rect[];
  openExternal: (url: string) => Promise<void>;
  log: (line: string) => void;
}

export function windowOptions(preloadPath: string, state: { width: number; height: number; x?: number; y?: number }): BrowserWindowConstructorOptions {
  return {
    width: state.width,
    height: state.height,
    ...(state.x !== undefined && state.y !== undefined ? { x: state.x, y: state.y } : {}),
    minWidth: MIN_WIDTH,
    minHeight: MIN_HEIGHT,
    title: 'sgai',
    // Shown once painted, so the window never flashes blank.
    show: false,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  };
}

export function createMainWindow<W extends WindowLike>(deps: WindowDeps<W>): W {
  const state = loadWindowState(deps.stateFile, deps.workAreas());
  const win = deps.createWindow(windowOptions(deps.preloadPath, state));
  guardNavigation(win.webContents, { renderer: deps.renderer, openExternal: deps.openExternal, log: deps.log });

  win.once('ready-to-show', () => {
    if (state.maximized) win.maximize();
    win.show();
  });
  win.on('close', () => {
    try {
      saveWindowState(deps.stateFile, win.getNormalBounds(), win.isMaximized());
    } catch (e) {
      deps.log(`could not remember the window's size: ${(e as Error)?.message ?? e}`);
    }
  });

  const loading = deps.renderer.kind === 'dev-server' ? win.loadURL(deps.renderer.url) : win.loadFile(deps.renderer.path);
  loading.catch((e: unknown) => deps.log(`the window's page did not load: ${(e as Error)?.message ?? e}`));
  return win;
}
