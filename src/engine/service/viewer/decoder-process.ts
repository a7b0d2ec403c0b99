/**
 * The viewer's decoder process, seen from the engine: decodes stay off the engine's event loop
 * (library, batches and other requests keep answering while a 24 MP file decodes). Started on the
 * first request; requests go straight to it (it orders them, newest view first); a cancelled
 * request is answered CANCELLED at once and the process stops it at its next tile. If the
 * process dies, what waited on it fails with ENCODER_CRASHED and the next request starts a new
 * one. SgaiError codes and messages cross the boundary intact.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { basename } from 'node:path';
import { type RasterImage, SgaiError, type SgaiErrorCode } from '../../../core';
import { type DecoderEntry, decoderEntry } from './decoder-entry-path';
import { type DecodeRequest, FromDecoder, type ToDecoder } from './decoder-protocol';

export interface Rect { x: number; y: number; width: number; height: number }

export interface DecodeCall {
  rect?: Rect;
  /** true: g_s on the wasm reference (identical pixels everywhere: exports); false: the fast backend (ort). */
  exact: boolean;
  bitDepth: 8 | 16;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface DecoderProcessOptions {
  log: (line: string) => void;
  /** Core backend request ('auto': ONNX Runtime when it works); a function is read at each start. */
  backend?: string | (() => string);
  /** The module to fork (default: decoderEntry()). */
  entry?: string;
}

interface Pending {
  path: string;
  resolve: (img: RasterImage) => void;
  reject: (e: Error) => void;
  onProgress?: (done: number, total: number) => void;
}

/** Bytes of the process's stderr kept for the log when it dies. */
const TAIL = 4000;

export class DecoderProcess {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderrTail = '';
  private closed = false;
  private readonly entry: DecoderEntry;

  constructor(private readonly o: DecoderProcessOptions) {
    this.entry = decoderEntry(o.entry);
  }

  /** The running process's pid (tests, logs); undefined before the first request or after a loss. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Full-res pixels of rect (whole image when omitted); exact: reference wasm g_s (exports), else the fast backend (ort). */
  decode(path: string, o: DecodeCall): Promise<RasterImage> {
    if (this.closed) return Promise.reject(new SgaiError('CANCELLED', 'the viewer is closing'));
    if (o.signal?.aborted) return Promise.reject(new SgaiError('CANCELLED', 'cancelled'));
    const child = this.started();
    const id = this.nextId++;
    return new Promise<RasterImage>((resolve, reject) => {
      const onAbort = () => {
        if (!this.pending.delete(id)) return;
        done();
        this.send(child, { type: 'cancel', id });
        reject(new SgaiError('CANCELLED', 'cancelled'));
      };
      const done = () => o.signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        path,
        onProgress: o.onProgress,
        resolve: (img) => (done(), resolve(img)),
        reject: (e) => (done(), reject(e)),
      });
      o.signal?.addEventListener('abort', onAbort, { once: true });
      const req: DecodeRequest = { type: 'decode', id, path, exact: o.exact, bitDepth: o.bitDepth, progress: !!o.onProgress, ...(o.rect ? { rect: o.rect } : {}) };
      this.send(child, req);
    });
  }

  /**
   * Ends the process (the backend changed, say): what waits fails with CANCELLED and the next
   * request starts a new process.
   */
  async restart(): Promise<void> {
    await this.stop(new SgaiError('CANCELLED', 'the decoder was restarted; ask again'));
  }

  /** Ends the process; what waits fails with CANCELLED and later requests are refused. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop(new SgaiError('CANCELLED', 'the viewer is closing'));
  }

  private async stop(why: Error): Promise<void> {
    const child = this.child;
    this.child = undefined;
    this.failAll(why);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // It exits when its channel closes, at once even mid-decode (its 'disconnect' handler exits).
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  private started(): ChildProcess {
    if (this.child) return this.child;
    const child = fork(this.entry.path, [], {
      execArgv: this.entry.execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child = child;
    this.stderrTail = '';
    child.stderr?.on('data', (d: Buffer) => (this.stderrTail = (this.stderrTail + d.toString()).slice(-TAIL)));
    child.on('message', (raw) => this.onMessage(child, raw));
    child.on('exit', (code, signal) => child === this.child && this.lose(signal ? `signal ${signal}` : `exit code ${code}`));
    // A failed fork, or a send into a closed channel; 'exit' may follow and is then ignored.
    child.on('error', (e) => child === this.child && this.lose(e.message));
    const backend = typeof this.o.backend === 'function' ? this.o.backend() : this.o.backend ?? 'auto';
    this.send(child, { type: 'init', backend });
    return child;
  }

  private send(child: ChildProcess, msg: ToDecoder): void {
    // A dead channel is reported through 'error'/'exit', which fail what waits.
    if (child.connected) child.send(msg, (e) => e && child === this.child && this.lose(e.message));
  }

  private onMessage(child: ChildProcess, raw: unknown): void {
    if (child !== this.child) return; // a replaced process's last words
    const parsed = FromDecoder.safeParse(raw);
    if (!parsed.success) return this.lose(`it sent something unreadable (${parsed.error.issues[0]?.message ?? 'bad message'})`);
    const m = parsed.data;
    switch (m.type) {
      case 'ready':
        this.o.log(`viewer decoder process ready (pid ${m.pid}, ${m.backend})`);
        return;
      case 'init-failed':
        this.o.log(`viewer decoder process could not start: ${m.error.message}`);
        this.child = undefined;
        child.kill('SIGKILL');
        this.failAll(toError(m.error));
        return;
      case 'progress':
        this.pending.get(m.id)?.onProgress?.(m.done, m.total);
        return;
      case 'result':
      case 'failed': {
        const p = this.pending.get(m.id);
        if (!p) return; // cancelled here already
        this.pending.delete(m.id);
        if (m.type === 'result') p.resolve({ width: m.width, height: m.height, bitDepth: m.bitDepth, data: m.data });
        else p.reject(toError(m.error));
      }
    }
  }

  /** The process died or broke: everything it had fails, and the next request starts a new one. */
  private lose(why: string): void {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    const files = [...new Set([...this.pending.values()].map((p) => basename(p.path)))];
    const tail = this.stderrTail.trim().split('\n').slice(-3).join(' | ');
    this.o.log(`viewer decoder process ${child?.pid ?? ''} stopped: ${why}${files.length ? ` while decoding ${files.join(', ')}` : ''}${tail ? ` (stderr: ${tail})` : ''}`);
    this.failAll(new SgaiError('ENCODER_CRASHED', `the viewer's decoder stopped unexpectedly (${why})${files.length ? ` while decoding ${files.join(', ')}` : ''}; it starts again on the next request`));
  }

  private failAll(e: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(e);
  }
}

function toError(e: { code: string; message: string; sgai: boolean }): Error {
  return e.sgai ? new SgaiError(e.code as SgaiErrorCode, e.message) : new Error(e.message);
}
