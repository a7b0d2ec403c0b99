/**
 * The application menu as a plain template (Menu.buildFromTemplate turns it into a menu in
 * index.ts): File (Open…, Add folder…, Quit), Edit, View (reload and dev tools only in development),
 * Help.
 */
import type { MenuItemConstructorOptions } from 'electron';

export interface MenuActions {
  isDev: boolean;
  isMac: boolean;
  /** File > Open…: .sgai files into the viewer. */
  openFiles: () => void;
  addFolder: () => void;
  about: () => void;
}

export function menuTemplate(a: MenuActions): MenuItemConstructorOptions[] {
  const view: MenuItemConstructorOptions[] = [
    ...(a.isDev ? ([{ role: 'reload' }, { role: 'toggleDevTools' }, { type: 'separator' }] as const) : []),
    { role: 'resetZoom' },
    { role: 'zoomIn' },
    { role: 'zoomOut' },
    { type: 'separator' },
    { role: 'togglefullscreen' },
  ];
  return [
    // macOS puts About, Hide and Quit in the app's own menu.
    ...(a.isMac ? [{ role: 'appMenu' } as const] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Open…', accelerator: 'CmdOrCtrl+O', click: () => a.openFiles() },
        { label: 'Add folder…', accelerator: 'CmdOrCtrl+Shift+O', click: () => a.addFolder() },
        { type: 'separator' },
        a.isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    { label: 'View', submenu: view },
    { role: 'help', submenu: [{ label: 'About sgai', click: () => a.about() }] },
  ];
}
