/**
 * EngineClient's protocol handling, with an in-memory EngineChild the test drives message by
 * message (the real engine process is covered by app-server-security and app-engine-restart):
 * validation of what the engine sends, ENGINE_LOST + restart with the running folder resumed,
 * the restart limit, and no restart after shutdown.
 */
import { describe, expect, it } from 'vitest';
import { type EngineChild, EngineClient } from '../src/host/engine-client';
import type { HostToEngine } from '../src/ipc/engine-port';

/** One scripted engine process: records what the host sent; the test plays the engine's part. */
class ScriptedChild implements EngineChild {
  static count = 0;
  readonly pid = 1000 + ScriptedChild.count++;
  readonly sent: HostToEngine[] = [];
  private message?: (m: unknown) => void;
  private exit?: (code: number | null, signal: string | null) => void;
  killed = false;
  send(m: HostToEngine) {
    this.sent.push(m);
  }
  onMessage(cb: (m: unknown) => void) {
    this.message = cb;
  }
  onExit(cb: (code: number | null, signal: string | null) => void) {
    this.exit = cb;
  }
  kill() {
    this.killed = true;
    queueMicrotask(() => this.die(null, 'SIGKILL'));
  }
  say(m: unknown) {
    this.message?.(m);
  }
  die(code: number | null, signal: string | null) {
    this.exit?.(code, signal);
  }
}

