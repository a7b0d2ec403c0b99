/**
 * The viewer's decoder process. Started by the engine (decoder-process.ts), it initialises the
 * compute backend once, then decodes regions of .sgai files as asked: one at a time, newest view
 * first (request-order.ts), each file through a decode session kept between requests
 * (decoder-sessions.ts). It only reads files. A cancel stops the request at its next tile; the
 * process exits when the engine's channel closes.
 */
import { type BackendReport, type BackendRequest, describeBackend, initBackend, isSgaiError } from '../../../core';
import { type DecodeRequest, type FromDecoder, ToDecoder } from './decoder-protocol';
import { SessionCache } from './decoder-sessions';
import { NewestViewFirst } from './request-order';

if (!process.send) {
  process.stderr.write('this is the sgai viewer\'s decoder process; the app\'s engine starts it\n');
  process.exit(2);
}

// Ctrl-C in a terminal signals the whole process group; the engine decides what is cancelled.
process.on('SIGINT', () => {});
// The engine is gone (closed us, finished, crashed): nothing to answer to.
process.on('disconnect', () => process.exit(0));

function send(msg: FromDecoder): void {
  try {
    process.send!(msg);
  } catch {
    process.exit(0); // the channel closed between the check and the send: the engine is gone
  }
}

function errorInfo(e: unknown) {
  return isSgaiError(e)
    ? { code: e.code, message: e.message, sgai: true }
    : { code: 'UNEXPECTED', message: (e as Error)?.message ?? String(e), sgai: false };
}

/**
 * 'auto' here means ONNX Runtime when it works (the fastest g_s on a CPU), else core's own choice.
 * A backend asked for that does not start falls back to that too: the viewer still shows photos
 * (pixels do not depend on it), and the ready message says what happened.
 */
async function startBackend(request: string): Promise<{ report: BackendReport; note: string }> {
  const auto = () => initBackend('ort').catch(() => initBackend('auto'));
  if (request === 'auto') return { report: await auto(), note: '' };
  try {
    return { report: await initBackend(request as BackendRequest), note: '' };
  } catch (e) {
    return { report: await auto(), note: ` (${request} did not start: ${(e as Error).message})` };
  }
}

let ready: Promise<boolean> | undefined;
const sessions = new SessionCache();
const waiting = new NewestViewFirst<DecodeRequest>();
let running: { id: number; ctrl: AbortController } | undefined;

/** Progress at most every 100 ms (IPC is not free), but always the last step. */
function progressSender(id: number) {
  let last = 0;
  return (_stage: string, done: number, total: number) => {
    const now = performance.now();
    if (done < total && now - last < 100) return;
    last = now;
    send({ type: 'progress', id, done, total });
  };
}

async function decodeOne(m: DecodeRequest, signal: AbortSignal): Promise<void> {
  try {
    if (!(await ready)) throw new Error('the decoder has no compute backend'); // init-failed was sent; the engine replaces this process
    const session = await sessions.get(m.path);
    const image = await session.region(m.rect, { exact: m.exact, bitDepth: m.bitDepth, signal, onProgress: m.progress ? progressSender(m.id) : undefined });
    send({ type: 'result', id: m.id, width: image.width, height: image.height, bitDepth: image.bitDepth, data: image.data });
  } catch (e) {
    send({ type: 'failed', id: m.id, error: errorInfo(e) });
  }
}

async function pump(): Promise<void> {
  if (running) return;
  for (let m = waiting.take(); m; m = waiting.take()) {
    running = { id: m.id, ctrl: new AbortController() };
    await decodeOne(m, running.ctrl.signal);
    running = undefined;
  }
}

process.on('message', (raw) => {
  const parsed = ToDecoder.safeParse(raw);
  if (!parsed.success) {
    // Answer what can be answered; an engine speaking another protocol version sees its requests fail.
    const id = (raw as { id?: unknown })?.id;
    const message = `the decoder could not read the request (${parsed.error.issues[0]?.message ?? 'malformed'})`;
    if (Number.isInteger(id)) send({ type: 'failed', id: id as number, error: { code: 'INVALID_ARGUMENT', message, sgai: true } });
    else process.stderr.write(`sgai decoder process: ${message}\n`);
    return;
  }
  const m = parsed.data;
  if (m.type === 'init') {
    ready ??= startBackend(m.backend).then(
      (r) => (send({ type: 'ready', pid: process.pid, backend: describeBackend(r.report) + r.note }), true),
      (e) => (send({ type: 'init-failed', error: errorInfo(e) }), false),
    );
  } else if (m.type === 'decode') {
    waiting.push(m);
    void pump();
  } else if (running?.id === m.id) {
    running.ctrl.abort();
  } else if (waiting.remove((w) => w.id === m.id)) {
    send({ type: 'failed', id: m.id, error: { code: 'CANCELLED', message: 'cancelled', sgai: true } });
  }
});
