/**
 * Worker logs: `<manifest folder>/worker-<slot>.log`, one JSON line per encode start and end,
 * written by the encoder process itself. They show what each process really encoded and when,
 * even when the batch process was killed before it could record anything: a support report
 * reads them, and the crash test checks from them that nothing recorded done was encoded again.
 * Each line is one small write to an O_APPEND file, so restarted workers (and shards on other
 * machines) can share a file without interleaving.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

export const WorkerLogLine = z.object({
  at: z.string(),
  host: z.string(),
  pid: z.number(),
  slot: z.number(),
  event: z.enum(['start', 'finish', 'fail', 'cancel']),
  /** The job's label: a batch photo's relative path. */
  source: z.string(),
  seconds: z.number().optional(),
  error: z.string().optional(),
});
export type WorkerLogLine = z.infer<typeof WorkerLogLine>;

const LOG_NAME = /^worker-\d+\.log$/;
export const workerLogPath = (dir: string, slot: number) => join(dir, `worker-${slot}.log`);

/** Appends one line; a log that cannot be written never fails the encode it describes. */
export function appendWorkerLog(dir: string, line: Omit<WorkerLogLine, 'at' | 'host' | 'pid'>): void {
  try {
    mkdirSync(dir, { recursive: true });
    const full: WorkerLogLine = { at: new Date().toISOString(), host: hostname(), pid: process.pid, ...line };
    appendFileSync(workerLogPath(dir, line.slot), `${JSON.stringify(full)}\n`);
  } catch {
    // a full or read-only disk shows up in the parent's own write a moment later
  }
}

/** Every readable line of every worker log in `dir`, oldest first (torn lines skipped). */
export function readWorkerLogs(dir: string): WorkerLogLine[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => LOG_NAME.test(n));
  } catch {
    return [];
  }
  const lines: WorkerLogLine[] = [];
  for (const name of names) {
    for (const text of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (!text.trim()) continue;
      try {
        const r = WorkerLogLine.safeParse(JSON.parse(text));
        if (r.success) lines.push(r.data);
      } catch {
        // a line torn by a kill mid-append
      }
    }
  }
  return lines.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}
