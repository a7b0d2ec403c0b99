/**
 * What the preload exposes as `window.sgai`: one function per contract `invoke` name, `on` for
 * engine events, and `pathForFile` for drag and drop. Built from injected Electron objects so a test
 * can check it with fakes (and the contract test can see every channel is exposed).
 */
import { eventNames, invoke, invokeNames, type EventName, type InvokeName, type SgaiBridge } from '../ipc/contract';
import type { Result } from '../ipc/result';
import { EVENT_CHANNEL } from './channels';

/** The parts of Electron's ipcRenderer the bridge uses. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}
/** The part of Electron's webUtils the bridge uses. */
export interface WebUtilsLike {
  getPathForFile(file: File): string;
}

const knownEvents = new Set<string>(eventNames);

export function buildBridge(ipc: IpcRendererLike, webUtils: WebUtilsLike): SgaiBridge {
  // Plain own properties: contextBridge copies an object's own functions, not a class's prototype.
  const calls = {} as Record<InvokeName, (req: unknown) => Promise<Result<unknown>>>;
  for (const name of invokeNames) {
    const channel = invoke[name].channel;
    calls[name] = async (req) => {
      try {
        return (await ipc.invoke(channel, req)) as Result<unknown>;
      } catch (e) {
        // Main answers envelopes and never throws; a rejection here means IPC itself broke.
        return { ok: false, error: { code: 'UNEXPECTED', message: `The app could not reach its main process: ${(e as Error)?.message ?? String(e)}` } };
      }
    };
  }

  // One 'sgai:event' listener for all subscribers, attached while anyone listens.
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  let subscribed = 0;
  const onEvent = (_event: unknown, name: unknown, payload: unknown) => {
    if (typeof name !== 'string') return;
    for (const cb of [...(listeners.get(name) ?? [])]) {
      try {
        cb(payload);
      } catch (e) {
        // One broken subscriber must not keep the others from hearing the event.
        console.error(`sgai: a listener for ${name} failed`, e);
      }
    }
  };

  function on(event: EventName, cb: (payload: never) => void): () => void {
    if (!knownEvents.has(event)) throw new TypeError(`"${String(event)}" is not an sgai event; known events: ${eventNames.join(', ')}`);
    if (typeof cb !== 'function') throw new TypeError('sgai.on needs a callback function');
    const set = listeners.get(event) ?? new Set();
    listeners.set(event, set);
    const fn = cb as (payload: unknown) => void;
    if (set.has(fn)) return () => {};
    set.add(fn);
    if (subscribed++ === 0) ipc.on(EVENT_CHANNEL, onEvent as (event: unknown, ...args: unknown[]) => void);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      set.delete(fn);
      if (--subscribed === 0) ipc.removeListener(EVENT_CHANNEL, onEvent as (event: unknown, ...args: unknown[]) => void);
    };
  }

  return {
    ...calls,
    on: on as SgaiBridge['on'],
    // webUtils answers '' for a File that has no file behind it (made in the page, not dropped).
    pathForFile: (file: File) => webUtils.getPathForFile(file) || null,
  } as SgaiBridge;
}
