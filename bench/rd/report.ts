/**
 * The generated part of docs/benchmarks.md: one section per dataset between markers, rewritten
 * by every run; everything outside the markers is left as written by hand.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import type { BdResult, BenchSummary, CodecSummary } from './harness';
import { PUBLISHED_KODAK } from './published';

const begin = (name: string) => `<!-- BEGIN GENERATED bench:rd ${name} — written by \`npm run bench:rd\`, edits here are overwritten -->`;
const end = (name: string) => `<!-- END GENERATED bench:rd ${name} -->`;

const n2 = (v: number | null | undefined, d = 2): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));
const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : `${v > 0 ? '+' : ''}${v.toFixed(1)} %`);
const db = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : `${v > 0 ? '+' : ''}${v.toFixed(2)} dB`);

function bdCell(rows: BdResult[], test: string, metric: BdResult['metric'], method: BdResult['method'], what: 'bdRate' | 'bdQuality'): string {
  const r = rows.find((b) => b.test === test && b.metric === metric && b.method === method);
  if (!r) return '—';
  if (r[what] === null) return 'n/a';
  return what === 'bdRate' ? pct(r.bdRate) : db(r.bdQuality);
}

function reasonsFor(rows: BdResult[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) if (r.reason && r.metric === 'psnrRgb' && r.method === 'pchip') seen.add(`${r.test}: ${r.reason}`);
  return [...seen];
}

/** PSNR at `bpp` on a curve, linear in log-rate between its points; null outside it. */
function logInterp(bpp: number[], psnr: number[], at: number): number | null {
  for (let i = 0; i < bpp.length - 1; i++) {
    const a = Math.log(bpp[i]);
    const b = Math.log(bpp[i + 1]);
    const x = Math.log(at);
    if (x >= a && x <= b) return psnr[i] + ((psnr[i + 1] - psnr[i]) * (x - a)) / (b - a);
  }
  return null;
}

/** Plain-language verdicts about sgai that follow from the numbers (so the doc cannot flatter it). */
function sgaiVerdicts(s: BenchSummary): string[] {
  const out: string[] = [];
  for (const c of s.codecs.filter((x) => x.kind === 'sgai')) {
    for (const p of c.curve) {
      const cmp = s.pointComparisons.filter((q) => q.sgai === c.id && q.setting === p.setting);
      const jpeg = cmp.find((q) => q.other === 'jpeg');
      const parts: string[] = [];
      if (jpeg?.rateRatioAtEqualPsnr != null) {
        const r = jpeg.rateRatioAtEqualPsnr;
        parts.push(r >= 1 ? `JPEG (libjpeg-turbo) needs ${r.toFixed(2)}× its rate for the same PSNR-RGB` : `JPEG (libjpeg-turbo) reaches the same PSNR-RGB with ${(r * 100).toFixed(0)} % of its rate, i.e. sgai is worse than JPEG here`);
      } else if (jpeg) {
        parts.push('its PSNR-RGB is outside the range of the JPEG sweep, so no equal-quality comparison with JPEG');
      }
      const better = cmp.filter((q) => q.psnrGapAtEqualRate !== null && q.psnrGapAtEqualRate > 0).map((q) => q.other);
      const worse = cmp.filter((q) => q.psnrGapAtEqualRate !== null && q.psnrGapAtEqualRate <= 0).map((q) => q.other);
      const mbt = s.published ? PUBLISHED_KODAK.find((pc) => pc.id === 'mbt2018-mean') : undefined;
      if (mbt) {
        const q = logInterp(mbt.points.map((x) => x.bpp), mbt.points.map((x) => x.psnr), p.bpp);
        parts.push(q === null ? 'its bpp is outside the published CompressAI mbt2018-mean range' : `published CompressAI mbt2018-mean reaches ${q.toFixed(2)} dB at this bpp (${(q - p.psnrRgb).toFixed(2)} dB more)`);
      }
      if (better.length) parts.push(`at its bpp these codecs give a higher PSNR-RGB: ${better.join(', ')}`);
      if (worse.length) parts.push(`and these a lower one: ${worse.join(', ')}`);
      out.push(`- **${c.label}**, model \`${p.setting}\`: ${n2(p.bpp, 3)} bpp, ${n2(p.psnrRgb)} dB PSNR-RGB; ${parts.join('; ') || 'no classic codec to compare with'}.`);
    }
  }
  return out;
}

function curveTable(c: CodecSummary): string[] {
  const rows = ['| setting | bpp | PSNR-RGB | PSNR-Y | MS-SSIM RGB | MS-SSIM RGB (dB) | MS-SSIM Y |', '|---|---:|---:|---:|---:|---:|---:|'];
  for (const p of c.curve) {
    rows.push(`| ${p.setting} | ${n2(p.bpp, 3)} | ${n2(p.psnrRgb)} | ${n2(p.psnrY)} | ${n2(p.msssimRgb, 4)} | ${n2(p.msssimRgbDb)} | ${n2(p.msssimY, 4)} |`);
  }
  return rows;
}

