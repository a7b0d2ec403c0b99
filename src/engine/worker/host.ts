/**
 * One encoder process seen from the engine: start it (fork + init + wait for 'ready'), hand it
 * one photo at a time, pass its progress on, and notice when it dies or goes silent. A silent
 * worker (no heartbeat or progress for `hangTimeoutMs`) is SIGKILLed; either way the photo's
 * promise rejects with WorkerLostError and the pool decides about a retry. A dead host starts
 * a fresh process on its next start().
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { SgaiError, type SgaiErrorCode } from '../../core';
import type { WorkerEntry } from './entry-path';
import { type EncodeMessage, FromWorker, type InitMessage, type ResultMessage, type ToWorker } from './protocol';

export type LostReason =
  | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'hung'; silentS: number }
  | { kind: 'protocol'; detail: string }
  | { kind: 'error'; detail: string };

/** The process went away (or was killed as stuck) while starting or encoding. */
export class WorkerLostError extends Error {
  constructor(readonly reason: LostReason, readonly pid: number | undefined, readonly phase: 'start' | 'encode', readonly stderrTail: string) {
    super(describeLoss(reason));
    this.name = 'WorkerLostError';
  }
}

/** In words, for the photographer: "stopped unexpectedly (signal SIGKILL)". */
export function describeLoss(r: LostReason): string {
  if (r.kind === 'hung') return `stopped responding (nothing heard for ${Math.round(r.silentS)} s)`;
  if (r.kind === 'protocol') return `sent something unreadable (${r.detail})`;
  if (r.kind === 'error') return `could not be reached (${r.detail})`;
  return `stopped unexpectedly (${r.signal ? `signal ${r.signal}` : `exit code ${r.code}`})`;
}

export interface HostOptions {
  slot: number;
  entry: WorkerEntry;
  init: Omit<InitMessage, 'type' | 'slot'>;
  hangTimeoutMs: number;
  /** How long a cancelled photo may take to stop before the process is killed. */
  cancelGraceMs: number;
  /** Forward the worker's stderr (SGAI_DEBUG) instead of keeping only its tail for reports. */
  forwardStderr?: boolean;
  onReady?: (pid: number, backend: string) => void;
  /** An idle process died (nothing was lost, but it is worth saying). */
  onIdleExit?: (reason: LostReason, pid: number | undefined) => void;
}

export type EncodeJob = Omit<EncodeMessage, 'type' | 'requestId'>;

interface Pending {
  requestId: string;
  resolve: (r: ResultMessage) => void;
  reject: (e: Error) => void;
  onProgress?: (stage: string, done: number, total: number) => void;
}

/** Bytes of a worker's stderr kept for reports. */
const TAIL = 4000;
const START_TIMEOUT_MS = 120_000;

export class WorkerHost {
  private child: ChildProcess | undefined;
  private starting: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private ready = false;
  private pending: Pending | undefined;
  private lastHeard = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private stderrTail = '';
  private closing = false;
  /** Label of the photo being encoded. */
  job: string | undefined;
  /** Highest maxRSS any of this slot's processes reported, in kB. */
  peakRssKb = 0;

  constructor(private readonly opts: HostOptions) {}

