/**
 * Where the viewer's decoder process code is: the one place that knows. From a source checkout
 * (the browser app, tests) it is decoder-launcher.mjs beside this file, which loads
 * decoder-entry.ts through tsx. A built app runs out/main/decoder.js (electron.vite.config.ts):
 * named by SGAI_DECODER_ENTRY, or found beside the built encoder entry that the app names in
 * SGAI_WORKER_ENTRY (the entries are built together into one folder).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DecoderEntry {
  /** The module child_process.fork runs. */
  path: string;
  /** Node flags for it; not the parent's, which may carry a test runner's or a loader's. */
  execArgv: string[];
}

export const BUILT_DECODER = 'decoder.js';

export function decoderEntry(override?: string, env: NodeJS.ProcessEnv = process.env): DecoderEntry {
  const builtBesideWorker = env.SGAI_WORKER_ENTRY?.endsWith('.js') ? join(dirname(env.SGAI_WORKER_ENTRY), BUILT_DECODER) : undefined;
  const path = override ?? env.SGAI_DECODER_ENTRY ?? (builtBesideWorker && existsSync(builtBesideWorker) ? builtBesideWorker : undefined) ??
    fileURLToPath(new URL('./decoder-launcher.mjs', import.meta.url));
  return { path, execArgv: [] };
}
