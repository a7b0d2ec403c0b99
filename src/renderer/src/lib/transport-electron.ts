/**
 * The Electron transport: the preload's window.sgai (a SgaiBridge built from the contract), one
 * function per contract name returning a Result envelope. Pixels come over the custom scheme.
 */
import type { EventName, EventPayload, InvokeName, PixelReq, PixelRoute, Req, Res, SgaiBridge } from '../../../ipc/contract';
import { electronPixelsUrl } from '../../../ipc/http';
import type { Result } from '../../../ipc/result';
import type { Transport } from './transport';

export function electronBridge(): SgaiBridge | null {
  const w = window as unknown as { sgai?: SgaiBridge };
  return w.sgai ?? null;
}

export function createElectronTransport(bridge: SgaiBridge): Transport {
  return {
    kind: 'electron',
    invoke<K extends InvokeName>(name: K, req: Req<K>): Promise<Result<Res<K>>> {
      // The bridge's functions are typed per name; indexing by a generic name loses that link.
      const fn = bridge[name] as unknown as (r: Req<K>) => Promise<Result<Res<K>>>;
      return fn(req);
    },
    on<E extends EventName>(event: E, cb: (payload: EventPayload<E>) => void) {
      return bridge.on(event, cb);
    },
    pixelUrl<K extends PixelRoute>(route: K, req: PixelReq<K>) {
      return electronPixelsUrl(route, req);
    },
    pathForFile(file: File) {
      return bridge.pathForFile(file);
    },
    // IPC events are not interrupted while the window lives.
    onReconnect: () => () => {},
  };
}
