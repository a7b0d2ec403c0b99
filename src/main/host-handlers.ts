/**
 * The contract's 'host' channels in Electron: native folder and file dialogs, the file manager, the
 * .sgai files waiting to be opened (open-requests.ts), and the engine's status as main sees it.
 *
 * Paths and the PathGuard: in Electron the roots are "anywhere" (index.ts). Every path the renderer
 * sends was chosen by the photographer in our own page (a native dialog, a folder dropped on the
 * window, or typed into our own output settings); the page is our bundled code, sandboxed, with no
 * remote content, so a list of allowed roots would only refuse the user's own choices. A picked
 * folder (or a picked or OS-opened file's folder) is still handed to `allowRoot`, so a guard built
 * with a list would accept it too. 'added' checks (reveal only inside library and output folders)
 * apply as everywhere.
 */
import { dirname } from 'node:path';
import type { HostHandlers } from '../host/dispatch';
import type { EngineStatus } from '../ipc/schemas';

export interface OpenDialogOptions {
  title: string;
  buttonLabel: string;
  properties: Array<'openDirectory' | 'createDirectory' | 'openFile' | 'multiSelections'>;
  filters?: Array<{ name: string; extensions: string[] }>;
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
  /** The .sgai files waiting for the page (open-requests.ts); taking them marks the page as listening. */
  opens: { drain(): string[] };
}

const DIALOG_TEXT = {
  library: { title: 'Add a folder of photos', buttonLabel: 'Add folder' },
  output: { title: 'Choose where the compressed photos go', buttonLabel: 'Use this folder' },
  export: { title: 'Choose where exported images go', buttonLabel: 'Export here' },
} as const;

export const SGAI_FILES_DIALOG: OpenDialogOptions = {
  title: 'Open .sgai images',
  buttonLabel: 'Open',
  properties: ['openFile', 'multiSelections'],
  filters: [{ name: 'sgai images', extensions: ['sgai'] }],
};

export function electronHostHandlers<W>(deps: HostDeps<W>): HostHandlers {
  const ask = async (options: OpenDialogOptions): Promise<string[]> => {
    const win = deps.window();
    const picked = win ? await deps.dialog.showOpenDialog(win, options) : await deps.dialog.showOpenDialog(options);
    return picked.canceled ? [] : picked.filePaths;
  };
  return {
    engineStatus: () => deps.engine.status(),

    pickFolder: async (req) => {
      const [path = null] = await ask({ ...DIALOG_TEXT[req.purpose], properties: ['openDirectory', 'createDirectory'] });
      if (path) deps.guard.allowRoot(path);
      return { path };
    },

    pickFiles: async () => {
      const paths = await ask(SGAI_FILES_DIALOG);
      // The viewer reads a file's neighbours (←/→) and the original beside it.
      for (const p of new Set(paths.map((p) => dirname(p)))) deps.guard.allowRoot(p);
      return { paths };
    },

    pendingOpens: () => ({ paths: deps.opens.drain() }),

    revealPath: async (req) => {
      // showItemInFolder says nothing when the path is gone; the page should know.
      if (!deps.exists(req.path)) return { shown: false };
      deps.shell.showItemInFolder(req.path);
      return { shown: true };
    },
  };
}
