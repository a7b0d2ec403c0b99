/**
 * `sgai batch <folder|files...> --out FOLDER`: a whole library through the batch engine. The
 * plan (names, conflicts, shard) is made before anything is encoded; a re-run picks up where the
 * last one stopped, from the manifest in the output folder.
 */
import { relative } from 'node:path';
import { describeTarget, loadModel, resolveModel, SgaiError, type SgaiErrorCode } from '../../core';
import {
  type BatchEvent, type BatchPlan, type BatchSummary, chooseWorkers, CONFLICT_POLICIES, type ConflictPolicy, type EncodeSettings, type MinSavings,
  compactFamily, planBatch, parseShard, PRESET_IDS, ReportBuilder, reportKindOf, resolvePreset, runBatch, writeReport,
} from '../../engine';
import { maxPixelsOption, metadataOption, numberOption, refineOptions, targetOption, usage, type Values, workersOption } from '../options';
import type { CommandContext } from './context';
import { formatDuration } from './encode';

/** parseArgs values; --include/--exclude may be given several times (string[] with `multiple`). */
export type BatchValues = Record<string, string | boolean | string[] | undefined>;

const list = (v: BatchValues[string]): string[] | undefined => (v === undefined || typeof v === 'boolean' ? undefined : Array.isArray(v) ? v : [v]);
const str = (v: BatchValues[string]): string | undefined => (typeof v === 'string' ? v : Array.isArray(v) ? v[v.length - 1] : undefined);
const mb = (b: number) => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : `${(b / 1e3).toFixed(0)} KB`);

