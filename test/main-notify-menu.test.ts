/**
 * The batch-end notification (once per batch, only when settings.notify, clicking focuses the window)
 * and the application menu template, with Electron's Notification and Menu left out.
 */
import type { MenuItemConstructorOptions } from 'electron';
import { describe, expect, it, vi } from 'vitest';
import type { BatchInfo } from '../src/ipc/schemas';
import { fail, ok, type Result } from '../src/ipc/result';
import { menuTemplate } from '../src/main/menu';
import { menuActions } from '../src/main/menu-actions';
import { batchMessage, batchNotifier, formatBytes, type NotificationLike } from '../src/main/notify';

function batch(state: BatchInfo['state'], over: Partial<BatchInfo['totals']> = {}, extra: Partial<BatchInfo> = {}): BatchInfo {
  return {
    batchId: 'b1', folderId: 'f1', folderPath: '/home/me/Pictures/Iceland 2024', outRoot: '/home/me/Pictures/Iceland 2024 (sgai)', state,
    totals: { total: 12, done: 12, resumed: 2, encoded: 10, skipped: 0, failed: 0, cancelled: 0, bytesIn: 48_000_000, bytesOut: 12_000_000, megapixels: 290, seconds: 400, ...over },
    skippedReasons: {}, startedAt: 1, ...extra,
  };
}

