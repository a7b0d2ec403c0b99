/**
 * What the menu's items do in main: File → Open… asks for .sgai files (the same dialog as the
 * page's pickFiles) and hands them to the open requests, which the viewer hears; File → Add
 * folder… asks for a folder and adds it through the dispatcher, like the page's own request (the
 * page hears library events and shows it); Help → About shows the version.
 */
import type { Result } from '../ipc/result';
import type { LibraryFolder } from '../ipc/schemas';

export interface MenuActionDeps {
  dispatcher: { invoke(name: string, raw: unknown): Promise<Result<unknown>> };
  showMessage: (options: { type: 'info' | 'warning'; title?: string; message: string; detail: string }) => Promise<unknown>;
  /** Where chosen .sgai files go (OpenRequests.open). */
  open: (paths: string[], from: string) => void;
  version: string;
  versions: { electron?: string; chrome?: string; node: string };
  log: (line: string) => void;
}

export function menuActions(d: MenuActionDeps): { openFiles: () => Promise<void>; addFolder: () => Promise<void>; about: () => Promise<void> } {
  return {
    async openFiles() {
      const picked = await d.dispatcher.invoke('pickFiles', { purpose: 'sgai' });
      if (!picked.ok) return void (await d.showMessage({ type: 'warning', message: 'The file dialog could not be shown', detail: picked.error.message }));
      d.open((picked.value as { paths: string[] }).paths, 'File > Open'); // none when cancelled
    },
    async addFolder() {
      const picked = await d.dispatcher.invoke('pickFolder', { purpose: 'library' });
      if (!picked.ok) return void (await d.showMessage({ type: 'warning', message: 'The folder dialog could not be shown', detail: picked.error.message }));
      const path = (picked.value as { path: string | null }).path;
      if (!path) return; // cancelled
      const added = await d.dispatcher.invoke('libraryAdd', { path });
      if (!added.ok) return void (await d.showMessage({ type: 'warning', message: 'The folder could not be added', detail: added.error.message }));
      d.log(`added ${(added.value as LibraryFolder).path} from the menu`);
    },
    async about() {
      const v = d.versions;
      await d.showMessage({
        type: 'info', title: 'About sgai', message: `sgai ${d.version}`,
        detail: `Shrinks photo libraries with a learned image codec, refined per photo.\nElectron ${v.electron ?? '?'} · Chromium ${v.chrome ?? '?'} · Node ${v.node}`,
      });
    },
  };
}
