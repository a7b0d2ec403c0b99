/**
 * The engine for the desktop app: the host's EngineClient (restarts, resume, validation) over a
 * utilityProcess running the built engine entry, keeping its state in Electron's userData folder.
 */
import { EngineClient } from '../host/engine-client';
import { forkUtilityEngine, type UtilityForker } from './utility-engine-child';

export interface EngineHostDeps {
  utilityProcess: UtilityForker;
  /** The built engine process, out/main/engine.js. */
  entry: string;
  /** Its environment (app-paths.ts engineEnv: the built worker entry for its encoder processes). */
  env: Record<string, string>;
  /** app.getPath('userData'): settings.json and library.json live there. */
  dataDir: string;
  version: string;
  log: (line: string) => void;
}

export function createEngineHost(deps: EngineHostDeps): EngineClient {
  return new EngineClient({
    spawn: () => forkUtilityEngine(deps.utilityProcess, deps.entry, deps.env, deps.log),
    start: { dataDir: deps.dataDir, transport: 'electron', version: deps.version, addFolders: [] },
    log: deps.log,
  });
}
