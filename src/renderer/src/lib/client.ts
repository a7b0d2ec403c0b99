/**
 * The typed client over any transport: one async function per contract name that resolves with
 * the answer or throws ApiError (code + message in words), and image URLs for the pixel routes.
 * Kept apart from the transport choice (api.ts) so it runs without a window.
 */
import { invokeNames, type EventName, type EventPayload, type InvokeName, type PixelReq, type PixelRoute, type Req, type Res } from '../../../ipc/contract';
import { ApiError } from '../../../ipc/result';
import { strings } from './strings';
import type { Transport } from './transport';

type Calls = { [K in InvokeName]: (req: Req<K>) => Promise<Res<K>> };

export interface Api extends Calls {
  /** Which transport was picked; null when none could be (a browser page opened without its key). */
  readonly transport: Transport['kind'] | null;
  on<E extends EventName>(event: E, cb: (payload: EventPayload<E>) => void): () => void;
  onReconnect(cb: () => void): () => void;
  thumbUrl(folderId: string, rel: string): string;
  /** An image URL for any pixel route (the viewer's preview and tiles); '' without a transport. */
  pixelUrl<K extends PixelRoute>(route: K, req: PixelReq<K>): string;
  /** A dropped file's or folder's path (Electron); null in a browser. */
  pathForFile(file: File): string | null;
}

/** Code for "this page has no key to talk to the server": the app shows how to open it properly. */
export const NO_TOKEN = 'NO_TOKEN';

export function createApi(transport: Transport | null): Api {
  const calls = {} as Record<InvokeName, (req: unknown) => Promise<unknown>>;
  for (const name of invokeNames) {
    calls[name] = async (req: unknown) => {
      if (!transport) throw new ApiError({ code: NO_TOKEN, message: strings.errors.noToken });
      const r = await transport.invoke(name, req as Req<typeof name>);
      if (r.ok) return r.value;
      throw new ApiError(r.error);
    };
  }
  return {
    ...(calls as unknown as Calls),
    transport: transport?.kind ?? null,
    on: (event, cb) => transport?.on(event, cb) ?? (() => {}),
    onReconnect: (cb) => transport?.onReconnect(cb) ?? (() => {}),
    thumbUrl: (folderId, rel) => transport?.pixelUrl('thumb', { folderId, rel }) ?? '',
    pixelUrl: (route, req) => transport?.pixelUrl(route, req) ?? '',
    pathForFile: (file) => transport?.pathForFile(file) ?? null,
  };
}
