/** Which screen shows, and requests that cross components (open the add-folder field, the help sheet). */
export type View = 'library' | 'queue' | 'settings';

class UiStore {
  view = $state<View>('library');
  helpOpen = $state(false);
  /** Bumped to ask the folder list to open and focus its path field (browser). */
  focusAddPath = $state(0);
  /** The queue bar was hidden for this finished batch. */
  hiddenBatch = $state<string | null>(null);
}

export const ui = new UiStore();
