/**
 * The engine process as a plain Node child (the browser server, the CLI, tests): child_process.fork
 * with 'advanced' serialization, so pixel bytes cross as Uint8Array instead of JSON arrays.
 */
import { fork } from 'node:child_process';
import { createInterface } from 'node:readline';
import { engineEntry } from '../engine/service/entry-path';
import type { HostToEngine } from '../ipc/engine-port';
import type { EngineChild } from './engine-client';

export interface ForkEngineOptions {
  /** Where the engine's own output lines go (default: this process's stderr). */
  log?: (line: string) => void;
}

export function forkEngine(entry = engineEntry(), opts: ForkEngineOptions = {}): EngineChild {
  const child = fork(entry.path, [], {
    execArgv: entry.execArgv,
    serialization: 'advanced',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    // Its own process group: a Ctrl-C in the terminal reaches only sgai, which then asks the
    // engine to shut down cleanly instead of both racing to die.
    detached: process.platform !== 'win32',
  });
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // The engine's stdout is not ours to print on (the CLI's stdout carries the URL): both its
  // streams become log lines.
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (l) => log(`engine: ${l.replace(/^sgai engine: /, '')}`));
  }
  // A send after the process died raises on the channel; the exit handler reports the loss.
  child.on('error', (e) => log(`engine: ${e.message}`));
  return {
    pid: child.pid,
    send(m: HostToEngine) {
      if (child.connected) child.send(m);
    },
    onMessage(cb) {
      child.on('message', cb);
    },
    onExit(cb) {
      child.on('exit', (code, signal) => cb(code, signal));
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}
