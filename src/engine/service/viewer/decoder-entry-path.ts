/**
 * Where the viewer's decoder process code is: the one place that knows. From a source checkout
 * (the browser app, tests) it is decoder-launcher.mjs beside this file, which loads
 * decoder-entry.ts through tsx. A built app runs out/main/decoder.js (electron.vite.config.ts):
 * named by SGAI_DECODER_ENTRY, or found beside the built encoder entry that the app names in
 * SGAI_WORKER_ENTRY (the entries are built together into one folder).
 */
import { fileURLToPath } from 'node:url';
import { builtBesideWorker } from '../../worker/entry-path';

export interface DecoderEntry {
  /** The module child_process.fork runs. */
  path: string;
  /** Node flags for it; not the parent's, which may carry a test runner's or a loader's. */
  execArgv: string[];
}

export const BUILT_DECODER = 'decoder.js';

export function decoderEntry(override?: string, env: NodeJS.ProcessEnv = process.env): DecoderEntry {
  const path = override ?? env.SGAI_DECODER_ENTRY ?? builtBesideWorker(BUILT_DECODER, env) ?? fileURLToPath(new URL('./decoder-launcher.mjs', import.meta.url));
  return { path, execArgv: [] };
}
