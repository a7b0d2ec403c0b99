/** Drives the engine service the way a host does: contract channels in, validated events out. */
import { invoke, type EventName, type EventPayload, type InvokeName, type Req, type Res } from '../src/ipc/contract';
import { unwrap } from '../src/ipc/result';
import type { OutputSettings } from '../src/ipc/schemas';
import { createEngineService, type EngineService } from '../src/engine';

export interface Seen {
  name: EventName;
  payload: unknown;
}

export interface TestService {
  svc: EngineService;
  events: Seen[];
  running: (string | null)[];
  logs: string[];
  call<K extends InvokeName>(name: K, req: Req<K>): Promise<Res<K>>;
  /** Events of one kind, in order. */
  of<E extends EventName>(name: E): EventPayload<E>[];
  /** Resolves with the first value `fn` returns that is not undefined, checking after every event. */
  until<T>(fn: () => T | undefined, what: string, timeoutMs?: number): Promise<T>;
  /** Called on every event as it is emitted (synchronously, like a host's listener). */
  onEvent?: (e: Seen) => void;
}

export async function startService(dataDir: string, extra: { resumeFolderId?: string; addFolders?: string[] } = {}): Promise<TestService> {
  const t: TestService = {
    svc: undefined as unknown as EngineService,
    events: [],
    running: [],
    logs: [],
    async call(name, req) {
      return unwrap(await t.svc.invoke(invoke[name].channel, req)) as never;
    },
    of: (name) => t.events.filter((e) => e.name === name).map((e) => e.payload as never),
    until(fn, what, timeoutMs = 300_000) {
      return new Promise((res, rej) => {
        const t0 = Date.now();
        const tick = () => {
          let v;
          try {
            v = fn();
          } catch (e) {
            return rej(e);
          }
          if (v !== undefined) return res(v);
          if (Date.now() - t0 > timeoutMs) return rej(new Error(`timed out waiting for ${what}`));
          setTimeout(tick, 20);
        };
        tick();
      });
    },
  };
  t.svc = await createEngineService({
    dataDir, transport: 'browser', version: '0.0.0-test', ...extra,
    emit: (name, payload) => {
      const e = { name, payload };
      t.events.push(e);
      t.onEvent?.(e);
    },
    onRunning: (f) => t.running.push(f),
    log: (line) => t.logs.push(line),
  });
  return t;
}

/** Output settings for tests: a separate output folder, no refinement (fast), no min-savings. */
export function outputTo(path: string, over: Partial<OutputSettings> = {}): OutputSettings {
  return {
    destination: { kind: 'folder', path }, keepTree: true, template: '', conflict: 'unique', minSavingsPercent: 0, copyIfNoSavings: false,
    metadata: 'all', quality: { kind: 'preset', preset: 'balanced' }, effort: 'off', include: [], exclude: [], verify: false, ...over,
  };
}
