/**
 * The host channels as a browser can answer them: there is no native folder dialog and no file
 * manager to open, so those say so (the page then offers a path field).
 */
import type { HostHandlers } from '../host/dispatch';
import type { EngineClient } from '../host/engine-client';
import { ApiError } from '../ipc/result';

export const NO_FOLDER_DIALOG = "A browser cannot show this computer's folder dialog: type or paste the folder's path.";

export function browserHostHandlers(engine: Pick<EngineClient, 'status'>): HostHandlers {
  return {
    engineStatus: () => engine.status(),
    pickFolder: () => {
      throw new ApiError({ code: 'NOT_AVAILABLE', message: NO_FOLDER_DIALOG });
    },
    revealPath: () => ({ shown: false }),
  };
}
