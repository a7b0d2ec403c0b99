/**
 * Turns anything a call threw into one sentence a photographer can act on: an ApiError's message
 * (with the transport's refusals and a lost engine explained), never "[object Object]".
 */
import { ApiError } from '../../../ipc/result';
import { strings } from './strings';

export function describeError(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === 'FORBIDDEN') return strings.errors.forbidden(e.message);
    if (e.code === 'ENGINE_LOST') return strings.errors.engineLost;
    if (e.code === 'UNEXPECTED') return strings.errors.unexpected(e.message);
    return e.message;
  }
  if (e instanceof Error) return e.message || e.name;
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string') return (e as { message: string }).message;
  return strings.errors.unexpected(shown(e));
}

/** Something that is not an error, as readable text (String() of an object says "[object Object]"). */
function shown(v: unknown): string {
  if (v === null || typeof v !== 'object') return String(v);
  try {
    return JSON.stringify(v).slice(0, 300);
  } catch {
    return strings.errors.unreadable;
  }
}

/** The error's contract code, if it has one (branch on this, never on message text). */
export const errorCode = (e: unknown): string | null => (e instanceof ApiError ? e.code : null);
