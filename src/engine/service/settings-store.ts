/** The app's settings (settings.json in the data folder), with the defaults a fresh install starts from. */
import { AppSettings } from '../../ipc/schemas';
import { jsonStore, type JsonStore } from './json-store';

export const DEFAULT_SETTINGS: AppSettings = {
  workers: 'auto', backend: 'auto', memoryBudgetMB: null, defaultOutput: null, theme: 'system', notify: true,
};

export function settingsStore(dataDir: string, log: (line: string) => void): JsonStore<AppSettings> {
  return jsonStore(dataDir, 'settings.json', {
    schema: AppSettings,
    defaults: () => ({ ...DEFAULT_SETTINGS }),
    // A setting that is missing (an older file) or out of range takes its default; the others are kept.
    parse: (raw, warn) => {
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('not a settings object');
      const out: Record<string, unknown> = { ...DEFAULT_SETTINGS };
      for (const key of Object.keys(DEFAULT_SETTINGS) as (keyof AppSettings)[]) {
        if (!(key in raw)) continue;
        const one = AppSettings.shape[key].safeParse((raw as Record<string, unknown>)[key]);
        if (one.success) out[key] = one.data;
        else warn(`the setting "${key}" is not valid and was reset to its default`);
      }
      return AppSettings.parse(out);
    },
    log,
  });
}
