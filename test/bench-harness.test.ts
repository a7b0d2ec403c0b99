/**
 * The R-D harness end to end, through its real command line, on a folder it has never seen:
 * two generated 192×176 PNGs, a few codecs at two settings each. A codec whose binary is
 * missing is skipped (and reported as skipped, not as passed).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RasterImage } from '../src/core/image/raster';
import { widthFamilies, type BenchSummary } from '../bench/rd/harness';
import { defaultModel, type InstalledModel, type ModelCard } from '../src/core/model/registry';
import { encodeJpeg, findJpegAtSize } from '../bench/rd/jpeg-match';
import { decodePnm, encodePpm, which } from '../bench/rd/tools';
import { ROOT, tempDir } from './helpers';

const tsx = createRequire(import.meta.url).resolve('tsx/cli');
const haveCjpeg = which('cjpeg') !== null && which('djpeg') !== null;
if (!haveCjpeg) console.warn('bench-harness: cjpeg/djpeg not installed (bench/rd/setup.sh): the libjpeg-turbo codec is skipped, mozjpeg is the anchor');

function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [tsx, join(ROOT, 'bench', 'rd.ts'), ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', rej);
    p.on('close', (code) => res({ code: code ?? -1, stdout, stderr }));
  });
}

function generated(w: number, h: number, seed: number): RasterImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      data[i] = Math.round(127 + 120 * Math.sin((x + seed * 13) / 17) * Math.cos(y / 23));
      data[i + 1] = Math.round((255 * x) / w);
      data[i + 2] = ((x * 7) ^ (y * 5) ^ (seed * 31)) & 255;
    }
  }
  return { width: w, height: h, bitDepth: 8, data };
}

describe('bench:rd on a tiny unseen folder', () => {
  const dir = tempDir('sgai-rd-test-');
  const data = join(dir, 'tiny-set');
  const out = join(dir, 'results');
  const cache = join(dir, 'cache');
  const plots = join(dir, 'plots');
  const docs = join(dir, 'benchmarks.md');
  const codecs = [...(haveCjpeg ? ['jpeg'] : []), 'mozjpeg', 'sgai-test', 'sgai-test-sgaplus'];
  const anchor = haveCjpeg ? 'jpeg' : 'mozjpeg';
  const args = [
    '--dataset', data, '--codecs', codecs.join(','), '--settings', 'jpeg=30,80', '--settings', 'mozjpeg=25,75',
    '--test-model', 'yes', '--anchors', `${anchor},sgai-test`, '--out', out, '--cache', cache, '--plots', plots, '--docs', docs, '--speed-images', '1',
  ];
  let first = { code: -1, stdout: '', stderr: '' };
  let summary: BenchSummary;

  beforeAll(async () => {
    mkdirSync(data, { recursive: true });
    for (const seed of [1, 2]) {
      const img = generated(192, 176, seed);
      await sharp(Buffer.from(img.data), { raw: { width: 192, height: 176, channels: 3 } }).png().toFile(join(data, `gen${seed}.png`));
    }
    writeFileSync(join(data, 'notes.txt'), 'not an image');
    writeFileSync(docs, '# Benchmarks\n\nHand-written intro that must survive.\n');
    first = await bench(args);
    summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as BenchSummary;
  });

  it('runs, reports progress and writes every point', () => {
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/ETA/);
    expect(summary.images).toEqual(['gen1.png', 'gen2.png']);
    const csv = readFileSync(join(out, 'points.csv'), 'utf8').trim().split('\n');
    const perCodec = haveCjpeg ? 2 * 2 + 2 * 2 + 1 * 2 : 2 * 2 + 1 * 2;
    expect(csv.length).toBe(1 + perCodec);
    const points = (JSON.parse(readFileSync(join(out, 'points.json'), 'utf8')) as { points: Array<{ bpp: number; bytes: number; psnrRgb: number; msssimRgb: number; width: number; height: number }> }).points;
    for (const p of points) {
      expect(p.bpp).toBeCloseTo((p.bytes * 8) / (192 * 176), 12);
      expect(p.psnrRgb).toBeGreaterThan(5);
      expect(p.msssimRgb).toBeGreaterThan(0);
      expect(p.msssimRgb).toBeLessThanOrEqual(1);
    }
  });

  it('averages curves, computes BD against the anchor, and explains what it could not compute', () => {
    const moz = summary.codecs.find((c) => c.id === 'mozjpeg');
    expect(moz?.curve.length).toBe(2);
    expect(moz?.versions.mozjpeg).toBeTruthy();
    if (haveCjpeg) {
      const j = summary.codecs.find((c) => c.id === 'jpeg');
      expect(j?.versions.cjpeg).toMatch(/libjpeg-turbo/i);
      expect(j?.curve.length).toBe(2);
    }
    // One test model = one R-D point: BD against it is n/a with a reason, never a made-up number.
    const vsSgai = summary.bd.filter((b) => b.anchor === 'sgai-test');
    expect(vsSgai.length).toBeGreaterThan(0);
    for (const b of vsSgai) {
      expect(b.bdRate).toBeNull();
      expect(b.reason).toMatch(/R-D point/);
    }
    const sg = summary.codecs.find((c) => c.id === 'sgai-test');
    expect(sg?.curve.length).toBe(1);
    expect(sg?.models?.[0].isTestModel).toBe(true);
    expect(summary.pointComparisons.some((p) => p.sgai === 'sgai-test')).toBe(true);
    if (haveCjpeg) {
      const b = summary.bd.find((x) => x.anchor === 'jpeg' && x.test === 'mozjpeg' && x.metric === 'psnrRgb' && x.method === 'pchip');
      expect(b).toBeDefined();
      // Either a number or an explained n/a (two points might not overlap in quality).
      expect(b?.bdRate !== null || (b?.reason ?? '').length > 0).toBe(true);
    }
  });

  it('lists the refined variant as skipped, with how to turn it on, unless a budget is set', () => {
    const refined = summary.codecs.find((c) => c.id === 'sgai-test-sgaplus');
    const skipped = summary.skipped.find((c) => c.id === 'sgai-test-sgaplus');
    expect(Boolean(refined) !== Boolean(skipped)).toBe(true);
    if (process.env.SGAI_BENCH_REFINE_ITERS) expect(refined).toBeDefined();
    else expect(skipped!.reason).toMatch(/SGAI_BENCH_REFINE_ITERS/);
  });

  it('times every codec and reports speed relative to sgai', () => {
    expect(summary.speed?.reference).toBe('sgai-test');
    const e = summary.speed?.entries.find((x) => x.codec === 'mozjpeg');
    expect(e?.encodeMPs).toBeGreaterThan(0);
    expect(e?.encodeVsSgai).toBeGreaterThan(0);
  });

  it('writes SVG and PNG plots and a docs section, keeping the hand-written text', async () => {
    for (const f of ['tiny-set-rd-psnr', 'tiny-set-rd-msssim', `tiny-set-bd-vs-${anchor}`]) {
      expect(existsSync(join(plots, `${f}.svg`))).toBe(true);
      const meta = await sharp(join(plots, `${f}.png`)).metadata();
      expect(meta.format).toBe('png');
      expect(meta.width).toBeGreaterThan(500);
    }
    const md = readFileSync(docs, 'utf8');
    expect(md).toContain('Hand-written intro that must survive.');
    expect(md).toContain('BEGIN GENERATED bench:rd tiny-set');
    expect(md).toContain('TEST MODEL');
  });

  it('resumes from the cache: a second run computes nothing and gives the same curves', async () => {
    const again = await bench(args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/0 to compute/);
    const s2 = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as BenchSummary;
    expect(s2.codecs.map((c) => c.curve)).toEqual(summary.codecs.map((c) => c.curve));
    const md = readFileSync(docs, 'utf8');
    expect(md.match(/BEGIN GENERATED bench:rd tiny-set/g)?.length).toBe(1);
  });
});

it.skipIf(!haveCjpeg)('harness runs the libjpeg-turbo binaries (skipped when cjpeg/djpeg are missing)', () => {
  expect(haveCjpeg).toBe(true);
});

describe('jpeg-match', () => {
  const img = generated(200, 150, 3);
  it('finds the highest quality that fits the byte budget', async () => {
    const target = (await encodeJpeg(img, 60)).length + 50;
    const m = await findJpegAtSize(img, target);
    expect(m.fits).toBe(true);
    expect(m.bytes.length).toBeLessThanOrEqual(target);
    expect(m.quality).toBeGreaterThanOrEqual(60);
    if (m.quality < 100) expect((await encodeJpeg(img, m.quality + 1)).length).toBeGreaterThan(target);
    expect(m.encodes).toBeLessThan(12);
  });
  it('says when even quality 1 is too big', async () => {
    const m = await findJpegAtSize(img, 10);
    expect(m.fits).toBe(false);
    expect(m.quality).toBe(1);
  });
});

describe('PNM helpers', () => {
  it('round-trips PPM and reads 16-bit and grey PNM', () => {
    const img = generated(5, 4, 1);
    expect(decodePnm(encodePpm(img))).toEqual(img);
    const hdr = Buffer.from('P5\n# comment\n2 1\n65535\n', 'ascii');
    const g = decodePnm(Buffer.concat([hdr, Buffer.from([0xff, 0xff, 0x00, 0x00])]));
    expect(Array.from(g.data)).toEqual([255, 255, 255, 0, 0, 0]);
  });
});

describe('sgai curves per model width', () => {
  const card = (id: string, N: number, M: number, lambda: number) =>
    ({ card: { id, N, M, lambda } as ModelCard, weightsPath: `${id}.safetensors`, dir: '/models' }) satisfies InstalledModel;

  it('gives compact and standard models their own curve; the default width keeps the plain id', () => {
    const def = defaultModel().model.card;
    const other = def.N === 128 ? [64, 96] : [128, 192];
    const fams = widthFamilies([
      card('a', def.N, def.M, 0.0067), card('b', other[0], other[1], 0.0067),
      card('c', def.N, def.M, 0.0018), card('d', other[0], other[1], 0.025),
    ], []);
    expect(fams.map((f) => f.suffix)).toEqual(['', `-n${other[0]}m${other[1]}`]);
    expect(fams[0].models.map((m) => m.card.id)).toEqual(['a', 'c']);
    expect(fams[1].models.map((m) => m.card.id)).toEqual(['b', 'd']);
    expect(fams[1].label).toContain(`N=${other[0]}/M=${other[1]}`);
  });

  it('keeps one plain curve when every model has the same width', () => {
    const fams = widthFamilies([card('a', 64, 96, 0.0067), card('b', 64, 96, 0.013)], []);
    expect(fams).toHaveLength(1);
    expect(fams[0].suffix).toBe('');
  });
});
