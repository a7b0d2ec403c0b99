/**
 * Where the window's page comes from, and whether a URL is that page: the dev server's origin under
 * `electron-vite dev` (ELECTRON_RENDERER_URL), else the built out/renderer/index.html file. Main
 * trusts IPC only from frames showing this page, and lets the window navigate nowhere else.
 */
import { pathToFileURL } from 'node:url';

export type RendererLocation =
  | { kind: 'dev-server'; url: string; origin: string }
  | { kind: 'file'; path: string; url: string };

export function rendererLocation(devServerUrl: string | undefined, builtIndexHtml: string): RendererLocation {
  if (devServerUrl) {
    const url = new URL(devServerUrl);
    // Only a dev server on this machine: a remote page must never get the bridge.
    if (!['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) || !/^https?:$/.test(url.protocol)) {
      throw new Error(`ELECTRON_RENDERER_URL must point at a dev server on this machine, not ${url.origin}`);
    }
    return { kind: 'dev-server', url: url.href, origin: url.origin };
  }
  return { kind: 'file', path: builtIndexHtml, url: pathToFileURL(builtIndexHtml).href };
}

/** True when `url` shows our page: same dev-server origin, or exactly our index.html (any #route). */
export function isRendererUrl(location: RendererLocation, url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (location.kind === 'dev-server') return parsed.origin === location.origin;
  if (parsed.protocol !== 'file:') return false;
  parsed.hash = '';
  parsed.search = '';
  return parsed.href === location.url;
}
