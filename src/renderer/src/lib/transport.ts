/**
 * What the typed client needs from a transport: call a contract function by name and get its
 * Result envelope, subscribe to events, build an image URL, and (Electron only) a dropped file's
 * path. Electron's preload and the loopback HTTP server both implement the same contract
 * (src/ipc/contract.ts), so the views never know which one they run on.
 */
import type { EventName, EventPayload, InvokeName, PixelReq, PixelRoute, Req, Res } from '../../../ipc/contract';
import type { Result } from '../../../ipc/result';

export interface Transport {
  readonly kind: 'electron' | 'http';
  invoke<K extends InvokeName>(name: K, req: Req<K>): Promise<Result<Res<K>>>;
  on<E extends EventName>(event: E, cb: (payload: EventPayload<E>) => void): () => void;
  pixelUrl<K extends PixelRoute>(route: K, req: PixelReq<K>): string;
  pathForFile(file: File): string | null;
  /** Called after the event stream was interrupted and is back: events may have been missed. */
  onReconnect(cb: () => void): () => void;
}

/** Transport-level failures that have no envelope from the other side (the server is gone, a non-JSON answer). */
export const UNREACHABLE = 'UNREACHABLE';
