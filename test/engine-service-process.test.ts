/**
 * The real engine process, started as a host starts it (child_process.fork of engineEntry()),
 * spoken to in HostToEngine / EngineToHost messages: start → ready, invoke, events, pixels,
 * a message outside the protocol, then shutdown → stopped and exit 0.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { engineEntry } from '../src/engine';
import { events, invoke } from '../src/ipc/contract';
import { EngineToHost, type HostToEngine } from '../src/ipc/engine-port';
import { AppInfo, LibraryFolder } from '../src/ipc/schemas';
import { makePhoto } from './engine-fixtures';
import { tempDir } from './helpers';

describe('engine process', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
  });

  it('starts, answers the contract over its IPC channel, pushes events, and stops cleanly on shutdown', async () => {
    const lib = await realpath(tempDir('sgai-proc-lib-'));
    await makePhoto(join(lib, 'a.jpg'));
    await makePhoto(join(lib, 'b', 'c.png'), { seed: 2 });
    const entry = engineEntry();
    child = fork(entry.path, [], { execArgv: entry.execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const got: EngineToHost[] = [];
    child.on('message', (m) => got.push(EngineToHost.parse(m))); // every message must be in the protocol
    const exited = new Promise<number | null>((r) => child!.on('exit', (code) => r(code)));
    const send = (m: HostToEngine | Record<string, unknown>) => child!.send(m);
    const next = <T>(pick: (m: EngineToHost) => T | undefined, what: string) =>
      new Promise<T>((res, rej) => {
        const t0 = Date.now();
        const tick = () => {
          for (const m of got) {
            const v = pick(m);
            if (v !== undefined) return res(v);
          }
          if (child!.exitCode !== null) return rej(new Error(`the engine exited (${child!.exitCode}) waiting for ${what}: ${stderr}`));
          if (Date.now() - t0 > 120_000) return rej(new Error(`timed out waiting for ${what}: ${stderr}`));
          setTimeout(tick, 20);
        };
        tick();
      });
    const result = (id: number) => next((m) => (m.kind === 'result' && m.id === id ? m.result : undefined), `result ${id}`);

    send({ kind: 'start', dataDir: tempDir('sgai-proc-data-'), transport: 'browser', version: '9.9.9', addFolders: [lib] });
    const ready = await next((m) => (m.kind === 'ready' ? m : undefined), 'ready');
    expect(ready.pid).toBe(child.pid);

    send({ kind: 'invoke', id: 1, channel: invoke.appInfo.channel, req: {} });
    const info = await result(1);
    if (!info.ok) throw new Error(info.error.message);
    expect(AppInfo.parse(info.value)).toMatchObject({ version: '9.9.9', transport: 'browser' });

    // The folder given at start was added and scanned: its events came through, each valid.
    const scanDone = await next((m) => (m.kind === 'event' && m.name === 'library:scan' && (m.payload as { done: boolean }).done ? m.payload : undefined), 'the scan');
    expect(events['library:scan'].parse(scanDone).counts.photos).toBe(2);
    send({ kind: 'invoke', id: 2, channel: invoke.libraryList.channel, req: {} });
    const list = await result(2);
    if (!list.ok) throw new Error(list.error.message);
    const [folder] = (list.value as unknown[]).map((f) => LibraryFolder.parse(f));
    expect(folder.path).toBe(lib);

    // Pixels cross as bytes (a Uint8Array), not as JSON.
    send({ kind: 'pixels', id: 3, route: 'thumb', req: { folderId: folder.id, rel: 'b/c.png' } });
    const thumb = await next((m) => (m.kind === 'pixels' && m.id === 3 ? m.result : undefined), 'the thumbnail');
    if (!thumb.ok) throw new Error(thumb.error.message);
    expect(thumb.bytes).toBeInstanceOf(Uint8Array);
    expect([thumb.bytes[0], thumb.bytes[1]]).toEqual([0xff, 0xd8]);

    // Requests that do not match: a bad request envelope, never a crash.
    send({ kind: 'invoke', id: 4, channel: invoke.libraryPhotos.channel, req: { folderId: folder.id, offset: -1, limit: 10, filter: 'all' } });
    expect(await result(4)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    send({ kind: 'invoke', id: 5.5, channel: 'app:info' }); // no integer id to answer to: logged, and the engine goes on
    send({ kind: 'nonsense', id: 6 });
    expect(await result(6)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });

    send({ kind: 'shutdown' });
    await next((m) => (m.kind === 'stopped' ? true : undefined), 'stopped');
    expect(await exited).toBe(0);
    expect(stderr.match(/not part of the protocol/g)).toHaveLength(2);
    expect(got.some((m) => m.kind === 'result' && m.id === 5)).toBe(false);
  });

  it('exits when its host goes away (the IPC channel closes)', async () => {
    const entry = engineEntry();
    const orphan = fork(entry.path, [], { execArgv: entry.execArgv, serialization: 'advanced', stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    const exited = new Promise<number | null>((r) => orphan.on('exit', (code) => r(code)));
    const ready = new Promise((r) => orphan.on('message', (m) => EngineToHost.parse(m).kind === 'ready' && r(true)));
    orphan.send({ kind: 'start', dataDir: tempDir('sgai-proc-data-'), transport: 'browser', version: '1', addFolders: [] } satisfies HostToEngine);
    await ready;
    orphan.disconnect();
    expect(await exited).toBe(0);
  });
});
