/**
 * The browser transport (`sgai app --browser`): the contract over loopback HTTP as src/ipc/http.ts
 * lays it out. The server's key reaches the page in the address's fragment (#token=…, which a
 * browser never sends to a server); it is kept in sessionStorage for reloads of this tab and
 * removed from the address bar so it does not end up in bookmarks, history or screenshots.
 */
import type { EventName, EventPayload, InvokeName, PixelReq, PixelRoute, Req, Res } from '../../../ipc/contract';
import { eventsPath, httpPixelsPath, invokePath, TOKEN_PARAM } from '../../../ipc/http';
import type { Result } from '../../../ipc/result';
import { strings } from './strings';
import { UNREACHABLE, type Transport } from './transport';

const STORAGE_KEY = 'sgai-token';

/** The token in a fragment like "#token=abc" (other fragment parameters are ignored). */
export function tokenFromHash(hash: string): string | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const token = params.get(TOKEN_PARAM);
  return token ? token : null;
}

export interface TokenPlace {
  hash: string;
  storage: Pick<Storage, 'getItem' | 'setItem'>;
  /** Replaces the address without the fragment (history.replaceState). */
  clearHash: () => void;
}

/** Takes the token from the fragment (and stores it), or from an earlier load of this tab. */
export function acquireToken(place: TokenPlace): string | null {
  const fromHash = tokenFromHash(place.hash);
  if (fromHash) {
    place.storage.setItem(STORAGE_KEY, fromHash);
    place.clearHash();
    return fromHash;
  }
  return place.storage.getItem(STORAGE_KEY);
}

export function browserTokenPlace(): TokenPlace {
  return {
    hash: location.hash,
    storage: sessionStorage,
    clearHash: () => history.replaceState(history.state, '', location.pathname + location.search),
  };
}

const isEnvelope = (v: unknown): v is Result<unknown> =>
  !!v && typeof v === 'object' && typeof (v as { ok?: unknown }).ok === 'boolean' &&
  ((v as { ok: boolean }).ok ? 'value' in v : !!(v as { error?: unknown }).error);

/** How long the event stream waits before trying again after the server closed it for good. */
const RECONNECT_MS = 3000;

export function createHttpTransport(token: string): Transport {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const reconnectListeners = new Set<() => void>();
  let source: EventSource | null = null;
  let interrupted = false;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;

  const dispatch = (name: string) => (e: MessageEvent) => {
    let payload: unknown;
    try {
      payload = JSON.parse(String(e.data));
    } catch {
      return; // the server validates events; a garbled line is dropped rather than crashing a view
    }
    for (const cb of listeners.get(name) ?? []) cb(payload);
  };

  function connect(): void {
    const es = new EventSource(eventsPath(token));
    source = es;
    for (const name of listeners.keys()) es.addEventListener(name, dispatch(name) as EventListener);
    es.onopen = () => {
      if (!interrupted) return;
      interrupted = false;
      for (const cb of reconnectListeners) cb();
    };
    es.onerror = () => {
      interrupted = true;
      // EventSource retries by itself unless the server answered with an error status: then it
      // stays closed, so try again later (the server may be restarting).
      if (es.readyState === EventSource.CLOSED && !retryTimer) {
        retryTimer = setTimeout(() => {
          retryTimer = null;
          if (source === es) connect();
        }, RECONNECT_MS);
      }
    };
  }

  return {
    kind: 'http',
    async invoke<K extends InvokeName>(name: K, req: Req<K>): Promise<Result<Res<K>>> {
      let response: Response;
      try {
        response = await fetch(invokePath(name), {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(req),
          cache: 'no-store',
        });
      } catch {
        return { ok: false, error: { code: UNREACHABLE, message: strings.errors.unreachable } };
      }
      let body: unknown;
      try {
        body = await response.json();
      } catch {
        body = undefined;
      }
      if (isEnvelope(body)) return body as Result<Res<K>>;
      return { ok: false, error: { code: UNREACHABLE, message: strings.errors.badAnswer(response.status) } };
    },
    on<E extends EventName>(event: E, cb: (payload: EventPayload<E>) => void) {
      let set = listeners.get(event);
      if (!set) {
        set = new Set();
        listeners.set(event, set);
        source?.addEventListener(event, dispatch(event) as EventListener);
      }
      const fn = cb as (payload: unknown) => void;
      set.add(fn);
      if (!source) connect();
      return () => set.delete(fn);
    },
    pixelUrl<K extends PixelRoute>(route: K, req: PixelReq<K>) {
      return httpPixelsPath(route, req, token);
    },
    // A browser page never learns where a dropped file lives on disk.
    pathForFile: () => null,
    onReconnect(cb: () => void) {
      reconnectListeners.add(cb);
      return () => reconnectListeners.delete(cb);
    },
  };
}
