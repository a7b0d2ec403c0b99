/**
 * Plots as hand-written SVG (no browser, no charting dependency), rasterised to PNG by sharp
 * (librsvg inside libvips). Kept deliberately plain: lines with markers, grid, legend, bars.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { BdResult, BenchSummary } from './harness';
import { PUBLISHED_KODAK } from './published';

export interface Series {
  label: string;
  points: Array<{ x: number; y: number }>;
  color: string;
  dashed?: boolean;
  /** Drawn thicker, for the codec the report is about. */
  emphasis?: boolean;
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f', '#393b79'];
const SGAI_COLORS = ['#d62728', '#a50f15', '#fb6a4a'];
const FONT = "font-family=\"DejaVu Sans, Liberation Sans, Arial, sans-serif\"";

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f = (v: number): string => (Math.round(v * 100) / 100).toString();

/** Tick positions at a 1/2/5 × 10^k step giving about `n` ticks. */
export function niceTicks(lo: number, hi: number, n = 6): number[] {
  const span = hi - lo || 1;
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step) out.push(Math.round(v / step) * step);
  return out;
}

/** Greedy word wrap for legend entries. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const w of text.split(' ')) {
    if (cur && cur.length + 1 + w.length > width) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines;
}

const tickLabel = (v: number): string => (Math.abs(v) < 1e-12 ? '0' : Number(v.toPrecision(6)).toString());

export function lineChart(o: { title: string; subtitle?: string; xLabel: string; yLabel: string; series: Series[]; xRange: [number, number]; yRange: [number, number] }): string {
  const W = 960;
  const H = 640;
  const m = { l: 70, r: 270, t: 64, b: 60 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const [x0, x1] = o.xRange;
  const [y0, y1] = o.yRange;
  const X = (v: number) => m.l + ((v - x0) / (x1 - x0)) * pw;
  const Y = (v: number) => m.t + ph - ((v - y0) / (y1 - y0)) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT}>`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<defs><clipPath id="plot"><rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}"/></clipPath></defs>`);
  parts.push(`<text x="${m.l}" y="28" font-size="18" font-weight="bold">${esc(o.title)}</text>`);
  if (o.subtitle) parts.push(`<text x="${m.l}" y="48" font-size="12" fill="#555">${esc(o.subtitle)}</text>`);
  for (const t of niceTicks(x0, x1, 8)) {
    parts.push(`<line x1="${f(X(t))}" y1="${m.t}" x2="${f(X(t))}" y2="${m.t + ph}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${f(X(t))}" y="${m.t + ph + 18}" font-size="12" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  for (const t of niceTicks(y0, y1, 8)) {
    parts.push(`<line x1="${m.l}" y1="${f(Y(t))}" x2="${m.l + pw}" y2="${f(Y(t))}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.l - 8}" y="${f(Y(t) + 4)}" font-size="12" text-anchor="end">${tickLabel(t)}</text>`);
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${m.l + pw / 2}" y="${H - 16}" font-size="14" text-anchor="middle">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(20 ${m.t + ph / 2}) rotate(-90)" font-size="14" text-anchor="middle">${esc(o.yLabel)}</text>`);
  parts.push('<g clip-path="url(#plot)">');
  for (const s of o.series) {
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    const width = s.emphasis ? 3 : 1.6;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (pts.length > 1) {
      parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="${width}"${dash} points="${pts.map((p) => `${f(X(p.x))},${f(Y(p.y))}`).join(' ')}"/>`);
    }
    for (const p of pts) {
      parts.push(s.dashed
        ? `<rect x="${f(X(p.x) - 3)}" y="${f(Y(p.y) - 3)}" width="6" height="6" fill="#fff" stroke="${s.color}"/>`
        : `<circle cx="${f(X(p.x))}" cy="${f(Y(p.y))}" r="${s.emphasis ? 5 : 3.5}" fill="${s.color}"/>`);
    }
  }
  parts.push('</g>');
  const lx = m.l + pw + 16;
  let ly = m.t + 8;
  for (const s of o.series) {
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 26}" y2="${ly}" stroke="${s.color}" stroke-width="${s.emphasis ? 3 : 1.6}"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const line of wrap(s.label, 30)) {
      parts.push(`<text x="${lx + 32}" y="${ly + 4}" font-size="12">${esc(line)}</text>`);
      ly += 15;
    }
    ly += 6;
  }
  parts.push('</svg>');
  return parts.join('\n');
}

export function barChart(o: { title: string; subtitle?: string; xLabel: string; bars: Array<{ label: string; value: number | null; note?: string; color: string }> }): string {
  const W = 960;
  const rowH = 30;
  const m = { l: 330, r: 40, t: 70, b: 50 };
  const H = m.t + m.b + rowH * o.bars.length;
  const vals = o.bars.map((b) => b.value).filter((v): v is number => v !== null);
  const lo = Math.min(0, ...vals);
  const hi = Math.max(0, ...vals);
  const pad = (hi - lo || 10) * 0.16;
  const x0 = lo - pad;
  const x1 = hi + pad;
  const pw = W - m.l - m.r;
  const X = (v: number) => m.l + ((v - x0) / (x1 - x0)) * pw;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT}>`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="20" y="28" font-size="18" font-weight="bold">${esc(o.title)}</text>`);
  if (o.subtitle) parts.push(`<text x="20" y="48" font-size="12" fill="#555">${esc(o.subtitle)}</text>`);
  for (const t of niceTicks(x0, x1, 8)) {
    parts.push(`<line x1="${f(X(t))}" y1="${m.t - 6}" x2="${f(X(t))}" y2="${H - m.b}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${f(X(t))}" y="${H - m.b + 18}" font-size="12" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  parts.push(`<line x1="${f(X(0))}" y1="${m.t - 6}" x2="${f(X(0))}" y2="${H - m.b}" stroke="#333"/>`);
  o.bars.forEach((b, i) => {
    const y = m.t + i * rowH;
    const name = b.label.length > 44 ? `${b.label.slice(0, 43)}…` : b.label;
    parts.push(`<text x="${m.l - 10}" y="${y + rowH / 2 + 4}" font-size="13" text-anchor="end">${esc(name)}</text>`);
    if (b.value === null) {
      parts.push(`<text x="${m.l + 6}" y="${y + rowH / 2 + 4}" font-size="11" font-style="italic" fill="#777">${esc(b.note ?? 'n/a')}</text>`);
      return;
    }
    const a = X(Math.min(0, b.value));
    const w = Math.abs(X(b.value) - X(0));
    parts.push(`<rect x="${f(a)}" y="${y + 5}" width="${f(Math.max(w, 1))}" height="${rowH - 10}" fill="${b.color}"/>`);
    const tx = b.value < 0 ? a - 6 : a + w + 6;
    parts.push(`<text x="${f(tx)}" y="${y + rowH / 2 + 4}" font-size="12" text-anchor="${b.value < 0 ? 'end' : 'start'}">${b.value > 0 ? '+' : ''}${b.value.toFixed(1)} %</text>`);
  });
  parts.push(`<text x="${m.l + pw / 2}" y="${H - 12}" font-size="13" text-anchor="middle">${esc(o.xLabel)}</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

function colorFor(summary: BenchSummary): (id: string) => string {
  const classic = summary.codecs.filter((c) => c.kind === 'classic').map((c) => c.id);
  const sg = summary.codecs.filter((c) => c.kind === 'sgai').map((c) => c.id);
  return (id) => (sg.includes(id) ? SGAI_COLORS[sg.indexOf(id) % SGAI_COLORS.length] : PALETTE[Math.max(0, classic.indexOf(id)) % PALETTE.length]);
}

function range(vals: number[], padFrac: number, floorTo: number): [number, number] {
  const lo = Math.min(...vals);
  const hi = Math.max(...vals);
  const pad = (hi - lo || 1) * padFrac;
  return [Math.floor((lo - pad) / floorTo) * floorTo, Math.ceil((hi + pad) / floorTo) * floorTo];
}

/** Writes the R-D and BD plots; returns the files written (relative names inside `dir`). */
export async function writePlots(summary: BenchSummary, dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const color = colorFor(summary);
  const written: string[] = [];
  const emit = async (base: string, svg: string): Promise<void> => {
    writeFileSync(join(dir, `${base}.svg`), svg);
    await sharp(Buffer.from(svg), { density: 96 }).png({ compressionLevel: 9 }).toFile(join(dir, `${base}.png`));
    written.push(`${base}.svg`, `${base}.png`);
  };
  const name = summary.dataset;
  const n = summary.images.length;
  const withCurves = summary.codecs.filter((c) => c.curve.length > 0);
  // Rates beyond 2.5 bpp are of little interest and squash the interesting range.
  const maxBpp = Math.min(2.5, Math.max(0.5, ...withCurves.flatMap((c) => c.curve.map((p) => p.bpp))));
  const xRange: [number, number] = [0, Math.ceil(maxBpp * 4) / 4];
  const inX = (x: number) => x <= xRange[1];

  for (const metric of ['psnrRgb', 'msssimRgbDb'] as const) {
    const series: Series[] = withCurves.map((c) => ({
      label: c.label,
      color: color(c.id),
      emphasis: c.kind === 'sgai',
      points: c.curve.filter((p) => p[metric] !== null).map((p) => ({ x: p.bpp, y: p[metric] ?? 0 })),
    }));
    if (metric === 'psnrRgb' && summary.published) {
      PUBLISHED_KODAK.filter((pc) => ['mbt2018-mean', 'vtm', 'bpg444'].includes(pc.id)).forEach((pc, i) => {
        series.push({ label: `${pc.label} (published)`, color: ['#555555', '#999999', '#bbbbbb'][i], dashed: true, points: pc.points.map((p) => ({ x: p.bpp, y: p.psnr })) });
      });
    }
    const ys = series.flatMap((s) => s.points.filter((p) => inX(p.x)).map((p) => p.y));
    if (!ys.length) continue;
    const psnr = metric === 'psnrRgb';
    await emit(`${name}-rd-${psnr ? 'psnr' : 'msssim'}`, lineChart({
      title: `${name}: ${psnr ? 'PSNR-RGB' : 'MS-SSIM (RGB)'} vs bits per pixel`,
      subtitle: `mean over ${n} image(s) per setting · ${summary.generatedAt.slice(0, 10)}${psnr && summary.published ? ' · dashed: published numbers, not measured here' : ''}`,
      xLabel: 'bits per pixel (file size)',
      yLabel: psnr ? 'PSNR-RGB (dB)' : 'MS-SSIM RGB (dB, −10·log10(1−MS-SSIM))',
      series,
      xRange,
      yRange: range(ys, 0.03, 1),
    }));
  }

  for (const anchor of summary.anchors) {
    const rows = summary.bd.filter((b: BdResult) => b.anchor === anchor && b.metric === 'psnrRgb' && b.method === 'pchip');
    if (!rows.length) continue;
    const label = (id: string) => summary.codecs.find((c) => c.id === id)?.label ?? id;
    await emit(`${name}-bd-vs-${anchor}`, barChart({
      title: `${name}: BD-rate vs ${label(anchor)}`,
      subtitle: 'PSNR-RGB, piecewise cubic (PCHIP); negative = fewer bits for the same quality; n/a = curves do not overlap or too few points',
      xLabel: `BD-rate vs ${label(anchor)} (%)`,
      bars: rows.map((b) => ({ label: label(b.test), value: b.bdRate, color: color(b.test), note: b.reason ? `n/a: ${b.reason.length > 85 ? `${b.reason.slice(0, 84)}…` : b.reason}` : undefined })),
    }));
  }
  return written;
}
