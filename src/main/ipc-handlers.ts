/**
 * Electron IPC for the contract: one `ipcMain.handle` per `invoke` channel, answered only for our
 * window's main frame showing our page, then handed to the shared dispatcher (validation, path
 * checks, routing to the engine or the host handlers). Engine events go to the window on
 * EVENT_CHANNEL. Electron's objects are parameters, so a test drives it with fakes.
 */
import { invoke, invokeNames, type InvokeName } from '../ipc/contract';
import { fail, failFrom, type Result } from '../ipc/result';
import { EVENT_CHANNEL } from '../preload/channels';

/** The parts of a WebFrameMain the sender check reads. */
export interface FrameLike {
  readonly url: string;
  readonly processId: number;
  readonly routingId: number;
}
export interface InvokeEventLike {
  readonly sender: unknown;
  /** null when the frame has navigated away or is gone. */
  readonly senderFrame: FrameLike | null;
}
/** The parts of Electron's ipcMain used here. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}
export interface AppWindowLike {
  isDestroyed(): boolean;
  readonly webContents: { readonly mainFrame: FrameLike; send(channel: string, ...args: unknown[]): void; isDestroyed(): boolean };
}

export interface IpcDeps {
  dispatcher: { invoke(name: InvokeName, raw: unknown): Promise<Result<unknown>> };
  /** The app window now (null while none is open). */
  window: () => AppWindowLike | null;
  /** Whether a frame URL is our page (renderer-location.ts). */
  isRendererUrl: (url: string) => boolean;
  engine: { on(listener: (name: string, payload: unknown) => void): () => void };
  log: (line: string) => void;
}

export const NOT_OUR_WINDOW = 'This request did not come from the sgai window, so it was refused.';

/** Why a request is refused, or null when it comes from our window's main frame showing our page. */
function refusal(event: InvokeEventLike, win: AppWindowLike | null, isRendererUrl: (url: string) => boolean): string | null {
  if (!win || win.isDestroyed()) return 'no app window is open';
  if (event.sender !== win.webContents) return 'it came from another web page';
  const frame = event.senderFrame;
  if (!frame) return 'its frame is gone';
  const main = win.webContents.mainFrame;
  // Electron may hand out a new wrapper object for the same frame: compare its ids too.
  if (frame !== main && (frame.processId !== main.processId || frame.routingId !== main.routingId)) return 'it came from a sub-frame';
  if (!isRendererUrl(frame.url)) return `its frame shows ${frame.url || '(no page)'}, not sgai's page`;
  return null;
}

/** Registers every contract channel; returns a function that removes them again. */
export function registerIpcHandlers(ipcMain: IpcMainLike, deps: IpcDeps): () => void {
  for (const name of invokeNames) {
    const channel = invoke[name].channel;
    ipcMain.handle(channel, async (event, raw) => {
      const why = refusal(event, deps.window(), deps.isRendererUrl);
      if (why) {
        deps.log(`refused ${channel}: ${why}`);
        return fail('FORBIDDEN', NOT_OUR_WINDOW);
      }
      try {
        return await deps.dispatcher.invoke(name, raw);
      } catch (e) {
        // The dispatcher answers envelopes; anything thrown past it is a bug, still answered as one.
        deps.log(`${channel} failed unexpectedly: ${(e as Error)?.stack ?? e}`);
        return failFrom(e);
      }
    });
  }

  const stopForwarding = deps.engine.on((name, payload) => {
    const win = deps.window();
    if (!win || win.isDestroyed() || win.webContents.isDestroyed()) return;
    win.webContents.send(EVENT_CHANNEL, name, payload);
  });

  return () => {
    stopForwarding();
    for (const name of invokeNames) ipcMain.removeHandler(invoke[name].channel);
  };
}