function setup(enabled = true, supported = true) {
  const shown: Array<{ title: string; body: string; click: () => void }> = [];
  const focusWindow = vi.fn();
  const notify = batchNotifier({
    isSupported: () => supported,
    enabled: async () => enabled,
    create: (o) => {
      const handlers: Record<string, () => void> = {};
      const n: NotificationLike = {
        on: (e, l) => void (handlers[e] = l),
        show: () => void shown.push({ ...o, click: () => handlers.click?.() }),
      };
      return n;
    },
    focusWindow,
    log: () => {},
  });
  return { notify, shown, focusWindow };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe('batch notifications', () => {
  it('fires once when a batch is done, however often its final state is repeated', async () => {
    const { notify, shown, focusWindow } = setup();
    notify('batch:state', batch('running'));
    notify('job:state', { batchId: 'b1', id: 'a.jpg', state: 'done' });
    notify('batch:state', batch('done'));
    notify('batch:state', batch('done'));
    await settle();
    notify('batch:state', batch('done'));
    await settle();
    expect(shown).toHaveLength(1);
    expect(shown[0]).toMatchObject({ title: 'Compression finished', body: 'Iceland 2024: 12 photos: 48 MB → 12 MB (−75 %).' });
    shown[0].click();
    expect(focusWindow).toHaveBeenCalledTimes(1);
    notify('batch:state', batch('done', {}, { batchId: 'b2' }));
    await settle();
    expect(shown).toHaveLength(2);
  });

  it('says so when a batch is cancelled or stops on an error', async () => {
    const { notify, shown } = setup();
    notify('batch:state', batch('cancelled', { done: 3 }, { batchId: 'c' }));
    notify('batch:state', batch('failed', {}, { batchId: 'f', error: { code: 'IO', message: 'the output disk is full' } }));
    await settle();
    expect(shown.map((s) => [s.title, s.body])).toEqual([
      ['Compression cancelled', 'Iceland 2024: 3 photos of 12 finished; nothing half-written was left.'],
      ['Compression stopped', 'Iceland 2024: the output disk is full. Finished photos are kept.'],
    ]);
  });

  it('stays quiet when the photographer turned notifications off, or the OS has none', async () => {
    for (const [enabled, supported] of [[false, true], [true, false]]) {
      const { notify, shown } = setup(enabled, supported);
      notify('batch:state', batch('done'));
      await settle();
      expect(shown).toHaveLength(0);
    }
  });

  it('words failures and skips, and formats sizes', () => {
    expect(batchMessage(batch('done', { failed: 1, skipped: 2 })).body).toBe('Iceland 2024: 12 photos: 48 MB → 12 MB (−75 %); 1 failed, 2 skipped.');
    expect(batchMessage(batch('done', { done: 1, bytesIn: 0, bytesOut: 0 })).body).toBe('Iceland 2024: 1 photo.');
    expect([formatBytes(999), formatBytes(1500), formatBytes(2_345_678_901)]).toEqual(['999 bytes', '1.5 KB', '2.3 GB']);
  });
});

describe('application menu', () => {
  const labels = (items: MenuItemConstructorOptions[] | undefined): string[] =>
    (items ?? []).map((i) => i.label ?? i.role ?? i.type ?? '?');

  it('File has Open…, Add folder… and Quit; reload and dev tools exist only in development', () => {
    const addFolder = vi.fn();
    const openFiles = vi.fn();
    const prod = menuTemplate({ isDev: false, isMac: false, openFiles, addFolder, about: () => {} });
    expect(labels(prod)).toEqual(['File', 'editMenu', 'View', 'help']);
    const file = prod[0].submenu as MenuItemConstructorOptions[];
    expect(labels(file)).toEqual(['Open…', 'Add folder…', 'separator', 'quit']);
    expect(file.map((i) => i.accelerator)).toEqual(['CmdOrCtrl+O', 'CmdOrCtrl+Shift+O', undefined, undefined]);
    file[0].click!({} as never, undefined, {} as never);
    expect([openFiles.mock.calls.length, addFolder.mock.calls.length]).toEqual([1, 0]);
    file[1].click!({} as never, undefined, {} as never);
    expect(addFolder).toHaveBeenCalledTimes(1);
    const view = (t: MenuItemConstructorOptions[]) => labels(t.find((i) => i.label === 'View')!.submenu as MenuItemConstructorOptions[]);
    expect(view(prod)).not.toContain('reload');
    expect(view(prod)).not.toContain('toggleDevTools');
    const dev = menuTemplate({ isDev: true, isMac: false, openFiles, addFolder, about: () => {} });
    expect(view(dev)).toEqual(expect.arrayContaining(['reload', 'toggleDevTools']));
    const help = dev.find((i) => i.role === 'help')!.submenu as MenuItemConstructorOptions[];
    expect(labels(help)).toEqual(['About sgai']);
  });

  it('macOS gets its app menu first', () => {
    expect(labels(menuTemplate({ isDev: false, isMac: true, openFiles: () => {}, addFolder: () => {}, about: () => {} }))[0]).toBe('appMenu');
  });
});

describe('menu actions', () => {
  function setup(answers: Record<string, Result<unknown>>) {
    const calls: Array<[string, unknown]> = [];
    const messages: Array<{ type: string; message: string; detail: string }> = [];
    const opened: Array<[string[], string]> = [];
    const actions = menuActions({
      dispatcher: { invoke: async (name, raw) => (calls.push([name, raw]), answers[name]) },
      showMessage: async (m) => void messages.push(m),
      open: (paths, from) => void opened.push([paths, from]),
      version: '1.2.3', versions: { electron: '39.0.0', chrome: '142', node: '22' }, log: () => {},
    });
    return { actions, calls, messages, opened };
  }

  it('Open… asks for .sgai files through the dispatcher and opens them', async () => {
    const { actions, calls, messages, opened } = setup({ pickFiles: ok({ paths: ['/home/me/a.sgai', '/home/me/b.sgai'] }) });
    await actions.openFiles();
    expect(calls).toEqual([['pickFiles', { purpose: 'sgai' }]]);
    expect(opened).toEqual([[['/home/me/a.sgai', '/home/me/b.sgai'], 'File > Open']]);
    expect(messages).toEqual([]);
    const failed = setup({ pickFiles: fail('UNEXPECTED', 'no dialog today') });
    await failed.actions.openFiles();
    expect(failed.opened).toEqual([]);
    expect(failed.messages).toEqual([{ type: 'warning', message: 'The file dialog could not be shown', detail: 'no dialog today' }]);
  });

  it('Add folder… asks for a folder and adds it through the dispatcher', async () => {
    const { actions, calls, messages } = setup({ pickFolder: ok({ path: '/home/me/Pictures' }), libraryAdd: ok({ path: '/home/me/Pictures' }) });
    await actions.addFolder();
    expect(calls).toEqual([['pickFolder', { purpose: 'library' }], ['libraryAdd', { path: '/home/me/Pictures' }]]);
    expect(messages).toEqual([]);
  });

  it('does nothing more when the dialog is cancelled, and says why when adding fails', async () => {
    const cancelled = setup({ pickFolder: ok({ path: null }) });
    await cancelled.actions.addFolder();
    expect(cancelled.calls.map((c) => c[0])).toEqual(['pickFolder']);
    const refused = setup({ pickFolder: ok({ path: '/gone' }), libraryAdd: fail('INPUT_UNREADABLE', '/gone does not exist any more') });
    await refused.actions.addFolder();
    expect(refused.messages).toEqual([{ type: 'warning', message: 'The folder could not be added', detail: '/gone does not exist any more' }]);
  });

  it('About names the version', async () => {
    const { actions, messages } = setup({});
    await actions.about();
    expect(messages[0]).toMatchObject({ message: 'sgai 1.2.3', detail: expect.stringContaining('Electron 39.0.0') });
  });
});
