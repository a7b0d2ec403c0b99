/**
 * The engine process as an Electron utilityProcess, behind the host's EngineChild interface (the
 * browser server uses a child_process.fork behind the same one). Messages travel over the utility
 * process's own parentPort, a MessagePort: structured clone, so pixels stay Uint8Array.
 */
import { createInterface } from 'node:readline';
import type { EngineChild } from '../host/engine-client';
import type { HostToEngine } from '../ipc/engine-port';

/** The parts of Electron's UtilityProcess the adapter uses. */
export interface UtilityChildLike {
  readonly pid: number | undefined;
  readonly stdout: NodeJS.ReadableStream | null;
  readonly stderr: NodeJS.ReadableStream | null;
  postMessage(message: unknown): void;
  kill(): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  on(event: 'error', listener: (type: string, location: string, report: string) => void): unknown;
}
/** Electron's `utilityProcess` (its `fork`). */
export interface UtilityForker {
  fork(modulePath: string, args: string[], options: { serviceName: string; stdio: 'pipe'; env: Record<string, string> }): UtilityChildLike;
}

export const ENGINE_SERVICE_NAME = 'sgai engine';

export function forkUtilityEngine(
  utility: UtilityForker,
  entry: string,
  env: Record<string, string>,
  log: (line: string) => void,
): EngineChild {
  const child = utility.fork(entry, [], { serviceName: ENGINE_SERVICE_NAME, stdio: 'pipe', env });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  // The engine's own output (warnings, crash traces) goes to main's log, a line at a time.
  for (const [name, stream] of [['stdout', child.stdout], ['stderr', child.stderr]] as const) {
    if (stream) createInterface({ input: stream }).on('line', (line) => log(`[engine ${name}] ${line}`));
  }
  child.on('error', (type, location, report) => log(`the engine process hit a fatal ${type} at ${location}${report ? `: ${report.slice(0, 2000)}` : ''}`));

  return {
    get pid() {
      return child.pid;
    },
    send(m: HostToEngine) {
      // After exit the port is closed; the client has already been told through onExit.
      if (exited) return log(`dropped a "${m.kind}" message: the engine process has exited`);
      child.postMessage(m);
    },
    onMessage(cb) {
      child.on('message', (m) => cb(m));
    },
    onExit(cb) {
      // A utility process reports only an exit code; a crash or a kill shows as a non-zero one.
      child.on('exit', (code) => cb(code, null));
    },
    kill() {
      if (!exited) child.kill();
    },
  };
}