  get slot(): number {
    return this.opts.slot;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get state(): 'stopped' | 'starting' | 'idle' | 'busy' {
    return !this.child ? 'stopped' : !this.ready ? 'starting' : this.pending ? 'busy' : 'idle';
  }

  /** Starts the process if none is running, and waits until it has its backend and model. */
  start(): Promise<void> {
    if (this.child && this.ready) return Promise.resolve();
    if (this.child && this.starting) return new Promise((resolve, reject) => this.chainStart(resolve, reject));
    return new Promise((resolve, reject) => {
      this.starting = { resolve, reject };
      this.spawn();
    });
  }

  private chainStart(resolve: () => void, reject: (e: Error) => void): void {
    const prev = this.starting!;
    this.starting = { resolve: () => (prev.resolve(), resolve()), reject: (e) => (prev.reject(e), reject(e)) };
  }

  private spawn(): void {
    const { entry } = this.opts;
    const child = fork(entry.path, [], {
      execArgv: entry.execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child = child;
    this.ready = false;
    this.stderrTail = '';
    this.lastHeard = Date.now();
    child.stderr?.on('data', (d: Buffer) => {
      if (this.opts.forwardStderr) process.stderr.write(d);
      this.stderrTail = (this.stderrTail + d.toString()).slice(-TAIL);
    });
    child.on('message', (raw) => this.onMessage(child, raw));
    child.on('exit', (code, signal) => this.onExit(child, { kind: 'exit', code, signal }));
    // A failed fork or a send into a closed channel; 'exit' may follow, and is then ignored.
    child.on('error', (e) => child === this.child && this.lose({ kind: 'error', detail: e.message }));
    const init: ToWorker = { type: 'init', slot: this.opts.slot, ...this.opts.init };
    child.send(init);
    this.watchdog ??= setInterval(() => this.checkAlive(), Math.min(1000, this.opts.hangTimeoutMs / 4));
    this.watchdog.unref();
  }

  private onMessage(child: ChildProcess, raw: unknown): void {
    if (child !== this.child) return; // a replaced process's last words
    this.lastHeard = Date.now();
    const parsed = FromWorker.safeParse(raw);
    if (!parsed.success) return this.lose({ kind: 'protocol', detail: parsed.error.issues[0]?.message ?? 'bad message' });
    const m = parsed.data;
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.opts.onReady?.(m.pid, m.backend);
        this.settleStart();
        return;
      case 'init-failed':
        this.discard(); // it cannot encode; a later start() tries afresh
        this.settleStart(toError(m.error));
        return;
      case 'heartbeat':
        return;
      case 'progress':
        if (this.pending?.requestId === m.requestId) this.pending.onProgress?.(m.stage, m.done, m.total);
        return;
      case 'result':
      case 'failed': {
        this.peakRssKb = Math.max(this.peakRssKb, m.maxRssKb);
        const p = this.pending;
        if (!p || p.requestId !== m.requestId) return;
        this.pending = undefined;
        this.job = undefined;
        if (m.type === 'result') p.resolve(m);
        else p.reject(toError(m.error));
      }
    }
  }

  private settleStart(err?: Error): void {
    const s = this.starting;
    this.starting = undefined;
    if (err) s?.reject(err);
    else s?.resolve();
  }

  private onExit(child: ChildProcess, reason: LostReason): void {
    if (child === this.child) this.lose(reason);
  }

  /** Forgets the process (killing it if it still runs); its later events are ignored. */
  private discard(): void {
    const child = this.child;
    this.child = undefined;
    this.ready = false;
    this.pending = undefined;
    this.job = undefined;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  /** The process is gone or given up on: reject what waited on it. */
  private lose(reason: LostReason): void {
    const pid = this.child?.pid;
    const wasStarting = !!this.starting;
    const p = this.pending;
    this.discard();
    if (wasStarting) this.settleStart(new WorkerLostError(reason, pid, 'start', this.stderrTail));
    if (p) p.reject(new WorkerLostError(reason, pid, 'encode', this.stderrTail));
    if (!wasStarting && !p && !this.closing) this.opts.onIdleExit?.(reason, pid);
  }

  private checkAlive(): void {
    if (!this.child || (!this.starting && !this.pending)) return;
    // Loading the code, the backend and the model cannot beat; only a start that takes minutes is stuck.
    const limit = this.starting ? Math.max(this.opts.hangTimeoutMs, START_TIMEOUT_MS) : this.opts.hangTimeoutMs;
    const silentMs = Date.now() - this.lastHeard;
    if (silentMs > limit) this.lose({ kind: 'hung', silentS: silentMs / 1000 });
  }

  /** Encodes one photo on this (started) process. */
  encode(job: EncodeJob, hooks: { signal?: AbortSignal; onProgress?: Pending['onProgress'] } = {}): Promise<ResultMessage> {
    const child = this.child;
    if (!child || !this.ready) return Promise.reject(new WorkerLostError({ kind: 'exit', code: null, signal: null }, undefined, 'encode', ''));
    if (this.pending) throw new Error('WorkerHost.encode: this process is busy'); // a pool bug, not a user error
    const requestId = randomUUID();
    const { signal } = hooks;
    return new Promise<ResultMessage>((resolve, reject) => {
      let grace: NodeJS.Timeout | undefined;
      const onAbort = () => {
        child.send({ type: 'cancel', requestId } satisfies ToWorker);
        // It stops at its next checkpoint; one that does not is killed (and restarted when needed).
        grace = setTimeout(() => {
          if (this.pending?.requestId !== requestId) return;
          this.discard();
          done();
          reject(new SgaiError('CANCELLED', `cancelled: ${job.label}`));
        }, this.opts.cancelGraceMs);
      };
      const done = () => {
        signal?.removeEventListener('abort', onAbort);
        clearTimeout(grace);
      };
      this.pending = {
        requestId,
        onProgress: hooks.onProgress,
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
      };
      this.job = job.label;
      this.lastHeard = Date.now();
      child.send({ type: 'encode', requestId, ...job } satisfies ToWorker);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Kills the process now (SIGKILL); what it was doing is rejected as lost. */
  kill(): void {
    this.child?.kill('SIGKILL');
  }

  /** Lets an idle process exit on its own (it exits when the channel closes), else kills it. */
  async close(timeoutMs = 5000): Promise<void> {
    this.closing = true;
    clearInterval(this.watchdog);
    this.watchdog = undefined;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}

function toError(e: { code: string; message: string; sgai: boolean }): Error {
  return e.sgai ? new SgaiError(e.code as SgaiErrorCode, e.message) : new Error(e.message);
}
