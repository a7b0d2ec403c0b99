/**
 * Pixels for the window over the custom scheme sgai-pixels://<route>?q=<JSON request> (contract
 * `pixels`): parsed here, checked and answered by the shared dispatcher, returned as raw bytes.
 * Refusals carry a status and no body, so nothing about the files leaks into the page.
 */
import { PIXEL_SCHEME, pixelRoutes, type PixelRoute } from '../ipc/contract';

/** The parts of Electron's protocol module used here. */
export interface ProtocolLike {
  registerSchemesAsPrivileged(schemes: Array<{ scheme: string; privileges: Record<string, boolean> }>): void;
  handle(scheme: string, handler: (request: Request) => Promise<Response>): void;
}
export interface PixelSource {
  pixels(route: PixelRoute, raw: unknown): Promise<{ bytes: Uint8Array; mime: string }>;
}

/** Must run before the app is ready (Electron's rule for privileged schemes). */
export function registerPixelScheme(protocol: Pick<ProtocolLike, 'registerSchemesAsPrivileged'>): void {
  protocol.registerSchemesAsPrivileged([
    // standard: parsed like http (host = route); secure: allowed on our page; fetch: <img> and fetch().
    { scheme: PIXEL_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
}

const knownRoutes = new Set<string>(pixelRoutes);

/** Error codes → HTTP status: the renderer only needs to know not-there from not-allowed. */
function statusFor(code: unknown): number {
  if (code === 'NOT_FOUND') return 404;
  if (code === 'BAD_REQUEST') return 400;
  if (code === 'FORBIDDEN') return 403;
  if (code === 'ENGINE_LOST') return 503;
  // A photo that cannot be read (gone, damaged, not an image) has no thumbnail.
  if (code === 'INPUT_UNREADABLE' || code === 'UNSUPPORTED_IMAGE' || code === 'IMAGE_TOO_LARGE') return 404;
  return 500;
}

const empty = (status: number) => new Response(null, { status });

export function pixelHandler(source: PixelSource, log: (line: string) => void): (request: Request) => Promise<Response> {
  return async (request) => {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return empty(400);
    }
    const route = url.hostname;
    if (request.method !== 'GET' || url.protocol !== `${PIXEL_SCHEME}:` || !knownRoutes.has(route) || (url.pathname !== '/' && url.pathname !== '')) {
      log(`refused pixels ${request.method} ${url.href.slice(0, 300)}: not a pixel route`);
      return empty(404);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(url.searchParams.get('q') ?? '');
    } catch {
      log(`refused pixels ${route}: the q parameter is not JSON`);
      return empty(400);
    }
    try {
      const { bytes, mime } = await source.pixels(route as PixelRoute, raw);
      return new Response(bytes as Uint8Array<ArrayBuffer>, {
        status: 200,
        headers: { 'Content-Type': mime, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'private, max-age=600' },
      });
    } catch (e) {
      const code = e && typeof e === 'object' && 'code' in e ? (e as { code: unknown }).code : undefined;
      log(`pixels ${route} answered no image (${String(code ?? 'error')}): ${(e as Error)?.message ?? e}`);
      return empty(statusFor(code));
    }
  };
}

export function servePixels(protocol: Pick<ProtocolLike, 'handle'>, source: PixelSource, log: (line: string) => void): void {
  protocol.handle(PIXEL_SCHEME, pixelHandler(source, log));
}
