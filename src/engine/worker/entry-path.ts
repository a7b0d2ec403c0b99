/**
 * Where an encoder process's code is: the one place that knows. From a source checkout (the
 * CLI, tests, benchmarks) it is launcher.mjs beside this file, which loads entry.ts through
 * tsx. A packaged app passes its built entry (or sets SGAI_WORKER_ENTRY), a plain JS file.
 */
import { fileURLToPath } from 'node:url';

export interface WorkerEntry {
  /** The module child_process.fork runs. */
  path: string;
  /** Node flags for it; not the parent's, which may carry a test runner's or a loader's. */
  execArgv: string[];
}

export function workerEntry(override?: string): WorkerEntry {
  const path = override ?? process.env.SGAI_WORKER_ENTRY ?? fileURLToPath(new URL('./launcher.mjs', import.meta.url));
  return { path, execArgv: [] };
}
