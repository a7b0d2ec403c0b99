/**
 * The app's engine process. Started by a host (Electron's utilityProcess, or child_process.fork
 * for the browser app and tests), it waits for EngineStart, then answers invoke and pixels
 * requests through the engine service and pushes contract events, until shutdown. Encoder
 * processes are its own children; when its parent's channel closes it cancels everything
 * (nothing partial is left) and exits.
 */
import { EngineStart, type EngineToHost, HostToEngine } from '../../ipc/engine-port';
import { createEngineService, type EngineService } from './service';

interface ParentPort {
  on(event: 'message', cb: (e: { data: unknown }) => void): void;
  on(event: 'close', cb: () => void): void;
  postMessage(m: unknown): void;
}

/** Electron's utilityProcess gives process.parentPort; a fork gives process.send. */
const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

function log(line: string): void {
  process.stderr.write(`sgai engine: ${line}\n`);
}

function send(m: EngineToHost): void {
  try {
    if (parentPort) parentPort.postMessage(m);
    else if (process.send && process.connected) process.send(m);
  } catch (e) {
    log(`could not reach the app (${(e as Error).message})`);
  }
}

if (!parentPort && !process.send) {
  process.stderr.write('this is the sgai engine process; the app (or `sgai app --browser`) starts it\n');
  process.exit(2);
}

let service: EngineService | undefined;
let starting: Promise<void> | undefined;
let stopping = false;

async function start(m: EngineStart): Promise<void> {
  service = await createEngineService({
    dataDir: m.dataDir, transport: m.transport, version: m.version, addFolders: m.addFolders, resumeFolderId: m.resumeFolderId, log,
    emit: (name, payload) => send({ kind: 'event', name, payload }),
    onRunning: (folderId) => send({ kind: 'running', folderId }),
  });
  send({ kind: 'ready', pid: process.pid });
}

/** Cancels what runs (nothing partial is left), ends the encoder processes, then exits. */
async function stop(tell: boolean): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await starting?.catch(() => undefined);
    await service?.shutdown();
  } catch (e) {
    log(`shutdown: ${(e as Error).message}`);
  }
  if (tell) send({ kind: 'stopped' });
  // Let the last message leave before the process ends.
  setImmediate(() => process.exit(0));
}

async function onMessage(raw: unknown): Promise<void> {
  const parsed = HostToEngine.safeParse(raw);
  if (!parsed.success) {
    log(`ignored a message that is not part of the protocol (${parsed.error.message.slice(0, 300)})`);
    const id = (raw as { id?: unknown })?.id;
    const kind = (raw as { kind?: unknown })?.kind;
    const error = { code: 'BAD_REQUEST', message: 'the message does not match the engine protocol' };
    if (typeof id === 'number' && Number.isInteger(id)) send(kind === 'pixels' ? { kind: 'pixels', id, result: { ok: false, error } } : { kind: 'result', id, result: { ok: false, error } });
    return;
  }
  const m = parsed.data;
  if (m.kind === 'start') {
    if (starting) return log('ignored a second start message');
    starting = start(m).catch((e) => {
      log(`could not start: ${(e as Error)?.stack ?? String(e)}`);
      process.exit(1);
    });
    return;
  }
  if (m.kind === 'shutdown') return stop(true);
  const notReady = { code: stopping ? 'NOT_AVAILABLE' : 'UNEXPECTED', message: stopping ? 'the engine is stopping' : 'the engine was asked before it was started' };
  await starting;
  if (m.kind === 'invoke') {
    send({ kind: 'result', id: m.id, result: service && !stopping ? await service.invoke(m.channel, m.req) : { ok: false, error: notReady } });
  } else {
    send({ kind: 'pixels', id: m.id, result: service && !stopping ? await service.pixels(m.route, m.req) : { ok: false, error: notReady } });
  }
}

const receive = (raw: unknown) => void onMessage(raw).catch((e) => log(`unexpected: ${(e as Error)?.stack ?? String(e)}`));

// Ctrl-C in a terminal signals the whole process group; the host decides what is stopped.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => void stop(false));
if (parentPort) {
  parentPort.on('message', (e) => receive(e.data));
  parentPort.on('close', () => void stop(false));
} else {
  process.on('message', receive);
  // The host is gone (quit, crashed or SIGKILLed: the IPC channel closes): cancel and leave.
  process.on('disconnect', () => void stop(false));
}
