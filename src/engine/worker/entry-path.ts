/**
 * Where an encoder process's code is: the one place that knows. From a source checkout (the
 * CLI, tests, benchmarks) it is launcher.mjs beside this file, which loads entry.ts through
 * tsx. A packaged app passes its built entry (or sets SGAI_WORKER_ENTRY), a plain JS file.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

/**
 * Another built entry (the viewer's decoder.js, metrics.js) beside the built encoder entry a
 * packaged app names in SGAI_WORKER_ENTRY: the entries are built together into one folder.
 * undefined from a source checkout, or when that file is not there.
 */
export function builtBesideWorker(file: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const beside = env.SGAI_WORKER_ENTRY?.endsWith('.js') ? join(dirname(env.SGAI_WORKER_ENTRY), file) : undefined;
  return beside && existsSync(beside) ? beside : undefined;
}
