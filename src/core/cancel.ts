/**
 * Cooperative cancellation. The codec's transforms run synchronously on tfjs, so a signal or a
 * SIGINT handler only gets to run if the long loops hand control back to the event loop now and
 * then; they call `checkpoint()` between tiles and refinement iterations (each well under a
 * second), which yields and then throws CANCELLED if the signal has fired.
 */
import { SgaiError } from './errors';

export function throwIfCancelled(signal?: AbortSignal, what = 'cancelled'): void {
  if (signal?.aborted) throw new SgaiError('CANCELLED', what);
}

/** Let pending events (signals, IPC, timers) run, then stop if cancelled. */
export async function checkpoint(signal?: AbortSignal, what?: string): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  throwIfCancelled(signal, what);
}
