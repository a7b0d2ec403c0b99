/**
 * The contract over HTTP (src/ipc/http.ts): POST /api/invoke/<name>, GET /api/events (SSE),
 * GET /pixels/<route>. The caller has already checked Host, Origin and Sec-Fetch-Site; this checks
 * the token, the method and the body, then hands the request to the dispatcher, the one funnel
 * that validates it and checks its paths before anything reaches the engine.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from '../host/dispatch';
import { EVENTS_PATH, INVOKE_PREFIX, PIXELS_PREFIX, TOKEN_PARAM } from '../ipc/http';
import { invoke, pixels } from '../ipc/contract';
import { ApiError, fail, type Result } from '../ipc/result';
import type { EventStream } from './event-stream';
import { bearer, checkToken, type Refusal } from './request-checks';

/** Largest invoke body (a request is a few fields; settings and globs stay far below this). */
export const MAX_BODY_BYTES = 1 << 20;

export interface ApiContext {
  token: string;
  dispatcher: Dispatcher;
  events: EventStream;
  /** What a page that connects to the event stream gets first (the engine's current status). */
  initialEvents: () => { name: string; payload: unknown }[];
  /** A request refused here (logged and kept); `logged`: the dispatcher already wrote the log line. */
  refused: (req: IncomingMessage, r: Refusal, logged?: boolean) => void;
}

export function sendEnvelope(res: ServerResponse, status: number, body: Result<unknown>, extra: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(json), 'Cache-Control': 'no-store', ...extra });
  res.end(json);
}

const refusal = (status: number, code: string, message: string): Refusal => ({ status, code, message });

/** HTTP status for an envelope that says no: refusals are 4xx, anything the engine answered is 200. */
function statusOf(code: string): number {
  return code === 'BAD_REQUEST' ? 400 : code === 'FORBIDDEN' ? 403 : 200;
}

/** Handles /api/* and /pixels/*; the pathname has already been matched to one of them. */
export async function handleApi(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname;
  const refuse = (r: Refusal, extra: Record<string, string> = {}) => {
    ctx.refused(req, r);
    sendEnvelope(res, r.status, fail(r.code, r.message), extra);
  };

  if (path.startsWith(INVOKE_PREFIX)) {
    const no = checkToken(bearer(req), ctx.token);
    if (no) return refuse(no);
    if (req.method !== 'POST') return refuse(refusal(405, 'BAD_REQUEST', 'requests to sgai are POSTs'), { Allow: 'POST' });
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') return refuse(refusal(415, 'BAD_REQUEST', `requests to sgai are JSON (Content-Type: application/json), not "${type || 'none'}"`));
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === 'too-large') return refuse(refusal(413, 'BAD_REQUEST', `the request is larger than ${MAX_BODY_BYTES / (1 << 20)} MB`), { Connection: 'close' });
    let raw: unknown;
    try {
      raw = JSON.parse(body.toString('utf8'));
    } catch (e) {
      return refuse(refusal(400, 'BAD_REQUEST', `the request is not valid JSON (${(e as Error).message})`));
    }
    const name = decoded(path.slice(INVOKE_PREFIX.length));
    const result = await ctx.dispatcher.invoke(name, raw);
    if (result.ok) return sendEnvelope(res, 200, result);
    const status = result.error.code === 'BAD_REQUEST' && !Object.hasOwn(invoke, name) ? 404 : statusOf(result.error.code);
    if (status !== 200) ctx.refused(req, { status, code: result.error.code, message: result.error.message }, true);
    return sendEnvelope(res, status, result);
  }

  const no = checkToken(url.searchParams.get(TOKEN_PARAM), ctx.token);
  if (no) return refuse(no);

  if (path === EVENTS_PATH) {
    if (req.method !== 'GET') return refuse(refusal(405, 'BAD_REQUEST', 'the event stream is read with GET'), { Allow: 'GET' });
    ctx.events.add(res, ctx.initialEvents());
    return;
  }

  if (path.startsWith(PIXELS_PREFIX)) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(refusal(405, 'BAD_REQUEST', 'images are read with GET'), { Allow: 'GET, HEAD' });
    const route = decoded(path.slice(PIXELS_PREFIX.length));
    if (!Object.hasOwn(pixels, route)) return refuse(refusal(404, 'NOT_FOUND', `sgai has no image route ${JSON.stringify(route.slice(0, 80))}`));
    let q: unknown;
    try {
      q = JSON.parse(url.searchParams.get('q') ?? '');
    } catch {
      return refuse(refusal(400, 'BAD_REQUEST', 'the image request (q=) is not valid JSON'));
    }
    try {
      const { bytes, mime } = await ctx.dispatcher.pixels(route, q);
      res.writeHead(200, { 'Content-Type': mime, 'Content-Length': bytes.byteLength, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError({ code: 'UNEXPECTED', message: (e as Error).message });
      const status = { BAD_REQUEST: 400, FORBIDDEN: 403, NOT_FOUND: 404, ENGINE_LOST: 503 }[err.code] ?? 500;
      if (status === 400 || status === 403) ctx.refused(req, { status, code: err.code, message: err.message }, true);
      sendEnvelope(res, status, fail(err.code, err.message));
    }
    return;
  }

  return refuse(refusal(404, 'NOT_FOUND', `sgai has no ${JSON.stringify(path.slice(0, 200))}`));
}

/** A URL path segment decoded; a malformed escape stays as written (and matches no name). */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * The request body, or 'too-large' as soon as it passes `limit` bytes. The rest is read and
 * dropped (not kept), so the refusal can still be answered on the same connection.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve('too-large');
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        resolve('too-large');
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
