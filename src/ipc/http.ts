/**
 * How the contract travels over loopback HTTP (`sgai app --browser`), shared by the server and
 * the renderer's browser transport so the two cannot drift:
 * - POST /api/invoke/<name>  (name: a key of `invoke`), JSON body = the request,
 *   header `Authorization: Bearer <token>`; answer: a Result envelope (403 + envelope when refused).
 * - GET /api/events?token=<token>  Server-Sent Events, `event: <name>` + `data: <JSON payload>`.
 * - GET /pixels/<route>?q=<JSON request>&token=<token>  image bytes.
 * The token reaches the page in the URL fragment (never sent to the server by the browser):
 * http://127.0.0.1:<port>/#token=<token>.
 */
import { PIXEL_SCHEME, type InvokeName, type PixelReq, type PixelRoute } from './contract';

export const INVOKE_PREFIX = '/api/invoke/';
export const EVENTS_PATH = '/api/events';
export const PIXELS_PREFIX = '/pixels/';
export const TOKEN_PARAM = 'token';

export const invokePath = (name: InvokeName) => `${INVOKE_PREFIX}${name}`;
export const eventsPath = (token: string) => `${EVENTS_PATH}?${TOKEN_PARAM}=${encodeURIComponent(token)}`;
export const httpPixelsPath = <K extends PixelRoute>(route: K, req: PixelReq<K>, token: string) =>
  `${PIXELS_PREFIX}${route}?q=${encodeURIComponent(JSON.stringify(req))}&${TOKEN_PARAM}=${encodeURIComponent(token)}`;
/** Electron: the same request over the custom scheme (main's protocol handler validates it). */
export const electronPixelsUrl = <K extends PixelRoute>(route: K, req: PixelReq<K>) =>
  `${PIXEL_SCHEME}://${route}?q=${encodeURIComponent(JSON.stringify(req))}`;

/** The Content-Security-Policy for the renderer, in both transports (meta tag and HTTP header). */
export const RENDERER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // Svelte's style: directives and transitions set inline styles.
  "style-src 'self' 'unsafe-inline'",
  `img-src 'self' data: blob: ${PIXEL_SCHEME}:`,
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
