/**
 * The contract's 'host' channels in Electron: native folder dialogs, the file manager, and the
 * engine's status as main sees it.
 *
 * Paths and the PathGuard: in Electron the roots are "anywhere" (index.ts). Every path the renderer
 * sends was chosen by the photographer in our own page (a native dialog, a folder dropped on the
 * window, or typed into our own output settings); the page is our bundled code, sandboxed, with no
 * remote content, so a list of allowed roots would only refuse the user's own choices. A picked
 * folder is still handed to `allowRoot`, so a guard built with a list would accept it too. 'added'
 * checks (reveal only inside library and output folders) apply as everywhere.
 */
import type { HostHandlers } from '../host/dispatch';
import type { EngineStatus } from '../ipc/schemas';

export interface OpenDialogOptions {
  title: string;
  buttonLabel: string;
  properties: Array<'openDirectory' | 'createDirectory'>;
}
/** The parts of Electron's dialog, shell and window used here. */
export interface DialogLike<W> {
  showOpenDialog(window: W, options: OpenDialogOptions): Promise<{ canceled: boolean; filePaths: string[] }>;
  showOpenDialog(options: OpenDialogOptions): Promise<{ canceled: boolean; filePaths: string[] }>;
}

export interface HostDeps<W> {
  dialog: DialogLike<W>;
  shell: { showItemInFolder(path: string): void };
  guard: { allowRoot(path: string): void };
  engine: { status(): EngineStatus };
  /** The window a dialog belongs to (null: a free-standing dialog). */
  window: () => W | null;
  exists: (path: string) => boolean;
}

const DIALOG_TEXT = {
  library: { title: 'Add a folder of photos', buttonLabel: 'Add folder' },
  output: { title: 'Choose where the compressed photos go', buttonLabel: 'Use this folder' },
} as const;

export function electronHostHandlers<W>(deps: HostDeps<W>): HostHandlers {
  return {
    engineStatus: () => deps.engine.status(),

    pickFolder: async (req) => {
      const options: OpenDialogOptions = { ...DIALOG_TEXT[req.purpose], properties: ['openDirectory', 'createDirectory'] };
      const win = deps.window();
      const picked = win ? await deps.dialog.showOpenDialog(win, options) : await deps.dialog.showOpenDialog(options);
      const path = picked.canceled ? null : (picked.filePaths[0] ?? null);
      if (path) deps.guard.allowRoot(path);
      return { path };
    },

    revealPath: async (req) => {
      // showItemInFolder says nothing when the path is gone; the page should know.
      if (!deps.exists(req.path)) return { shown: false };
      deps.shell.showItemInFolder(req.path);
      return { shown: true };
    },
  };
}
