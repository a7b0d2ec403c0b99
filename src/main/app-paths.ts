/**
 * Where the built pieces are, relative to the built main (out/main/index.js). electron-vite builds
 * the engine process and the encoder process as entries beside main (electron.vite.config.ts), so
 * the app starts plain JS files, in `electron-vite dev` as in a packaged app (no tsx).
 */
import { join } from 'node:path';

export interface BuiltPaths {
  preload: string;
  rendererHtml: string;
  engine: string;
  worker: string;
}

export function builtPaths(mainDir: string): BuiltPaths {
  return {
    preload: join(mainDir, '..', 'preload', 'index.cjs'),
    rendererHtml: join(mainDir, '..', 'renderer', 'index.html'),
    engine: join(mainDir, 'engine.js'),
    worker: join(mainDir, 'worker.js'),
  };
}

/**
 * The engine's environment: its encoder processes run the built worker. (Models need nothing: core
 * finds resources/models beside package.json, in a checkout as inside the packaged app.asar.)
 */
export function engineEnv(base: NodeJS.ProcessEnv, paths: BuiltPaths): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  env.SGAI_WORKER_ENTRY = paths.worker;
  return env;
}
