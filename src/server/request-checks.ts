/**
 * Who may talk to the loopback server. Only this machine (it binds 127.0.0.1), only under the
 * names it is reached by (a Host check defeats DNS rebinding), only from its own page (Origin and
 * Sec-Fetch-Site keep other web sites' scripts out), and only with the run's token, which the page
 * gets from the URL fragment the user opened.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A refused request: HTTP status, envelope code, and words for the log and the page. */
export type Refusal = { status: number; code: string; message: string };

/** 32 random bytes, URL-safe: new on every run, so an old URL stops working. */
export const newToken = (): string => randomBytes(32).toString('base64url');

/** Equal or not, in time that does not depend on where they differ (hashes have one length). */
export function tokensMatch(given: string, token: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

const forbidden = (message: string): Refusal => ({ status: 403, code: 'FORBIDDEN', message });

/** The Host header as this server accepts it ('127.0.0.1:<port>' or 'localhost:<port>'), or a refusal. */
export function checkHost(req: IncomingMessage, port: number): { host: string } | Refusal {
  const host = (req.headers.host ?? '').toLowerCase();
  if (host === `127.0.0.1:${port}` || host === `localhost:${port}`) return { host };
  return forbidden(`this sgai server only answers at 127.0.0.1:${port} or localhost:${port}, not at "${req.headers.host ?? ''}"; open the address sgai printed`);
}

/**
 * A request from a page: its Origin (when the browser sends one) must be this server's, and the
 * browser must not call it cross-site. 'same-site' is refused too: another port on this machine
 * is the same site but another program's page.
 */
export function checkCaller(req: IncomingMessage, host: string): Refusal | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${host}`) {
    return forbidden(`a page from ${origin} tried to use sgai; only sgai's own page (http://${host}) may`);
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return forbidden(`the browser says this request came from another site (Sec-Fetch-Site: ${site}); only sgai's own page may use it`);
  }
  return undefined;
}

/** The token from `Authorization: Bearer <token>` (invoke) or the `token` query parameter (events, pixels). */
export function checkToken(given: string | null | undefined, token: string): Refusal | undefined {
  if (!given) return forbidden('this request has no access token; open the address sgai printed (it ends in #token=...)');
  if (!tokensMatch(given, token)) return forbidden('the access token is not this run\'s; sgai makes a new one each time it starts: open the address it printed this time');
  return undefined;
}

export function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}