export async function batchCommand(args: string[], values: BatchValues, ctx: CommandContext): Promise<number> {
  const v = values as Values; // the shared option helpers read single values only
  if (!args.length) usage('batch needs a folder or photos');
  const out = str(values.out);
  if (!out) usage('batch needs --out FOLDER (where the .sgai files and the manifest go)');
  if (values.preset !== undefined && values.model !== undefined) usage('give --preset or --model, not both');
  const conflict = (str(values.conflict) ?? 'unique') as ConflictPolicy;
  if (!CONFLICT_POLICIES.includes(conflict)) usage(`--conflict must be ${CONFLICT_POLICIES.join(', ')} (got ${conflict})`);
  const pct = numberOption(v, 'min-savings', { min: 0, max: 99, unit: '%' });
  const minSavings: MinSavings | undefined = pct === undefined ? undefined : { percent: pct, action: values['copy-original'] ? 'copy' : 'skip' };
  if (values['copy-original'] && pct === undefined) usage('--copy-original needs --min-savings PCT');
  const shard = values.shard === undefined ? undefined : parseShard(String(str(values.shard)));
  const presetId = str(values.preset) ?? (values.model === undefined ? 'balanced' : undefined);
  if (presetId && !PRESET_IDS.includes(presetId as never)) usage(`unknown --preset ${presetId} (use ${PRESET_IDS.join(', ')})`);
  const refine = refineOptions(v);
  const tileSize = numberOption(v, 'tile', { min: 64, max: 8192, integer: true });
  if (tileSize !== undefined && tileSize % 64 !== 0) usage(`--tile must be a multiple of 64 (got ${tileSize})`);
  const workersAsked = workersOption(v);
  const target = targetOption(v);
  if (target && values.model !== undefined) usage('a --target-* searches the installed models: give it without --model');
  const reportPath = str(values.report);
  if (reportPath !== undefined) reportKindOf(reportPath); // a bad name fails now, not after the batch
  const maxPixels = maxPixelsOption(v);
  const metadata = metadataOption(v);

  const modelId = str(values.model);
  const preset = presetId ? resolvePreset(presetId) : undefined;
  const plan = await planBatch({
    inputs: args, outRoot: out, template: str(values.template), conflict, preset: presetId ?? modelId!,
    include: list(values.include), exclude: list(values.exclude), followSymlinks: values['follow-symlinks'] === true, shard, signal: ctx.signal,
  });
  for (const w of plan.counts.warnings) ctx.err(`warning: ${w}`);
  const c = plan.counts;
  ctx.err(`found ${c.photos} photos in ${c.folders} folders (left out: ${c.hidden} hidden, ${c.sidecars} sidecars, ${c.other} other files, ${c.excluded} excluded, ${c.symlinks} symlinks)${shard ? `; shard ${shard.k}/${shard.n}: ${plan.jobs.length} of ${plan.batchSize}` : ''}`);
  if (plan.manifest.badLines) ctx.err(`note: ${plan.manifest.badLines} unreadable line(s) in the manifest were ignored (an interrupted write)`);

  if (values['dry-run']) {
    for (const j of plan.jobs) {
      const src = relative(process.cwd(), j.source.abs) || j.source.abs;
      const note = [j.date?.from === 'mtime' ? '{date} from the file time: no EXIF capture date' : '', j.replace ? 'replaces its earlier sgai output' : ''].filter(Boolean).join('; ');
      if (values.json) ctx.out(JSON.stringify({ source: j.source.rel, output: j.output, action: j.action, reason: j.reason, date: j.date }));
      else ctx.out(j.action === 'skip' ? `${src} -> (skipped: ${j.reason})` : `${src} -> ${j.output}${note ? `  (${note})` : ''}`);
    }
    return 0;
  }

  const workers = await workerCount(plan, workersAsked, maxPixels, ctx);
  // Encoder processes initialise their own backend; this process needs one to encode or verify itself.
  if (workers === 0 || values.verify) await ctx.needBackend();
  const model = preset ? loadModel(preset.model) : resolveModel({ model: modelId });
  ctx.err(`model: ${model.card.id} (lambda ${model.card.lambda})${preset ? `, preset ${preset.preset.id}` : ''}${preset?.isTestModel ? ' - UNTRAINED TEST MODEL: no trained weights are installed' : ''}`);
  const targetModels = target ? compactFamily().map((m) => loadModel(m)) : undefined;
  if (target) ctx.err(`target: ${describeTarget(target)} per photo, over ${targetModels!.map((m) => m.card.id).join(', ')}`);
  const settings: EncodeSettings = {
    model, refine, effort: refine ? undefined : preset?.preset.refine, tileSize, preset: presetId, target, targetModels,
    read: { maxPixels, alpha: values.flatten ? 'flatten' : 'refuse', frames: values['first-frame'] ? 'first' : 'refuse', metadata },
  };
  const progress = progressLine(plan.jobs.length, ctx, values.quiet === true);
  const notes = workerNotes(workers, ctx);
  const report = new ReportBuilder(plan.outRoot, plan.jobs.map((j) => j.source.rel));
  const summary = await runBatch(plan, {
    settings, minSavings, signal: ctx.signal, workers, backend: str(values.backend), verify: values.verify === true,
    onEvent: (e) => {
      if (values.json) ctx.out(JSON.stringify(e));
      notes(e);
      progress(e);
      report.onEvent(e);
    },
  });
  (values.json ? ctx.err : ctx.out)(summaryTable(summary));
  if (reportPath !== undefined) {
    await writeReport(reportPath, report.report());
    ctx.err(`report: ${reportPath}`);
  }
  if (summary.cancelled) return 130;
  if (summary.failed) return ctx.exitCode(new SgaiError((summary.firstError?.code ?? 'IO') as SgaiErrorCode, summary.firstError?.message ?? '')) || 3;
  return 0;
}

/** --workers, or the automatic number (one per core, within memory), said in one line. */
async function workerCount(plan: BatchPlan, asked: number | 'auto', maxPixels: number | undefined, ctx: CommandContext): Promise<number> {
  if (asked !== 'auto') return asked;
  const c = await chooseWorkers(plan, { maxPixels });
  const why = {
    cores: `one per core (${c.cores})`,
    memory: `as many as ${mb(c.budgetBytes)} of memory allow at about ${mb(c.perWorkerBytes)} each for photos up to ${c.largestMegapixels.toFixed(0)} MP; set --workers to choose`,
    photos: 'one per photo to encode',
  }[c.limitedBy];
  ctx.err(`workers: ${c.workers} encoder process${c.workers === 1 ? '' : 'es'}, ${why}`);
  return c.workers;
}

