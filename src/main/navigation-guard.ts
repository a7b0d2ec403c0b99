/**
 * Keeps the window on our page: no navigation elsewhere (a dropped photo would otherwise replace the
 * app with the photo), no new windows (http(s) links open in the OS browser instead), no <webview>.
 */
import type { RendererLocation } from './renderer-location';
import { isRendererUrl } from './renderer-location';

export interface PreventableEvent {
  preventDefault(): void;
  /** Electron ≥ 25 puts the target on the event; older listeners get it as the second argument. */
  url?: string;
}
/** The parts of WebContents the guard uses. */
export interface GuardedContents {
  on(event: 'will-navigate' | 'will-redirect' | 'will-attach-webview', listener: (event: PreventableEvent, url?: unknown) => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

export interface GuardDeps {
  renderer: RendererLocation;
  openExternal: (url: string) => Promise<void>;
  log: (line: string) => void;
}

const isWebLink = (url: string) => {
  try {
    return ['http:', 'https:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
};

export function guardNavigation(contents: GuardedContents, deps: GuardDeps): void {
  const stayOnOurPage = (kind: string) => (event: PreventableEvent, url?: unknown) => {
    const target = event.url ?? (typeof url === 'string' ? url : '');
    if (isRendererUrl(deps.renderer, target)) return;
    event.preventDefault();
    deps.log(`blocked ${kind} to ${target || '(unknown)'}: the window only shows sgai's own page`);
  };
  contents.on('will-navigate', stayOnOurPage('navigation'));
  contents.on('will-redirect', stayOnOurPage('redirect'));
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    deps.log('blocked a <webview>: sgai does not embed other pages');
  });
  contents.setWindowOpenHandler(({ url }) => {
    if (isWebLink(url)) {
      deps.openExternal(url).catch((e: unknown) => deps.log(`could not open ${url} in the browser: ${(e as Error)?.message ?? e}`));
    } else {
      deps.log(`blocked a new window for ${url}`);
    }
    return { action: 'deny' };
  });
}
