/**
 * Where the app's engine process code is: the one place that knows. From a source checkout (the
 * browser app, tests) it is launcher.mjs beside this file, which loads process.ts through tsx.
 * A packaged app passes its built entry (or sets SGAI_ENGINE_ENTRY), a plain JS file.
 */
import { fileURLToPath } from 'node:url';

export interface EngineEntry {
  /** The module child_process.fork (or Electron's utilityProcess.fork) runs. */
  path: string;
  /** Node flags for it; not the parent's, which may carry a test runner's or a loader's. */
  execArgv: string[];
}

export function engineEntry(override?: string): EngineEntry {
  const path = override ?? process.env.SGAI_ENGINE_ENTRY ?? fileURLToPath(new URL('./launcher.mjs', import.meta.url));
  return { path, execArgv: [] };
}
