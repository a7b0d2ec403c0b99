/**
 * The host's side of the engine process (Electron main and the browser server both use it): start
 * it, forward requests and match the answers, validate everything it sends, and, when it dies
 * unexpectedly, answer what was pending with ENGINE_LOST, start a fresh one and resume the batch
 * that was running (its manifest keeps the finished photos). How the process is made is the
 * caller's (`spawn`): child_process.fork here, utilityProcess in Electron.
 */
import { type EventName, events } from '../ipc/contract';
import { type EngineStart, EngineToHost, type HostToEngine } from '../ipc/engine-port';
import { ApiError, fail, type Result } from '../ipc/result';
import type { EngineStatus } from '../ipc/schemas';
import { issues } from './issues';

/** One engine process, whatever made it. */
export interface EngineChild {
  send(m: HostToEngine): void;
  onMessage(cb: (m: unknown) => void): void;
  onExit(cb: (code: number | null, signal: string | null) => void): void;
  /** Ends the process at once (the last resort after a shutdown that did not finish). */
  kill(): void;
  pid?: number;
}

export interface EngineClientOptions {
  spawn: () => EngineChild;
  start: Omit<EngineStart, 'kind' | 'resumeFolderId'>;
  log?: (line: string) => void;
  /** Restarts allowed within RESTART_WINDOW_MS before the client gives up (default 5). */
  maxRestarts?: number;
  /** How long a process may take to say it is ready (default 2 minutes: it loads a backend). */
  readyTimeoutMs?: number;
  /** How long shutdown() waits for the process to stop by itself before killing it (default 30 s). */
  shutdownTimeoutMs?: number;
}

export type EngineListener = (name: EventName, payload: unknown) => void;
export type PixelAnswer = { bytes: Uint8Array; mime: string };

const RESTART_WINDOW_MS = 10 * 60_000;

type Pending =
  | { kind: 'invoke'; resolve: (r: Result<unknown>) => void }
  | { kind: 'pixels'; resolve: (p: PixelAnswer) => void; reject: (e: ApiError) => void };

/** One process's lifetime: its messages and exit are ignored once it is no longer the current one. */
interface Generation {
  child: EngineChild;
  ready: boolean;
  exited: boolean;
  readyTimer?: NodeJS.Timeout;
}

export class EngineClient {
  private readonly opts: EngineClientOptions;
  private readonly log: (line: string) => void;
  private readonly listeners = new Set<EngineListener>();
  private readonly pending = new Map<number, Pending>();
  private current: Generation | undefined;
  private nextId = 1;
  private state: EngineStatus = { state: 'starting', message: 'The engine is starting.', restarts: 0 };
  private restartTimes: number[] = [];
  /** The folder whose batch is running, as the engine last said: resumed after a crash. */
  private runningFolder: string | null = null;
  /** Folder paths by id, from events, so messages can name the folder instead of its id. */
  private readonly folderPaths = new Map<string, string>();
  private shuttingDown = false;
  /** Waiters for the current process to be ready (requests made while it starts or restarts). */
  private readyWaiters: { resolve: () => void; reject: (e: ApiError) => void }[] = [];
  private exitWaiters: (() => void)[] = [];

  constructor(opts: EngineClientOptions) {
    this.opts = opts;
    this.log = opts.log ?? (() => {});
  }

  /** The current process id (for logs and for tests that stop it the hard way). */
  get pid(): number | undefined {
    return this.current?.child.pid;
  }

  status(): EngineStatus {
    return { ...this.state };
  }

  /** The folder whose batch the engine says is running, or null. */
  get runningFolderId(): string | null {
    return this.runningFolder;
  }

  /** Starts the process and resolves when it is ready; rejects (ApiError ENGINE_LOST) if it cannot start. */
  start(): Promise<void> {
    if (this.current) return this.whenReady();
    const ready = this.whenReady();
    this.launch(undefined);
    return ready;
  }

