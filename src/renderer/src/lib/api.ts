/**
 * The renderer's client: `api.<name>(req)` resolves with the answer or throws ApiError,
 * `api.on(event, cb)` subscribes, `api.thumbUrl()` builds an image URL. The transport is picked
 * once, at load: Electron's preload bridge when it is there, else loopback HTTP with the key from
 * the address (a page opened without it gets no transport and says how to open it).
 */
import { createApi, type Api } from './client';
import type { Transport } from './transport';
import { createElectronTransport, electronBridge } from './transport-electron';
import { acquireToken, browserTokenPlace, createHttpTransport } from './transport-http';

export type { Api } from './client';

function pickTransport(): Transport | null {
  const bridge = electronBridge();
  if (bridge) return createElectronTransport(bridge);
  const token = acquireToken(browserTokenPlace());
  return token ? createHttpTransport(token) : null;
}

export const api: Api = createApi(pickTransport());
