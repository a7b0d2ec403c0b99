/**
 * Engine events to every open page as Server-Sent Events (`event: <name>`, `data: <JSON>`). A
 * comment every 15 s keeps proxies and idle timers from closing a quiet stream; a page that goes
 * away is dropped at once.
 */
import type { ServerResponse } from 'node:http';

export const KEEP_ALIVE_MS = 15_000;

export class EventStream {
  private readonly clients = new Set<ServerResponse>();
  private readonly timer: NodeJS.Timeout;

  constructor(keepAliveMs = KEEP_ALIVE_MS) {
    this.timer = setInterval(() => this.write(': keep-alive\n\n'), keepAliveMs);
    this.timer.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes over a response as an event stream; `first` events go to this page only (the current state). */
  add(res: ServerResponse, first: { name: string; payload: unknown }[] = []): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write('retry: 2000\n\n');
    for (const e of first) res.write(frame(e.name, e.payload));
    this.clients.add(res);
    const drop = () => this.clients.delete(res);
    res.on('close', drop);
    res.on('error', drop);
  }

  send(name: string, payload: unknown): void {
    this.write(frame(name, payload));
  }

  /** Ends every stream (the server is closing). */
  close(): void {
    clearInterval(this.timer);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private write(chunk: string): void {
    for (const res of this.clients) {
      if (!res.writableEnded) res.write(chunk);
    }
  }
}

// JSON.stringify never emits a raw newline, so one data line carries the whole payload.
const frame = (name: string, payload: unknown) => `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