function setup(opts: { maxRestarts?: number } = {}) {
  const children: ScriptedChild[] = [];
  const logs: string[] = [];
  const events: [string, unknown][] = [];
  const client = new EngineClient({
    spawn: () => {
      const c = new ScriptedChild();
      children.push(c);
      return c;
    },
    start: { dataDir: '/tmp/x', transport: 'browser', version: '0.0.0', addFolders: [] },
    log: (l) => logs.push(l),
    maxRestarts: opts.maxRestarts,
    shutdownTimeoutMs: 200,
  });
  client.on((name, payload) => events.push([name, payload]));
  const last = () => children[children.length - 1];
  return { client, children, logs, events, last };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('EngineClient', () => {
  it('starts with EngineStart, answers requests by id, and drops what does not match the protocol or the contract', async () => {
    const { client, last, logs, events } = setup();
    const started = client.start();
    expect(last().sent[0]).toMatchObject({ kind: 'start', transport: 'browser', dataDir: '/tmp/x' });
    expect(last().sent[0]).not.toHaveProperty('resumeFolderId', expect.anything());
    last().say({ kind: 'ready', pid: last().pid });
    await started;
    expect(client.status().state).toBe('ready');

    const a = client.invoke('app:info', {});
    const b = client.invoke('jobs:list', {});
    await tick();
    const [ia, ib] = last().sent.slice(1) as { id: number }[];
    last().say({ kind: 'result', id: ib.id, result: { ok: true, value: [] } });
    last().say({ kind: 'result', id: ia.id, result: { ok: false, error: { code: 'IO', message: 'disk full' } } });
    expect(await a).toEqual({ ok: false, error: { code: 'IO', message: 'disk full' } });
    expect(await b).toEqual({ ok: true, value: [] });

    last().say({ kind: 'gossip' });
    last().say({ kind: 'event', name: 'not:an-event', payload: {} });
    last().say({ kind: 'event', name: 'queue:state', payload: { paused: 'yes' } });
    last().say({ kind: 'event', name: 'queue:state', payload: { paused: true } });
    expect(events.filter(([n]) => n === 'queue:state')).toEqual([['queue:state', { paused: true }]]);
    expect(logs.filter((l) => l.includes('dropped'))).toHaveLength(3);

    const px = client.pixels('thumb', { folderId: 'f', rel: 'a.jpg' });
    await tick();
    const ip = last().sent[last().sent.length - 1] as { id: number };
    last().say({ kind: 'pixels', id: ip.id, result: { ok: false, error: { code: 'NOT_FOUND', message: 'no such photo' } } });
    await expect(px).rejects.toMatchObject({ name: 'ApiError', code: 'NOT_FOUND' });
  });

  it('answers pending requests with ENGINE_LOST, restarts resuming the running folder, and says so', async () => {
    const { client, last, children, events } = setup();
    const started = client.start();
    last().say({ kind: 'ready', pid: 1 });
    await started;
    last().say({ kind: 'event', name: 'batch:state', payload: batchInfo('f1', '/photos/summer') });
    last().say({ kind: 'running', folderId: 'f1' });
    const pending = client.invoke('jobs:list', {});
    await tick();
    last().die(null, 'SIGKILL');
    const r = await pending;
    expect(r).toMatchObject({ ok: false, error: { code: 'ENGINE_LOST' } });
    expect(!r.ok && r.error.message).toContain('SIGKILL');
    expect(children).toHaveLength(2);
    expect(last().sent[0]).toMatchObject({ kind: 'start', resumeFolderId: 'f1' });
    // A request made while it restarts waits for the new process.
    const waiting = client.invoke('jobs:list', {});
    last().say({ kind: 'ready', pid: 2 });
    await tick();
    const id = (last().sent[1] as { id: number }).id;
    last().say({ kind: 'result', id, result: { ok: true, value: [] } });
    expect(await waiting).toEqual({ ok: true, value: [] });
    const statuses = events.filter(([n]) => n === 'engine:status').map(([, p]) => p as { state: string; message: string; restarts: number });
    expect(statuses.map((s) => s.state)).toEqual(['ready', 'lost', 'ready']);
    expect(statuses[2].restarts).toBe(1);
    expect(statuses[2].message).toContain('/photos/summer');
    expect(statuses[2].message).toContain('finished photos are kept');
  });

  it('stops restarting after too many crashes and tells what to do', async () => {
    const { client, last, children } = setup({ maxRestarts: 2 });
    const started = client.start();
    last().say({ kind: 'ready', pid: 1 });
    await started;
    for (let i = 0; i < 3; i++) {
      last().die(1, null);
      last().say({ kind: 'ready', pid: 2 + i });
    }
    expect(children).toHaveLength(3);
    expect(client.status()).toMatchObject({ state: 'stopped', restarts: 2 });
    expect(client.status().message).toMatch(/start it again/);
    expect(await client.invoke('jobs:list', {})).toMatchObject({ ok: false, error: { code: 'ENGINE_LOST' } });
  });

  it('rejects start when the first process dies before it is ready, without restarting', async () => {
    const { client, last, children } = setup();
    const started = client.start();
    last().die(1, null);
    await expect(started).rejects.toMatchObject({ code: 'ENGINE_LOST', message: expect.stringContaining('exit code 1') });
    expect(children).toHaveLength(1);
  });

  it('shuts down cleanly, kills a process that does not stop, and never restarts afterwards', async () => {
    const { client, last, children } = setup();
    const started = client.start();
    last().say({ kind: 'ready', pid: 1 });
    await started;
    const done = client.shutdown();
    expect(last().sent[last().sent.length - 1]).toEqual({ kind: 'shutdown' });
    last().say({ kind: 'stopped' });
    last().die(0, null);
    await done;
    expect(last().killed).toBe(false);
    expect(children).toHaveLength(1);
    expect(client.status().state).toBe('stopped');

    const stubborn = setup();
    const s2 = stubborn.client.start();
    stubborn.last().say({ kind: 'ready', pid: 1 });
    await s2;
    await stubborn.client.shutdown(); // no answer: killed after shutdownTimeoutMs
    expect(stubborn.last().killed).toBe(true);
    expect(stubborn.children).toHaveLength(1);
  });
});

function batchInfo(folderId: string, folderPath: string) {
  return {
    batchId: 'b1', folderId, folderPath, outRoot: `${folderPath} (sgai)`, state: 'running',
    totals: { total: 6, done: 2, resumed: 0, encoded: 2, skipped: 0, failed: 0, cancelled: 0, bytesIn: 1, bytesOut: 1, megapixels: 0.1, seconds: 1 },
    skippedReasons: {}, startedAt: Date.now(),
  };
}
