/**
 * `npx tsx bench/compare-families.ts <old points.json> <new points.json> [codec]`: BD-PSNR and
 * BD-rate of the sgai curve of one bench:rd run against another's (e.g. the family shipped before
 * a training round against the one after), from the per-image points both runs wrote. Curves are
 * the per-setting means over the images both runs share, as bench:rd's own BD tables use.
 */
import { readFileSync } from 'node:fs';
import { bdQuality, bdRate, type RdPoint } from '../src/core';

interface Point { codec: string; setting: string; image: string; bpp: number; psnrRgb: number }
const [oldPath, newPath, codec = 'sgai'] = process.argv.slice(2);
if (!oldPath || !newPath) {
  process.stderr.write('usage: npx tsx bench/compare-families.ts <old points.json> <new points.json> [codec]\n');
  process.exit(2);
}
const load = (p: string) => (JSON.parse(readFileSync(p, 'utf8')) as { points: Point[] }).points.filter((x) => x.codec === codec);
const oldPts = load(oldPath);
const newPts = load(newPath);
const images = new Set(oldPts.map((p) => p.image).filter((i) => newPts.some((q) => q.image === i)));
function curve(pts: Point[]): RdPoint[] {
  const by = new Map<string, Point[]>();
  for (const p of pts) if (images.has(p.image)) by.set(p.setting, [...(by.get(p.setting) ?? []), p]);
  return [...by.values()].map((g) => ({
    rate: g.reduce((a, p) => a + p.bpp, 0) / g.length,
    quality: g.reduce((a, p) => a + p.psnrRgb, 0) / g.length,
  })).sort((a, b) => a.rate - b.rate);
}
const a = curve(oldPts);
const b = curve(newPts);
const fmt = (c: RdPoint[]) => c.map((p) => `${p.rate.toFixed(4)}/${p.quality.toFixed(2)}`).join('  ');
process.stdout.write(`${codec} on ${images.size} images\n  old: ${fmt(a)}\n  new: ${fmt(b)}\n`);
process.stdout.write(`BD-PSNR new vs old: ${bdQuality(a, b).toFixed(3)} dB; BD-rate: ${(100 * bdRate(a, b)).toFixed(2)} %\n`);
