/** Which screen shows, and requests that cross components (open the add-folder field, the help sheet, File > Open). */
export type View = 'library' | 'queue' | 'settings' | 'viewer';

class UiStore {
  view = $state<View>('library');
  helpOpen = $state(false);
  /** Bumped to ask the folder list to open and focus its path field (browser). */
  focusAddPath = $state(0);
  /** Bumped to ask for the "open .sgai files" chooser (Ctrl/Cmd+O, File > Open…, the viewer's empty state). */
  openFilesRequest = $state(0);
  /** The queue bar was hidden for this finished batch. */
  hiddenBatch = $state<string | null>(null);
}

export const ui = new UiStore();
