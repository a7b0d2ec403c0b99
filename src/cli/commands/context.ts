/** What every command gets from main: output streams, progress, cancellation and the backend. */
import { isSgaiError, type SgaiError } from '../../core';

export interface CommandContext {
  out(line: string): void;
  err(line: string): void;
  progress: { update(stage: string, done: number, total: number): void; finish(): void };
  signal: AbortSignal;
  needBackend(): Promise<void>;
  /** The exit code an error maps to (for commands that go on after one file fails). */
  exitCode(e: SgaiError): number;
}

/**
 * Runs `one` for each input in turn. Cancel stops everything; with several inputs, another
 * photo's failure is reported and the rest go on, and the exit code is the first failure's.
 */
export async function forEachInput(inputs: string[], ctx: CommandContext, one: (input: string, k: number) => Promise<void>): Promise<number> {
  let firstFailure = 0;
  for (const [k, input] of inputs.entries()) {
    try {
      await one(input, k);
    } catch (e) {
      if (!isSgaiError(e) || e.code === 'CANCELLED' || inputs.length === 1) throw e;
      ctx.err(`sgai: ${input}: ${e.message}`);
      firstFailure ||= ctx.exitCode(e);
    }
  }
  return firstFailure;
}
