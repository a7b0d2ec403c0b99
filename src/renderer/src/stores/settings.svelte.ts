/**
 * The app's settings (settings:get / settings:set). A change shows at once (the theme in
 * particular) and is then saved; if saving fails, the saved value comes back and the error says why.
 */
import type { AppSettings } from '../../../ipc/schemas';
import { api } from '../lib/api';
import { toasts } from './toasts.svelte';

const THEME_KEY = 'sgai-theme';

/** Forced light/dark sets data-theme on <html>; 'system' leaves it to prefers-color-scheme. */
export function applyTheme(theme: AppSettings['theme']): void {
  const root = document.documentElement;
  if (theme === 'system') delete root.dataset.theme;
  else root.dataset.theme = theme;
  // Remembered locally so the next start paints in the right theme before the engine answers.
  try {
    localStorage.setItem(THEME_KEY, theme);
  } catch {
    // storage blocked: the theme still applies for this session
  }
}

export function applyRememberedTheme(): void {
  try {
    const t = localStorage.getItem(THEME_KEY);
    if (t === 'light' || t === 'dark' || t === 'system') applyTheme(t);
  } catch {
    // storage blocked
  }
}

class SettingsStore {
  value = $state<AppSettings | null>(null);
  saving = $state(false);
  /** Bumped after each successful save, for a brief "Saved" note. */
  savedTick = $state(0);

  async load(): Promise<void> {
    this.value = await api.settingsGet({});
    applyTheme(this.value.theme);
  }

  async set(change: Partial<AppSettings>): Promise<boolean> {
    const before = this.value;
    if (before) this.value = { ...before, ...change };
    if (change.theme) applyTheme(change.theme);
    this.saving = true;
    try {
      this.value = await api.settingsSet(change);
      applyTheme(this.value.theme);
      this.savedTick++;
      return true;
    } catch (e) {
      toasts.error(e);
      if (before) {
        this.value = before;
        applyTheme(before.theme);
      }
      return false;
    } finally {
      this.saving = false;
    }
  }
}

export const settings = new SettingsStore();
