/**
 * Talking to the real `sgai app --browser` server from tests: raw HTTP (node:http, so Host,
 * Origin and Sec-Fetch-Site can be set the way another page or a rebinding attack would), an SSE
 * reader, and a small stand-in for the built renderer folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { tempDir } from './helpers';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body as JSON, when it is. */
  json?: { ok: boolean; value?: unknown; error?: { code: string; message: string } };
}

export function http(port: number, method: string, path: string, opts: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { Host: `127.0.0.1:${port}`, ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        let json: HttpAnswer['json'];
        if (String(res.headers['content-type']).startsWith('application/json')) json = JSON.parse(body.toString('utf8'));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** POST /api/invoke/<name> as the page does (JSON, bearer token), with overrides. */
export function invokeHttp(port: number, token: string | null, name: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return http(port, 'POST', `/api/invoke/${name}`, {
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export interface SseEvent { name: string; data: unknown; at: number }

/** Reads an SSE stream into `events`; `until` waits for an event matching a predicate. */
export function openEvents(port: number, path: string): Promise<{ status: number; events: SseEvent[]; until(pred: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>; close(): void }> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    const waiters: { pred: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];
    const req = httpRequest({ host: '127.0.0.1', port, method: 'GET', path, headers: { Host: `127.0.0.1:${port}`, Accept: 'text/event-stream' } }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const name = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (!name || data === undefined) continue;
          const e = { name, data: JSON.parse(data), at: Date.now() };
          events.push(e);
          for (const w of [...waiters]) {
            if (w.pred(e)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(e);
            }
          }
        }
      });
      resolve({
        status: res.statusCode ?? 0,
        events,
        until(pred, timeoutMs = 300_000) {
          const seen = events.find(pred);
          if (seen) return Promise.resolve(seen);
          return new Promise((res2, rej2) => {
            const t = setTimeout(() => rej2(new Error(`no matching event within ${timeoutMs} ms; got: ${events.map((x) => x.name).join(', ')}`)), timeoutMs);
            waiters.push({ pred, resolve: (x) => (clearTimeout(t), res2(x)) });
          });
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(e);
    });
    req.end();
  });
}

/** A renderer folder with an index page and one script, standing in for out/renderer. */
export function makeRendererDir(): string {
  const dir = tempDir('sgai-renderer-');
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>sgai</title><script type="module" src="./assets/app.js"></script>');
  writeFileSync(join(dir, 'assets', 'app.js'), 'console.log("sgai");');
  return dir;
}