/** The backend once the first encoder process is up; a lost process as a warning (the batch goes on). */
function workerNotes(workers: number, ctx: CommandContext): (e: BatchEvent) => void {
  let told = false;
  return (e) => {
    if (e.type === 'worker:ready' && !told) {
      told = true;
      ctx.err(`backend: ${e.backend} (in each of ${workers} encoder process${workers === 1 ? '' : 'es'})`);
    } else if (e.type === 'worker:lost') {
      const what = e.id ? ` while encoding ${e.id}` : '';
      // On a terminal, clear the progress line first; it is redrawn with the next photo.
      ctx.err(`${process.stderr.isTTY ? '\r\x1b[K' : ''}warning: encoder process ${e.worker + 1} ${e.reason}${what}; ${e.id ? (e.willRetry ? 'trying that photo once more in a new process' : 'that photo is recorded as failed') : 'a new one starts when needed'}`);
    }
  };
}

/** One line on stderr: photos done/total, MP/s, bytes before -> after, ETA (a range until a few photos are done). */
function progressLine(total: number, ctx: CommandContext, quiet: boolean): (e: BatchEvent) => void {
  const t0 = Date.now();
  let finished = 0;
  let mp = 0;
  let inB = 0;
  let outB = 0;
  let encoded = 0;
  let last = 0;
  const tty = process.stderr.isTTY;
  return (e) => {
    if (e.type === 'job:state' && ['done', 'failed', 'skipped'].includes(e.state)) {
      finished++;
      if (e.state === 'done' && !e.resumed) encoded++;
      mp += e.megapixels ?? 0;
      inB += e.bytesIn ?? 0;
      outB += e.state === 'done' ? (e.bytesOut ?? 0) : 0;
    }
    if (quiet || e.type === 'batch:done') {
      if (tty && !quiet && e.type === 'batch:done') process.stderr.write('\n');
      return;
    }
    const now = Date.now();
    if (now - last < (tty ? 250 : 5000) && finished < total) return;
    last = now;
    const s = (now - t0) / 1000;
    const perPhoto = encoded ? s / encoded : NaN;
    const left = total - finished;
    // Few photos done: say a range, not a number that will jump.
    const eta = !Number.isFinite(perPhoto) ? '' : encoded < 5 ? `, ETA ${formatDuration(left * perPhoto * 0.5)}-${formatDuration(left * perPhoto * 2)}` : `, ETA ${formatDuration(left * perPhoto)}`;
    const line = `${finished}/${total} photos, ${(mp / Math.max(s, 1e-3)).toFixed(2)} MP/s, ${mb(inB)} -> ${mb(outB)}${left ? eta : ''}`;
    if (tty) process.stderr.write(`\r\x1b[K${line}`);
    else ctx.err(line);
  };
}

export function summaryTable(s: BatchSummary): string {
  const rows: [string, string][] = [
    ['photos', String(s.total)],
    ['done', `${s.done}${s.resumed ? ` (${s.resumed} from an earlier run)` : ''}`],
    ['skipped', String(s.skipped)],
    ['failed', `${s.failed}${s.firstError ? ` (first: ${s.firstError.code}: ${s.firstError.message})` : ''}`],
    ['size', `${mb(s.bytesIn)} -> ${mb(s.bytesOut)}${s.bytesIn ? ` (${((1 - s.bytesOut / s.bytesIn) * 100).toFixed(0)} % smaller)` : ''}`],
    ['time', `${formatDuration(s.seconds)}${s.megapixels ? `, ${(s.megapixels / Math.max(s.seconds, 1e-3)).toFixed(2)} MP/s` : ''}`],
  ];
  if (s.cancelled) rows.push(['cancelled', 'yes: run the same command again to continue']);
  return rows.map(([k, val]) => `${k.padEnd(10)} ${val}`).join('\n');
}
