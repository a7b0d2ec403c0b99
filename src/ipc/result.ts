/**
 * Every answer that crosses a process or network boundary is an envelope, so an SgaiError's code
 * survives the trip and the renderer never has to parse message text.
 */
import { z } from 'zod';
import type { SgaiErrorCode } from '../core/errors';

/**
 * Error codes: every core SgaiErrorCode, plus the transport's own:
 * BAD_REQUEST (failed the channel's schema), FORBIDDEN (wrong token or origin, unknown sender, a
 * path outside the folders the user added), NOT_AVAILABLE (not possible in this transport, e.g. a
 * native folder dialog in a browser), ENGINE_LOST (the engine process died while answering; it
 * is being restarted), NOT_FOUND (an unknown folder, batch or photo), UNEXPECTED (a bug).
 */
export const IpcErrorCode = z.string().min(1).max(64);
export const IpcError = z.object({ code: IpcErrorCode, message: z.string().max(4000) });
export type IpcError = z.infer<typeof IpcError>;

export type Result<T> = { ok: true; value: T } | { ok: false; error: IpcError };

export const resultSchema = <T extends z.ZodType>(value: T) =>
  z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), value }), z.object({ ok: z.literal(false), error: IpcError })]);

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = (code: string, message: string): Result<never> => ({ ok: false, error: { code, message } });

const SGAI_CODES = new Set<string>([
  'TRUNCATED', 'BAD_MAGIC', 'UNSUPPORTED_VERSION', 'CHECKSUM', 'CORRUPT', 'UNKNOWN_REQUIRED_CHUNK', 'MODEL_NOT_INSTALLED',
  'BAD_WEIGHTS', 'UNSUPPORTED_IMAGE', 'IMAGE_TOO_LARGE', 'INPUT_UNREADABLE', 'IO', 'CANCELLED', 'BUSY', 'VERIFY_FAILED',
  'ENCODER_CRASHED', 'INVALID_ARGUMENT',
] satisfies SgaiErrorCode[]);
const TRANSPORT_CODES = new Set(['BAD_REQUEST', 'FORBIDDEN', 'NOT_AVAILABLE', 'ENGINE_LOST', 'NOT_FOUND', 'UNEXPECTED']);

/** Turns anything thrown into an envelope: a typed error keeps its code; anything else is a bug. */
export function failFrom(e: unknown): Result<never> {
  if (e instanceof z.ZodError) return fail('BAD_REQUEST', `the request does not match the contract: ${z.prettifyError(e)}`);
  const code = e && typeof e === 'object' && 'code' in e ? (e as { code: unknown }).code : undefined;
  const message = e instanceof Error ? e.message : String(e);
  // Node's own errors (ENOENT, ...) are not ours: they arrive as UNEXPECTED with their message.
  if (typeof code === 'string' && (SGAI_CODES.has(code) || TRANSPORT_CODES.has(code))) return fail(code, message);
  return fail('UNEXPECTED', message);
}

/** Thrown on the renderer side when an envelope says ok: false. */
export class ApiError extends Error {
  readonly code: string;
  constructor(error: IpcError) {
    super(error.message);
    this.name = 'ApiError';
    this.code = error.code;
  }
}

export function unwrap<T>(r: Result<T>): T {
  if (r.ok) return r.value;
  throw new ApiError(r.error);
}