export interface ReportContext {
  /** The command line that produced the run. */
  command: string;
  /** Where the plots were written (absolute), or null. */
  plotsDir: string | null;
  plotFiles: string[];
}

export function renderSection(s: BenchSummary, docsPath: string, ctx: ReportContext): string {
  const L: string[] = [];
  const label = (id: string) => s.codecs.find((c) => c.id === id)?.label ?? id;
  const plot = (file: string) => (ctx.plotsDir ? `${relative(dirname(docsPath), ctx.plotsDir)}/${file}` : file);
  L.push(begin(s.dataset));
  L.push(`## ${s.dataset}: measured R-D results`);
  L.push('');
  L.push(`Generated ${s.generatedAt} from ${s.images.length} image(s) in \`${s.datasetPath.replace(/^.*?(shared\/)/, '$1')}\` by:`);
  L.push('');
  L.push('```');
  L.push(ctx.command);
  L.push('```');
  L.push('');
  L.push(`Hardware: ${s.hardware.cpu}, ${s.hardware.logicalCpus} logical CPU(s), ${s.hardware.memoryGiB} GiB RAM, ${s.hardware.platform}, Node ${s.hardware.node}; load average at start ${s.hardware.loadAvgAtStart.join(' / ')} (the machine is shared with a training job, so timings are indicative).`);
  L.push(`Cache: ${s.cache.hits} point(s) reused, ${s.cache.computed} computed in this run.`);
  L.push('');
  const sg = s.codecs.filter((c) => c.kind === 'sgai');
  if (sg.length) {
    L.push('### sgai: models and verdict');
    L.push('');
    if (sg.some((c) => c.models?.some((m) => m.isTestModel))) {
      L.push('**Codecs marked TEST MODEL use `sgai-test-n32m48`, the seeded fixture of the test suite, not a trained codec: their numbers say nothing about what sgai can do.**');
      L.push('');
    }
    L.push('Models benchmarked (from their model cards):');
    L.push('');
    for (const c of sg) {
      for (const m of c.models ?? []) {
        const facts = [`N=${m.N}, M=${m.M}, λ=${m.lambda}`, m.steps !== undefined ? `${m.steps} steps` : '', m.hardware ?? '', m.trainingTime ?? ''].filter(Boolean).join(', ');
        L.push(`- \`${m.id}\` (${c.id}): ${facts}${m.isTestModel ? ' — TEST MODEL' : ''}${m.note ? `. Card note: “${m.note}”` : ''}`);
      }
    }
    L.push('');
    L.push('What this run measured for each sgai point:');
    L.push('');
    L.push(...sgaiVerdicts(s));
    L.push('');
  }
  const pngs = ctx.plotFiles.filter((f) => f.endsWith('.png'));
  if (pngs.length) {
    L.push('### Plots');
    L.push('');
    for (const f of pngs) L.push(`![${f}](${plot(f)})`);
    L.push('');
    L.push(`SVG versions: ${ctx.plotFiles.filter((f) => f.endsWith('.svg')).map((f) => `[${f}](${plot(f)})`).join(', ')}.`);
    L.push('');
  }
  for (const a of s.anchors) {
    const rows = s.bd.filter((b) => b.anchor === a);
    L.push(`### BD vs ${label(a)}`);
    L.push('');
    L.push('Negative BD-rate = fewer bits than the anchor at equal quality. PCHIP = piecewise cubic (JVET CTC style, the headline number); cubic = VCEG-M33 polynomial fit.');
    L.push('');
    L.push('| codec | BD-rate PSNR-RGB (PCHIP) | BD-rate PSNR-RGB (cubic) | BD-PSNR-RGB (PCHIP) | BD-rate PSNR-Y | BD-rate MS-SSIM dB |');
    L.push('|---|---:|---:|---:|---:|---:|');
    for (const t of [...new Set(rows.map((r) => r.test))]) {
      L.push(`| ${label(t)} | ${bdCell(rows, t, 'psnrRgb', 'pchip', 'bdRate')} | ${bdCell(rows, t, 'psnrRgb', 'cubic', 'bdRate')} | ${bdCell(rows, t, 'psnrRgb', 'pchip', 'bdQuality')} | ${bdCell(rows, t, 'psnrY', 'pchip', 'bdRate')} | ${bdCell(rows, t, 'msssimRgbDb', 'pchip', 'bdRate')} |`);
    }
    const why = reasonsFor(rows);
    if (why.length) {
      L.push('');
      L.push('n/a because:');
      for (const w of why) L.push(`- ${w}`);
    }
    L.push('');
  }
  if (s.speed) {
    L.push('### Speed');
    L.push('');
    L.push(`${s.speed.images.length} image(s) (${s.speed.megapixels.toFixed(2)} MP in all: ${s.speed.images.join(', ')}), each codec at its middle setting. ${s.speed.note}`);
    L.push('');
    L.push(`| codec | setting | encode MP/s | decode MP/s | encode vs ${s.speed.reference ?? 'sgai'} | decode vs ${s.speed.reference ?? 'sgai'} |`);
    L.push('|---|---|---:|---:|---:|---:|');
    for (const e of s.speed.entries) {
      L.push(`| ${label(e.codec)} | ${e.setting} | ${n2(e.encodeMPs, 3)} | ${n2(e.decodeMPs, 3)} | ${e.encodeVsSgai === null ? '—' : `${e.encodeVsSgai.toFixed(1)}×`} | ${e.decodeVsSgai === null ? '—' : `${e.decodeVsSgai.toFixed(1)}×`} |`);
    }
    L.push('');
  }
  L.push('### Averaged curves');
  L.push('');
  L.push(s.metricsConventions);
  L.push('');
  for (const c of s.codecs) {
    L.push(`<details><summary>${c.label} (${c.curve.length} points)</summary>`);
    L.push('');
    L.push(...curveTable(c));
    if (c.incomplete.length) L.push('', `Left out: ${c.incomplete.map((i) => `${i.setting} (${i.reason})`).join(', ')}.`);
    if (c.errors.length) L.push('', `Errors (${c.errors.length}): ${c.errors.slice(0, 3).join('; ')}${c.errors.length > 3 ? ' …' : ''}`);
    L.push('', '</details>', '');
  }
  L.push('### Tools and commands');
  L.push('');
  L.push('| codec | versions | commands |');
  L.push('|---|---|---|');
  for (const c of s.codecs) {
    L.push(`| ${c.label} | ${Object.entries(c.versions).map(([k, v]) => `${k}: ${v}`).join('<br>').replace(/\|/g, '\\|')} | \`${c.commands.replace(/\|/g, '\\|')}\` |`);
  }
  for (const k of s.skipped) L.push(`| ${k.label} | skipped: ${k.reason.replace(/\|/g, '\\|')} | |`);
  L.push('');
  if (s.published) {
    L.push('### Published reference numbers (not measured here)');
    L.push('');
    L.push(`From ${s.published.source}, for context. bpp / PSNR-RGB:`);
    L.push('');
    L.push('| codec | points |');
    L.push('|---|---|');
    for (const pc of PUBLISHED_KODAK) L.push(`| ${pc.label} | ${pc.points.map((p) => `${p.bpp.toFixed(3)} / ${p.psnr.toFixed(2)}`).join(' · ')} |`);
    L.push('');
    L.push('BD-rate (PSNR-RGB, PCHIP) of each measured codec against the published curves; our WebP and JPEG against the published WebP and Pillow JPEG are a sanity check of the harness (they should be near 0):');
    L.push('');
    const pubIds = PUBLISHED_KODAK.map((p) => p.id);
    L.push(`| measured codec | ${pubIds.map((id) => `vs ${PUBLISHED_KODAK.find((p) => p.id === id)?.label ?? id}`).join(' | ')} |`);
    L.push(`|---|${pubIds.map(() => '---:').join('|')}|`);
    for (const c of s.codecs) {
      L.push(`| ${c.label} | ${pubIds.map((id) => {
        const r = s.published?.bd.find((b) => b.anchor === `published:${id}` && b.test === c.id);
        return r ? (r.bdRate === null ? 'n/a' : pct(r.bdRate)) : '—';
      }).join(' | ')} |`);
    }
    L.push('');
  }
  L.push(end(s.dataset));
  return L.join('\n');
}

const HEADER = '# Benchmarks\n\nRate-distortion and speed of sgai against classic codecs. The sections below are generated by `npm run bench:rd`.\n';

/** Replaces (or appends) the dataset's generated section, leaving the rest of the file alone. */
export function updateDocs(s: BenchSummary, docsPath: string, ctx: ReportContext): void {
  const text = existsSync(docsPath) ? readFileSync(docsPath, 'utf8') : HEADER;
  const section = renderSection(s, docsPath, ctx);
  const a = text.indexOf(begin(s.dataset).slice(0, begin(s.dataset).indexOf(' — ')));
  const endMarker = end(s.dataset);
  const b = text.indexOf(endMarker);
  const next = a >= 0 && b > a ? `${text.slice(0, a)}${section}${text.slice(b + endMarker.length)}` : `${text.trimEnd()}\n\n${section}\n`;
  mkdirSync(dirname(docsPath), { recursive: true });
  writeFileSync(docsPath, next);
}
