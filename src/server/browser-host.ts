/**
 * The host channels as a browser can answer them: there is no native folder or file dialog and no
 * file manager to open, so those say so (the page then offers a path field). The .sgai files named
 * on the command line wait in `opens` until the page asks for them.
 */
import type { HostHandlers } from '../host/dispatch';
import type { EngineClient } from '../host/engine-client';
import { ApiError } from '../ipc/result';

export const NO_FOLDER_DIALOG = "A browser cannot show this computer's folder dialog: type or paste the folder's path.";
export const NO_FILE_DIALOG = "A browser cannot show this computer's file dialog: type or paste the path of the .sgai file.";

/** .sgai files to show once the page asks (`sgai app --browser photo.sgai`); taken once. */
export class PendingOpens {
  private queue: string[];
  constructor(paths: string[] = []) {
    this.queue = [...new Set(paths)];
  }
  drain(): string[] {
    const out = this.queue;
    this.queue = [];
    return out;
  }
}

export function browserHostHandlers(engine: Pick<EngineClient, 'status'>, opens = new PendingOpens()): HostHandlers {
  return {
    engineStatus: () => engine.status(),
    pickFolder: () => {
      throw new ApiError({ code: 'NOT_AVAILABLE', message: NO_FOLDER_DIALOG });
    },
    pickFiles: () => {
      throw new ApiError({ code: 'NOT_AVAILABLE', message: NO_FILE_DIALOG });
    },
    pendingOpens: () => ({ paths: opens.drain() }),
    revealPath: () => ({ shown: false }),
  };
}
