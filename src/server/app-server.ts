/**
 * `sgai app --browser`: the engine process, the one dispatcher, and a node:http server on
 * 127.0.0.1 that serves the built renderer and the contract (src/ipc/http.ts). Every response says
 * what the browser may do with it (CSP, nosniff, no referrer, no framing, no cross-origin reads).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SgaiError } from '../core/errors';
import { createDispatcher, type Dispatcher } from '../host/dispatch';
import { type EngineChild, EngineClient } from '../host/engine-client';
import { forkEngine } from '../host/fork-engine';
import { oneLine } from '../host/issues';
import { PathGuard, type Roots } from '../host/path-guard';
import { EVENTS_PATH, PIXELS_PREFIX, RENDERER_CSP } from '../ipc/http';
import { fail } from '../ipc/result';
import { type ApiContext, handleApi, sendEnvelope } from './api-routes';
import { browserHostHandlers, PendingOpens } from './browser-host';
import { EventStream } from './event-stream';
import { checkCaller, checkHost, newToken, type Refusal } from './request-checks';
import { serveStatic } from './static-files';

export interface BrowserAppOptions {
  /** Folders to add to the library at start. */
  folders: string[];
  /**
   * .sgai files to show in the viewer (absolute; the page takes them with pendingOpens). Each
   * one's folder becomes an allowed root, like a folder given to open: the viewer reads its
   * neighbours (←/→) and the original beside it.
   */
  opens?: string[];
  /** Where requests may name paths ('root' checks): the --allow folders, or the home folder. */
  roots: Roots;
  /** 0 or absent: a free port. */
  port?: number;
  /** The engine's settings.json and library.json. */
  dataDir: string;
  /** The built renderer (default out/renderer of this checkout). */
  rendererDir?: string;
  log: (line: string) => void;
  /** How the engine process is made (default: a fork of the engine entry). */
  spawn?: () => EngineChild;
  version?: string;
}

/** A refused request, as the tests (and a curious user with SGAI_DEBUG) can read them. */
export type RefusalRecord = Refusal & { method: string; path: string };

export interface BrowserApp {
  /** http://127.0.0.1:<port>/#token=<token>: what the user opens. */
  url: string;
  port: number;
  token: string;
  engine: EngineClient;
  dispatcher: Dispatcher;
  refusals: RefusalRecord[];
  /** Stops serving, then shuts the engine down (running photos cancelled, nothing partial left). */
  close(): Promise<void>;
}

const here = fileURLToPath(new URL('.', import.meta.url));
export const DEFAULT_RENDERER_DIR = join(here, '..', '..', 'out', 'renderer');

export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': RENDERER_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

function packageVersion(): string {
  return JSON.parse(readFileSync(join(here, '..', '..', 'package.json'), 'utf8')).version as string;
}

export async function startBrowserApp(opts: BrowserAppOptions): Promise<BrowserApp> {
  const rendererDir = opts.rendererDir ?? DEFAULT_RENDERER_DIR;
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new SgaiError('INPUT_UNREADABLE', `the app's page is not built (no index.html in ${rendererDir}): run npm run build first`);
  }
  const { log } = opts;
  const guard = new PathGuard(opts.roots);
  for (const file of opts.opens ?? []) guard.allowRoot(dirname(file));
  const engine = new EngineClient({
    spawn: opts.spawn ?? (() => forkEngine(undefined, { log })),
    start: { dataDir: opts.dataDir, transport: 'browser', version: opts.version ?? packageVersion(), addFolders: opts.folders },
    log,
  });
  await engine.start();
  const dispatcher = createDispatcher({ engine, guard, host: browserHostHandlers(engine, new PendingOpens(opts.opens ?? [])), log });
  // The folders already in the library (and those just added) are places requests may name.
  const listed = await dispatcher.invoke('libraryList', {});
  if (!listed.ok) log(`could not list the library at start: ${listed.error.message}`);

  const events = new EventStream();
  const stopRelay = engine.on((name, payload) => events.send(name, payload));
  const refusals: RefusalRecord[] = [];
  const token = newToken();
  let port = 0;

  const refused = (req: IncomingMessage, r: Refusal, logged = false) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname; // never the query: it can hold the token
    refusals.push({ ...r, method: req.method ?? '', path });
    if (!logged) log(oneLine(`refused ${req.method} ${path}: ${r.status} ${r.code}: ${r.message}`));
  };
  const api: ApiContext = {
    token, dispatcher, events, refused,
    initialEvents: () => [{ name: 'engine:status', payload: engine.status() }],
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const host = checkHost(req, port);
    if ('status' in host) {
      refused(req, host);
      return sendEnvelope(res, host.status, fail(host.code, host.message));
    }
    if (url.pathname.startsWith('/api/') || url.pathname === EVENTS_PATH || url.pathname.startsWith(PIXELS_PREFIX)) {
      const no = checkCaller(req, host.host);
      if (no) {
        refused(req, no);
        return sendEnvelope(res, no.status, fail(no.code, no.message));
      }
      return handleApi(api, req, res, url);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
      return void res.end('Method not allowed\n');
    }
    if (!(await serveStatic(rendererDir, url.pathname, req, res))) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Not found\n');
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log(`server: ${req.method} ${new URL(req.url ?? '/', 'http://x').pathname} failed: ${(e as Error)?.stack ?? String(e)}`);
      if (!res.headersSent) sendEnvelope(res, 500, fail('UNEXPECTED', 'sgai failed on this request; this is a bug, please report it'));
      else res.destroy();
    });
  });
  try {
    port = await listen(server, opts.port ?? 0);
  } catch (e) {
    await engine.shutdown();
    throw e;
  }
  log(`serving on http://127.0.0.1:${port}/`);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      events.close();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
      stopRelay();
      dispatcher.dispose();
      await engine.shutdown();
    })());

  return { url: `http://127.0.0.1:${port}/#token=${token}`, port, token, engine, dispatcher, refusals, close };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') reject(new SgaiError('BUSY', `port ${port} is already in use: pick another with --port, or leave --port out to use a free one`));
      else if (e.code === 'EACCES') reject(new SgaiError('INVALID_ARGUMENT', `this user may not listen on port ${port}: pick one above 1023 with --port`));
      else reject(e);
    });
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve((server.address() as AddressInfo).port));
  });
}
