/**
 * An encoder process. Started by the engine (worker/host.ts), it initialises the backend and
 * loads the model once, then encodes one photo at a time as asked. It writes no output: the
 * .sgai bytes go back to the engine, which alone writes outputs and the manifest, so a killed
 * worker can never leave a half-written file. It opens photos read-only (encodeFile reads them).
 */
import {
  type BackendRequest, describeBackend, encodeFile, initBackend, type InstalledModel, isSgaiError, type LoadedModel, loadModel, SgaiError,
} from '../../core';
import { encodePhotoFile } from '../encode-photo';
import { appendWorkerLog } from './log';
import { type EncodeMessage, type FromWorker, type InitMessage, ToWorker } from './protocol';

if (!process.send) {
  process.stderr.write('this is an sgai encoder process; the batch engine starts it\n');
  process.exit(2);
}

// Ctrl-C in a terminal signals the whole process group; the engine decides what is cancelled.
process.on('SIGINT', () => {});
// The parent is gone (finished, crashed or SIGKILLed: the IPC channel closes): nothing to report to.
process.on('disconnect', () => process.exit(0));

let model: LoadedModel | undefined;
let targetModels: LoadedModel[] = [];
let slot = 0;
const running = new Map<string, AbortController>();

function send(msg: FromWorker): void {
  try {
    process.send!(msg);
  } catch {
    process.exit(0); // channel closed between the check and the send: the parent is gone
  }
}

const maxRssKb = () => process.resourceUsage().maxRSS;

function errorInfo(e: unknown) {
  return isSgaiError(e)
    ? { code: e.code, message: e.message, sgai: true }
    : { code: 'UNEXPECTED', message: (e as Error)?.message ?? String(e), sgai: false };
}

async function init(m: InitMessage): Promise<void> {
  slot = m.slot;
  try {
    const backend = await initBackend(m.backend as BackendRequest);
    model = loadModel(m.model as unknown as InstalledModel);
    targetModels = (m.targetModels ?? []).map((t) => loadModel(t as unknown as InstalledModel));
    if (model.weights.sha256 !== m.weightsSha256) {
      throw new SgaiError('BAD_WEIGHTS', `the model file ${m.model.weightsPath} changed while the batch was starting; run the batch again`);
    }
    // Beats between tiles and refinement steps (the codec yields there), so silence means stuck.
    setInterval(() => send({ type: 'heartbeat' }), m.heartbeatMs).unref();
    send({ type: 'ready', pid: process.pid, backend: describeBackend(backend) });
  } catch (e) {
    send({ type: 'init-failed', error: errorInfo(e) });
  }
}

/** Progress at most every 100 ms per stage (IPC is not free), but every stage's start and end. */
function progressSender(requestId: string) {
  let lastStage = '';
  let last = 0;
  return (stage: string, done: number, total: number) => {
    const now = performance.now();
    if (stage === lastStage && done < total && now - last < 100) return;
    lastStage = stage;
    last = now;
    send({ type: 'progress', requestId, stage, done, total });
  };
}

/** Exactly the bytes of the file: a view into a larger buffer would send the whole buffer. */
const tight = (b: Uint8Array) => (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice());

async function encodeOne(m: EncodeMessage): Promise<void> {
  const ctrl = new AbortController();
  running.set(m.requestId, ctrl);
  const t0 = performance.now();
  const log = (event: 'start' | 'finish' | 'fail' | 'cancel', error?: string) => {
    if (m.logDir) appendWorkerLog(m.logDir, { slot, event, source: m.label, seconds: event === 'start' ? undefined : Math.round(performance.now() - t0) / 1000, error });
  };
  log('start');
  try {
    if (!model) throw new SgaiError('INVALID_ARGUMENT', 'the encoder process was asked to encode before it was ready');
    const r = await encodePhotoFile(m.source, { model, targetModels }, m.options, { signal: ctrl.signal, onProgress: progressSender(m.requestId) });
    log('finish');
    send({ type: 'result', requestId: m.requestId, bytes: tight(r.bytes), stats: r.stats, seconds: (performance.now() - t0) / 1000, maxRssKb: maxRssKb() });
  } catch (e) {
    const error = errorInfo(e);
    log(error.code === 'CANCELLED' ? 'cancel' : 'fail', error.code === 'CANCELLED' ? undefined : `${error.code}: ${error.message}`);
    send({ type: 'failed', requestId: m.requestId, error, maxRssKb: maxRssKb() });
  } finally {
    running.delete(m.requestId);
  }
}

process.on('message', (raw) => {
  const parsed = ToWorker.safeParse(raw);
  if (!parsed.success) {
    // A parent speaking another protocol version: stop, and the engine reports the exit.
    process.stderr.write(`sgai encoder process: unreadable request (${parsed.error.message})\n`);
    process.exit(70);
  }
  const m = parsed.data;
  if (m.type === 'init') void init(m);
  else if (m.type === 'encode') void encodeOne(m);
  else running.get(m.requestId)?.abort();
});
