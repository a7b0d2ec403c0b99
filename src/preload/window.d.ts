/** `window.sgai`, present when the renderer runs inside the Electron app (see bridge.ts). */
import type { SgaiBridge } from '../ipc/contract';

declare global {
  interface Window {
    sgai?: SgaiBridge;
  }
}
export {};
