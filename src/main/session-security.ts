/**
 * The window's session: the renderer's Content-Security-Policy as a response header (the built
 * index.html also carries it as a meta tag; the header covers the dev server), and no web
 * permissions (camera, location, notifications...): main shows the notifications itself.
 */
import { RENDERER_CSP } from '../ipc/http';

type Headers = Record<string, string[] | string>;
/** The parts of Electron's Session the app configures. */
export interface SessionLike {
  webRequest: {
    onHeadersReceived(listener: (details: { responseHeaders?: Headers }, callback: (response: { responseHeaders: Headers }) => void) => void): void;
  };
  setPermissionRequestHandler(handler: (contents: unknown, permission: string, callback: (granted: boolean) => void) => void): void;
}

/** Copying text (a path, an error) is the one permission the page may use. */
const ALLOWED_PERMISSIONS = new Set(['clipboard-sanitized-write']);

export function withCsp(headers: Headers | undefined): Headers {
  const out: Headers = {};
  // Drop any CSP already there, whatever its case, so exactly ours applies.
  for (const [k, v] of Object.entries(headers ?? {})) if (k.toLowerCase() !== 'content-security-policy') out[k] = v;
  out['Content-Security-Policy'] = [RENDERER_CSP];
  return out;
}

export function secureSession(session: SessionLike, log: (line: string) => void): void {
  session.webRequest.onHeadersReceived((details, callback) => callback({ responseHeaders: withCsp(details.responseHeaders) }));
  session.setPermissionRequestHandler((_contents, permission, callback) => {
    const granted = ALLOWED_PERMISSIONS.has(permission);
    if (!granted) log(`refused the page's request for the "${permission}" permission`);
    callback(granted);
  });
}
