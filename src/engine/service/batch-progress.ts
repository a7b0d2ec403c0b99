/**
 * A batch's running totals, its skip and failure reasons, and its time left, kept from the
 * engine's job events as they arrive (the summary at the end has the last word).
 */
import type { BatchInfo, BatchTotals, JobRow } from '../../ipc/schemas';
import type { BatchSummary, JobState } from '../events';

/** Failures listed one by one in skippedReasons, before the rest are counted together. */
const MAX_LISTED_FAILURES = 100;
/** Until this many photos are encoded the time left is a wide range, then a narrower one. */
const SETTLED_AFTER = 5;

export const emptyTotals = (): BatchTotals => ({
  total: 0, done: 0, resumed: 0, encoded: 0, skipped: 0, failed: 0, cancelled: 0, bytesIn: 0, bytesOut: 0, megapixels: 0, seconds: 0,
});

/** Skip reasons carry sizes and names; grouped, they say why in one line each. */
export function reasonGroup(reason: string | undefined): string {
  if (!reason) return 'skipped';
  const pct = /is not ([\d.]+) % smaller than the original/.exec(reason);
  if (pct) return `not ${pct[1]} % smaller than the original`;
  if (/exists and was not written by sgai/.test(reason)) return 'a file with the output name exists and was not written by sgai';
  if (/exists \(written by sgai for /.test(reason)) return 'the output name belongs to another photo';
  return reason;
}

/** One job row from an engine event ('' output: nothing written). */
export function jobRowOf(e: JobState, prev?: JobRow): JobRow {
  const final = e.state !== 'running' && e.state !== 'queued';
  return {
    id: e.id,
    state: e.state,
    ...(final ? {} : { stage: prev?.stage, done: prev?.done, total: prev?.total }),
    ...(e.output ? { output: e.output } : {}),
    ...(e.bytesIn !== undefined ? { bytesIn: e.bytesIn } : prev?.bytesIn !== undefined ? { bytesIn: prev.bytesIn } : {}),
    ...(e.bytesOut !== undefined ? { bytesOut: e.bytesOut } : {}),
    ...(e.resumed ? { resumed: true } : {}),
    ...(e.reason ? { reason: e.reason } : {}),
    ...(e.error ? { error: e.error } : {}),
    ...(e.seconds !== undefined ? { seconds: e.seconds } : {}),
  };
}

export class BatchProgress {
  private listedFailures = 0;
  /** Active (not paused) running time. */
  private activeMs = 0;
  private since: number | undefined;

  constructor(readonly info: BatchInfo) {}

  run(): void {
    this.since ??= performance.now();
  }

  hold(): void {
    if (this.since !== undefined) this.activeMs += performance.now() - this.since;
    this.since = undefined;
  }

  get seconds(): number {
    return (this.activeMs + (this.since === undefined ? 0 : performance.now() - this.since)) / 1000;
  }

  onJob(e: JobState): void {
    const t = this.info.totals;
    if (e.state === 'done') {
      t.done++;
      if (e.resumed) t.resumed++;
      else t.encoded++;
      t.bytesIn += e.bytesIn ?? 0;
      t.bytesOut += e.bytesOut ?? 0;
      t.megapixels += e.megapixels ?? 0;
    } else if (e.state === 'skipped') {
      t.skipped++;
      const g = reasonGroup(e.reason);
      this.info.skippedReasons[g] = (this.info.skippedReasons[g] ?? 0) + 1;
    } else if (e.state === 'failed') {
      t.failed++;
      const key = this.listedFailures < MAX_LISTED_FAILURES ? `failed: ${e.id}: ${e.error?.message ?? 'unknown error'}` : 'failed: more photos (see the report)';
      if (this.listedFailures < MAX_LISTED_FAILURES) this.listedFailures++;
      this.info.skippedReasons[key] = (this.info.skippedReasons[key] ?? 0) + 1;
    } else if (e.state === 'cancelled') {
      t.cancelled++;
    }
  }

  /** Totals as of now, with the time left while the batch runs. */
  snapshot(): BatchInfo {
    const t = this.info.totals;
    t.seconds = this.seconds;
    const finished = t.done + t.skipped + t.failed + t.cancelled;
    const left = Math.max(0, t.total - finished);
    const running = this.info.state === 'running' || this.info.state === 'paused';
    if (running && t.encoded > 0 && left > 0) {
      const each = t.seconds / t.encoded;
      const [a, b] = t.encoded < SETTLED_AFTER ? [0.5, 2] : [0.8, 1.2];
      this.info.eta = { low: left * each * a, high: left * each * b };
    } else {
      delete this.info.eta;
    }
    return structuredClone(this.info);
  }

  /** The engine's own count at the end; photos never reached by a cancelled batch count as cancelled. */
  finish(s: BatchSummary): void {
    const t = this.info.totals;
    Object.assign(t, { done: s.done, resumed: s.resumed, encoded: s.encoded, skipped: s.skipped, failed: s.failed, bytesIn: s.bytesIn, bytesOut: s.bytesOut, megapixels: s.megapixels });
    t.cancelled = s.cancelled ? Math.max(0, t.total - s.done - s.skipped - s.failed) : (s.cancelledPhotos ?? t.cancelled);
  }

  /** Stopped before or while planning, or on an error: whatever was not finished is cancelled. */
  abandon(): void {
    const t = this.info.totals;
    t.cancelled = Math.max(t.cancelled, t.total - t.done - t.skipped - t.failed);
  }
}
