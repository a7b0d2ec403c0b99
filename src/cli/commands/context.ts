/** What every command gets from main: output streams, progress, cancellation and the backend. */
import type { SgaiError } from '../../core/errors';

export interface CommandContext {
  out(line: string): void;
  err(line: string): void;
  progress: { update(stage: string, done: number, total: number): void; finish(): void };
  signal: AbortSignal;
  needBackend(): Promise<void>;
  /** The exit code an error maps to (for commands that go on after one file fails). */
  exitCode(e: SgaiError): number;
}