  on(listener: EngineListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Forwards a request already validated by the dispatcher; the answer is an envelope, never a throw. */
  async invoke(channel: string, req: unknown): Promise<Result<unknown>> {
    try {
      await this.whenReady();
    } catch (e) {
      return fail((e as ApiError).code, (e as ApiError).message);
    }
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { kind: 'invoke', resolve });
      this.send({ kind: 'invoke', id, channel, req });
    });
  }

  /** Image bytes for a pixel route; throws ApiError with the engine's code when it cannot. */
  async pixels(route: string, req: unknown): Promise<PixelAnswer> {
    await this.whenReady();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { kind: 'pixels', resolve, reject });
      this.send({ kind: 'pixels', id, route, req });
    });
  }

  /**
   * Asks the engine to stop (it cancels running photos, leaving nothing partial, and stops its
   * encoder processes), waits for it to exit, and kills it if it has not within the timeout.
   * Never restarts afterwards.
   */
  async shutdown(): Promise<void> {
    if (this.shuttingDown) return this.current && !this.current.exited ? this.whenExited() : undefined;
    this.shuttingDown = true;
    const gen = this.current;
    this.rejectReadyWaiters('CANCELLED', 'sgai is closing; the engine is shutting down.');
    if (gen && !gen.exited) {
      const exited = this.whenExited();
      this.send({ kind: 'shutdown' });
      const timeoutMs = this.opts.shutdownTimeoutMs ?? 30_000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        exited.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        this.log(`engine: did not stop within ${Math.round(timeoutMs / 1000)} s of the shutdown request; killing it`);
        gen.child.kill();
        await exited;
      }
    }
    this.failPending('CANCELLED', 'sgai is closing; the engine stopped before it answered.');
    this.setStatus({ state: 'stopped', message: 'The engine was shut down.', restarts: this.state.restarts });
  }

  // ---------------------------------------------------------------- the process

  private launch(resumeFolderId: string | undefined): void {
    const child = this.opts.spawn();
    const gen: Generation = { child, ready: false, exited: false };
    this.current = gen;
    child.onMessage((m) => {
      if (this.current === gen) this.receive(gen, m);
    });
    child.onExit((code, signal) => this.exited(gen, code, signal));
    const readyTimeoutMs = this.opts.readyTimeoutMs ?? 120_000;
    gen.readyTimer = setTimeout(() => {
      this.log(`engine: not ready after ${Math.round(readyTimeoutMs / 1000)} s; stopping it`);
      child.kill();
    }, readyTimeoutMs);
    this.log(`engine: starting${child.pid ? ` (pid ${child.pid})` : ''}${resumeFolderId ? `, resuming the batch of ${this.folderName(resumeFolderId)}` : ''}`);
    this.send({ kind: 'start', ...this.opts.start, resumeFolderId });
  }

  private send(m: HostToEngine): void {
    const gen = this.current;
    if (!gen || gen.exited) return;
    try {
      gen.child.send(m);
    } catch (e) {
      // The channel closed under us: the exit handler answers whatever was pending.
      this.log(`engine: could not send ${m.kind}: ${(e as Error).message}`);
    }
  }

  private receive(gen: Generation, raw: unknown): void {
    const parsed = EngineToHost.safeParse(raw);
    if (!parsed.success) {
      this.log(`engine: dropped a message that does not match the protocol: ${issues(parsed.error)}`);
      return;
    }
    const m = parsed.data;
    switch (m.kind) {
      case 'ready':
        return this.becameReady(gen, m.pid);
      case 'result': {
        const p = this.take(m.id, 'invoke');
        if (p?.kind === 'invoke') p.resolve(m.result);
        return;
      }
      case 'pixels': {
        const p = this.take(m.id, 'pixels');
        if (p?.kind !== 'pixels') return;
        if (m.result.ok) p.resolve({ bytes: m.result.bytes, mime: m.result.mime });
        else p.reject(new ApiError(m.result.error));
        return;
      }
      case 'event':
        return this.relayEvent(m.name, m.payload);
      case 'running':
        this.runningFolder = m.folderId;
        return;
      case 'stopped':
        this.log('engine: stopped');
        return;
    }
  }

  private take(id: number, kind: Pending['kind']): Pending | undefined {
    const p = this.pending.get(id);
    if (!p || p.kind !== kind) {
      this.log(`engine: dropped a ${kind} answer for request ${id}, which is not waiting for one`);
      return undefined;
    }
    this.pending.delete(id);
    return p;
  }

  private relayEvent(name: string, payload: unknown): void {
    if (!Object.hasOwn(events, name)) {
      this.log(`engine: dropped an event "${name}" that is not in the contract`);
      return;
    }
    const schema = events[name as EventName];
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      this.log(`engine: dropped a "${name}" event that does not match its schema: ${issues(parsed.error)}`);
      return;
    }
    const value = parsed.data as Record<string, unknown>;
    if (name === 'library:changed') this.folderPaths.set(String(value.id), String(value.path));
    if (name === 'batch:state') this.folderPaths.set(String(value.folderId), String(value.folderPath));
    this.emit(name as EventName, parsed.data);
  }

  private emit(name: EventName, payload: unknown): void {
    for (const l of this.listeners) {
      try {
        l(name, payload);
      } catch (e) {
        this.log(`engine: an event listener failed on "${name}": ${(e as Error).message}`);
      }
    }
  }

  private becameReady(gen: Generation, pid: number): void {
    if (gen.ready) return;
    gen.ready = true;
    clearTimeout(gen.readyTimer);
    const restarts = this.state.restarts;
    this.log(`engine: ready (pid ${pid})`);
    if (restarts === 0) {
      this.setStatus({ state: 'ready', message: 'The engine is ready.', restarts });
    } else {
      const resumed = this.runningFolder;
      this.setStatus({
        state: 'ready', restarts,
        message: resumed
          ? `The engine restarted after stopping unexpectedly; the batch of ${this.folderName(resumed)} resumed where it stopped: finished photos are kept.`
          : 'The engine restarted after stopping unexpectedly; no batch was running, so nothing was lost.',
      });
    }
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w.resolve();
  }

  private exited(gen: Generation, code: number | null, signal: string | null): void {
    if (gen.exited) return;
    gen.exited = true;
    clearTimeout(gen.readyTimer);
    if (this.current !== gen) return;
    const waiters = this.exitWaiters;
    this.exitWaiters = [];
    for (const w of waiters) w();
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (this.shuttingDown) {
      this.log(`engine: exited (${how})`);
      return;
    }
    this.log(`engine: stopped unexpectedly (${how})${gen.ready ? '' : ' before it was ready'}`);
    const lostMessage = `The engine stopped unexpectedly (${how}) and is being restarted; try again in a moment.`;
    this.failPending('ENGINE_LOST', lostMessage);
    if (!gen.ready && this.state.restarts === 0) {
      // It never came up: restarting would fail the same way. Say so and let the caller decide.
      const message = `The engine could not start (${how}). The lines above say why; fix that and start sgai again.`;
      this.setStatus({ state: 'stopped', message, restarts: 0 });
      this.rejectReadyWaiters('ENGINE_LOST', message);
      return;
    }
    const now = Date.now();
    this.restartTimes = this.restartTimes.filter((t) => now - t < RESTART_WINDOW_MS);
    const restarts = this.state.restarts + 1;
    if (this.restartTimes.length >= (this.opts.maxRestarts ?? 5)) {
      const minutes = Math.round(RESTART_WINDOW_MS / 60_000);
      const message =
        `The engine stopped unexpectedly ${this.restartTimes.length + 1} times in ${minutes} minutes (last: ${how}), so sgai stopped restarting it. ` +
        'Finished photos are kept. Close sgai and start it again; if it keeps happening, try fewer encoder processes or a smaller memory budget in Settings.';
      this.setStatus({ state: 'stopped', message, restarts: this.state.restarts });
      this.rejectReadyWaiters('ENGINE_LOST', message);
      return;
    }
    this.restartTimes.push(now);
    this.setStatus({ state: 'lost', message: lostMessage, restarts });
    this.launch(this.runningFolder ?? undefined);
  }

  // ---------------------------------------------------------------- helpers

  private whenReady(): Promise<void> {
    if (this.current?.ready && !this.current.exited) return Promise.resolve();
    if (this.shuttingDown || this.state.state === 'stopped') {
      return Promise.reject(new ApiError({ code: 'ENGINE_LOST', message: this.state.state === 'stopped' ? this.state.message : 'sgai is closing; the engine is shutting down.' }));
    }
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  private whenExited(): Promise<void> {
    return new Promise((r) => this.exitWaiters.push(r));
  }

  private rejectReadyWaiters(code: string, message: string): void {
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w.reject(new ApiError({ code, message }));
  }

  private failPending(code: string, message: string): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      if (p.kind === 'invoke') p.resolve(fail(code, message));
      else p.reject(new ApiError({ code, message }));
    }
  }

  private setStatus(s: EngineStatus): void {
    this.state = s;
    this.emit('engine:status', { ...s });
  }

  private folderName(id: string): string {
    return this.folderPaths.get(id) ?? `folder ${id}`;
  }
}
