/**
 * Opening .sgai files in the viewer from File > Open and from drops on the window. Electron has a
 * native file dialog and learns a dropped file's path; a browser page has neither, so File > Open
 * becomes a path field there, and a dropped .sgai (whose path the page cannot see) opens that
 * field with a note saying so.
 */
import { api } from '../lib/api';
import { errorCode } from '../lib/errors';
import { isSgaiPath } from '../lib/sgai-paths';
import { openStrings } from '../lib/strings-export';
import { library } from './library.svelte';
import { toasts } from './toasts.svelte';
import { viewer } from './viewer.svelte';

/** Error codes about the path rather than the file's content (contract refusals, a missing or unreadable file). */
const PATH_CODES = new Set(['FORBIDDEN', 'NOT_FOUND', 'BAD_REQUEST', 'INPUT_UNREADABLE']);

/** How this system names the shortcut modifier (⌘ on Apple systems, else Ctrl). */
export const modKey = () => (typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform) ? '⌘' : 'Ctrl');

class OpenStore {
  /** The path field (browser File > Open) is showing. */
  pathDialog = $state(false);
  /** Why the path field was opened by a drop, in words. */
  note = $state<string | null>(null);
  /** No native file dialog here: asked once (Electron answers it; a browser says NOT_AVAILABLE). */
  private noNativeDialog = api.transport !== 'electron';

  /** File > Open: the native dialog where there is one, else the path field. */
  async request(): Promise<void> {
    if (!this.noNativeDialog) {
      try {
        const { paths } = await api.pickFiles({ purpose: 'sgai' });
        if (paths.length) await this.open(paths[0]);
        return;
      } catch (e) {
        if (errorCode(e) !== 'NOT_AVAILABLE') {
          toasts.error(e);
          return;
        }
        this.noNativeDialog = true;
      }
    }
    this.note = null;
    this.pathDialog = true;
  }

  /** Shows a .sgai in the viewer (which shows why when the file cannot be read). */
  async open(path: string): Promise<void> {
    await viewer.open(path);
  }

  /**
   * A typed path (the browser's File > Open): opens it, and answers why not when the path itself
   * is wrong (missing, refused, unreadable), so the field can say so where it was typed. A file
   * that is there but damaged opens to its message in the viewer, like any other way in: null.
   */
  async openTyped(path: string): Promise<string | null> {
    await viewer.open(path);
    const failed = viewer.path === path ? viewer.error : null;
    return failed && failed.code !== null && PATH_CODES.has(failed.code) ? failed.message : null;
  }

  /**
   * Files dropped anywhere on the window. Takes the drop when it holds a .sgai file (returns true):
   * the first one opens in the viewer; folders dropped with it are added to the library, as a drop
   * of folders alone is. Returns false for drops without .sgai files, which go on to the library.
   */
  drop(files: File[]): boolean {
    const sgai = files.filter((f) => isSgaiPath(f.name));
    if (!sgai.length) return false;
    if (api.transport !== 'electron') {
      this.note = openStrings.browserDrop(sgai[0].name);
      this.pathDialog = true;
      return true;
    }
    const path = api.pathForFile(sgai[0]);
    // Folders first: adding one shows the library, and the .sgai asked to be seen.
    void this.addFolders(files.filter((f) => !isSgaiPath(f.name))).then(() => {
      if (!path) toasts.info(openStrings.noPath);
      else return this.open(path).catch((e: unknown) => toasts.error(e));
    });
    return true;
  }

  private async addFolders(others: File[]): Promise<void> {
    for (const f of others) {
      const path = api.pathForFile(f);
      if (!path) continue;
      try {
        await library.add(path);
      } catch (e) {
        toasts.error(e);
      }
    }
  }
}

export const opener = new OpenStore();
