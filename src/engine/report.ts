/**
 * The batch report: one row per photo of this run (what happened, sizes, savings, quality, time,
 * the error in words) and the totals, as CSV for a spreadsheet or JSON for a script. Built from
 * the same events the progress line and the app consume, and written through core's safe writer.
 */
import { readFile } from 'node:fs/promises';
import { extname, relative } from 'node:path';
import { SgaiError, writeFileSafely } from '../core';
import type { BatchEvent, BatchSummary, JobState } from './events';

export interface ReportRow {
  source: string;
  output: string;
  /** done, resumed (done in an earlier run), skipped, failed, cancelled, or not started. */
  result: 'done' | 'resumed' | 'skipped' | 'failed' | 'cancelled' | 'not started';
  bytesIn: number | null;
  bytesOut: number | null;
  /** Percent smaller than the source (negative: larger). */
  savedPercent: number | null;
  bpp: number | null;
  psnr: number | null;
  seconds: number | null;
  errorCode: string;
  /** The error message or the reason for a skip. */
  message: string;
}

export interface BatchReport {
  format: 'sgai-batch-report';
  version: 1;
  outRoot: string;
  summary: BatchSummary | null;
  photos: ReportRow[];
}

const FINAL = new Set(['done', 'skipped', 'failed', 'cancelled']);

/** Collects events into a report; `ids` (the plan's jobs, in order) lists photos never reached too. */
export class ReportBuilder {
  private readonly rows = new Map<string, ReportRow>();
  private summary: BatchSummary | null = null;

  constructor(private readonly outRoot: string, ids: readonly string[] = []) {
    for (const id of ids) this.rows.set(id, emptyRow(id));
  }

  readonly onEvent = (e: BatchEvent): void => {
    if (e.type === 'batch:done') this.summary = e;
    else if (e.type === 'job:state' && FINAL.has(e.state)) this.rows.set(e.id, this.row(e));
  };

  private row(e: JobState): ReportRow {
    const out = e.output ? relative(this.outRoot, e.output).split('\\').join('/') : '';
    const bytesIn = e.bytesIn ?? null;
    const wrote = e.state === 'done' ? (e.bytesOut ?? null) : null;
    return {
      source: e.id,
      output: e.state === 'done' ? out : '',
      result: e.state === 'done' && e.resumed ? 'resumed' : (e.state as ReportRow['result']),
      bytesIn,
      bytesOut: wrote,
      savedPercent: bytesIn && wrote !== null ? round((1 - wrote / bytesIn) * 100, 2) : null,
      bpp: e.bpp === undefined ? null : round(e.bpp, 5),
      psnr: e.psnr === undefined ? null : round(e.psnr, 3),
      seconds: e.seconds === undefined ? null : round(e.seconds, 2),
      errorCode: e.error?.code ?? '',
      message: e.error?.message ?? e.reason ?? '',
    };
  }

  report(): BatchReport {
    return { format: 'sgai-batch-report', version: 1, outRoot: this.outRoot, summary: this.summary, photos: [...this.rows.values()] };
  }
}

function emptyRow(source: string): ReportRow {
  return { source, output: '', result: 'not started', bytesIn: null, bytesOut: null, savedPercent: null, bpp: null, psnr: null, seconds: null, errorCode: '', message: '' };
}

const round = (v: number, digits: number) => Number(v.toFixed(digits));

const COLUMNS: (keyof ReportRow)[] = ['source', 'output', 'result', 'bytesIn', 'bytesOut', 'savedPercent', 'bpp', 'psnr', 'seconds', 'errorCode', 'message'];

/** RFC 4180: quote a field holding a comma, quote, CR or LF; double the quotes inside. */
function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function reportCsv(r: BatchReport): string {
  const lines = [COLUMNS.join(','), ...r.photos.map((row) => COLUMNS.map((c) => csvField(row[c])).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

export function reportJson(r: BatchReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

export type ReportKind = 'csv' | 'json';

export function reportKindOf(path: string): ReportKind {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.json') return 'json';
  throw new SgaiError('INVALID_ARGUMENT', `the report must be a .csv or .json file (got "${path}")`);
}

/** An existing file may be replaced only when it is an earlier sgai report: never someone's spreadsheet. */
async function isEarlierReport(path: string, kind: ReportKind): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  if (kind === 'csv') return text.startsWith(`${COLUMNS.join(',')}\r\n`);
  try {
    return (JSON.parse(text) as { format?: unknown }).format === 'sgai-batch-report';
  } catch {
    return false;
  }
}

export async function writeReport(path: string, report: BatchReport, inputs: readonly string[] = []): Promise<void> {
  const kind = reportKindOf(path);
  const text = kind === 'csv' ? reportCsv(report) : reportJson(report);
  const force = await isEarlierReport(path, kind);
  try {
    await writeFileSafely(path, Buffer.from(text, 'utf8'), { force, inputs });
  } catch (e) {
    if (e instanceof SgaiError && /exists/i.test(e.message) && !force) {
      throw new SgaiError('IO', `the report ${path} exists and is not an sgai report: choose another name`, { cause: e });
    }
    throw e;
  }
}
