/**
 * The utilityProcess adapter behind EngineChild: how it forks, and how utilityProcess's messages,
 * exit, output and fatal errors map onto the interface the host's EngineClient uses. Then the real
 * thing: EngineClient over the adapter over the real engine process (forked with child_process,
 * which speaks the same messages as a utility process's parentPort).
 */
import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { engineEntry } from '../src/engine/service/entry-path';
import { builtPaths, engineEnv } from '../src/main/app-paths';
import { createEngineHost } from '../src/main/engine-host';
import { ENGINE_SERVICE_NAME, forkUtilityEngine, type UtilityChildLike, type UtilityForker } from '../src/main/utility-engine-child';
import { tempDir } from './helpers';

class FakeUtilityChild extends EventEmitter implements UtilityChildLike {
  pid: number | undefined = undefined;
  stdout = new PassThrough();
  stderr = new PassThrough();
  posted: unknown[] = [];
  kills = 0;
  postMessage(m: unknown) {
    this.posted.push(m);
  }
  kill() {
    this.kills++;
    return true;
  }
}

function fakeForker() {
  const forks: Array<{ modulePath: string; args: string[]; options: Parameters<UtilityForker['fork']>[2]; child: FakeUtilityChild }> = [];
  const forker: UtilityForker = {
    fork(modulePath, args, options) {
      const child = new FakeUtilityChild();
      forks.push({ modulePath, args, options, child });
      return child;
    },
  };
  return { forker, forks };
}

describe('utilityProcess engine adapter', () => {
  it('forks the entry as the "sgai engine" service with piped output and the given environment', () => {
    const { forker, forks } = fakeForker();
    const paths = builtPaths('/opt/sgai/out/main');
    const env = engineEnv({ HOME: '/home/me', UNSET: undefined }, paths);
    forkUtilityEngine(forker, paths.engine, env, () => {});
    expect(forks).toHaveLength(1);
    expect(forks[0]).toMatchObject({ modulePath: '/opt/sgai/out/main/engine.js', args: [], options: { serviceName: ENGINE_SERVICE_NAME, stdio: 'pipe' } });
    expect(forks[0].options.env).toEqual({ HOME: '/home/me', SGAI_WORKER_ENTRY: '/opt/sgai/out/main/worker.js' });
  });

  it('maps postMessage, message, exit, pid, output lines and fatal errors', async () => {
    const { forker, forks } = fakeForker();
    const lines: string[] = [];
    const engine = forkUtilityEngine(forker, '/e.js', {}, (l) => void lines.push(l));
    const child = forks[0].child;

    expect(engine.pid).toBeUndefined();
    child.pid = 4242; // utilityProcess knows its pid once spawned
    expect(engine.pid).toBe(4242);

    engine.send({ kind: 'shutdown' });
    expect(child.posted).toEqual([{ kind: 'shutdown' }]);

    const got: unknown[] = [];
    engine.onMessage((m) => got.push(m));
    const pixels = { kind: 'pixels', id: 1, result: { ok: true, bytes: new Uint8Array([1, 2]), mime: 'image/jpeg' } };
    child.emit('message', pixels);
    expect(got).toEqual([pixels]);
    expect((got[0] as typeof pixels).result.bytes).toBeInstanceOf(Uint8Array);

    child.stderr.write('warning: slow disk\npartial');
    child.stdout.write('hello\n');
    child.emit('error', 'FatalError', 'v8::Heap', 'out of memory');
    await new Promise((r) => setTimeout(r, 10));
    expect(lines).toEqual(expect.arrayContaining(['[engine stderr] warning: slow disk', '[engine stdout] hello', 'the engine process hit a fatal FatalError at v8::Heap: out of memory']));

    const exits: Array<[number | null, string | null]> = [];
    engine.onExit((code, signal) => exits.push([code, signal]));
    child.emit('exit', 9);
    expect(exits).toEqual([[9, null]]);

    // After exit: nothing more is posted or killed (the port is closed), and it is logged.
    engine.send({ kind: 'shutdown' });
    engine.kill();
    expect(child.posted).toHaveLength(1);
    expect(child.kills).toBe(0);
    expect(lines.some((l) => l.includes('dropped a "shutdown" message'))).toBe(true);
  });

  it('kill() ends a running process', () => {
    const { forker, forks } = fakeForker();
    forkUtilityEngine(forker, '/e.js', {}, () => {}).kill();
    expect(forks[0].child.kills).toBe(1);
  });
});

/**
 * A UtilityForker that runs the real engine entry with child_process.fork: the engine process
 * detects either transport, and a ChildProcess is shaped like a utility process here.
 */
const realForker: UtilityForker = {
  fork(modulePath, args, options) {
    const entry = engineEntry();
    const child = fork(modulePath, args, { env: options.env, execArgv: entry.execArgv, serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const hardKill = child.kill.bind(child, 'SIGKILL');
    return Object.assign(child, {
      postMessage: (m: unknown) => void child.send(m as never),
      kill: () => hardKill(),
    }) as unknown as UtilityChildLike;
  },
};

/** This process's environment (its encoder processes, if any, run from sources as in the other engine tests). */
const inheritedEnv = () => Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));

describe('engine host over the real engine process', () => {
  it('starts the engine in the data folder, answers app:info for the electron transport, and shuts down cleanly', async () => {
    const dataDir = tempDir('sgai-engine-host-');
    const lines: string[] = [];
    const engine = createEngineHost({
      utilityProcess: realForker, entry: engineEntry().path, env: inheritedEnv(), dataDir, version: '9.9.9-test',
      log: (l) => void lines.push(l),
    });
    await engine.start();
    expect(engine.status().state).toBe('ready');
    const info = await engine.invoke('app:info', {});
    expect(info).toMatchObject({ ok: true, value: { transport: 'electron', version: '9.9.9-test' } });
    const pid = engine.pid!;
    await engine.shutdown();
    expect(engine.status().state).toBe('stopped');
    expect(() => process.kill(pid, 0)).toThrow(); // the process is gone
  });
});
