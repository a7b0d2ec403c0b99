/**
 * BD-rate / BD-PSNR against numbers computed once by two independent Python implementations
 * that agree with each other (scipy PchipInterpolator / numpy polyfit, and the published
 * `bjontegaard` package): bench/rd/reference/bd-reference.json from make_bd_ref.py.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SgaiError } from '../src/core/errors';
import { bdPsnr, bdRate, pchip, polyfit, type BdMethod, type RdPoint } from '../src/core/metrics/bd';

interface Curve { rate: number[]; quality: number[] }
interface Case { name: string; anchor: Curve; test: Curve; pchip: { bdRate: number; bdPsnr: number }; cubic?: { bdRate: number; bdPsnr: number } }
const ref = JSON.parse(readFileSync(join(__dirname, '..', 'bench', 'rd', 'reference', 'bd-reference.json'), 'utf8')) as { cases: Case[] };
const pts = (c: Curve): RdPoint[] => c.rate.map((rate, i) => ({ rate, quality: c.quality[i] }));

describe('BD vs independent reference', () => {
  for (const c of ref.cases) {
    for (const m of ['pchip', 'cubic'] as BdMethod[]) {
      const want = c[m];
      if (!want) continue;
      it(`${c.name} (${m})`, () => {
        expect(bdRate(pts(c.anchor), pts(c.test), m)).toBeCloseTo(want.bdRate, 7);
        expect(bdPsnr(pts(c.anchor), pts(c.test), m)).toBeCloseTo(want.bdPsnr, 9);
      });
    }
  }
});

const kodakJpeg: RdPoint[] = [
  { rate: 0.327, quality: 26.58 },
  { rate: 0.508, quality: 29.04 },
  { rate: 0.729, quality: 30.9 },
  { rate: 1.037, quality: 32.79 },
  { rate: 1.4, quality: 34.5 },
];

describe('BD properties', () => {
  for (const m of ['pchip', 'cubic'] as BdMethod[]) {
    it(`identical curves give 0 (${m})`, () => {
      expect(bdRate(kodakJpeg, kodakJpeg, m)).toBeCloseTo(0, 12);
      expect(bdPsnr(kodakJpeg, kodakJpeg, m)).toBeCloseTo(0, 12);
    });
    it(`all rates ×0.9 gives −10 % whatever the order of the points (${m})`, () => {
      const test = kodakJpeg.map((p) => ({ rate: p.rate * 0.9, quality: p.quality })).reverse();
      expect(bdRate(kodakJpeg, test, m)).toBeCloseTo(-10, 10);
      expect(bdRate(test, kodakJpeg, m)).toBeCloseTo((1 / 0.9 - 1) * 100, 10);
      expect(bdPsnr(kodakJpeg, test, m)).toBeGreaterThan(0);
    });
    it(`quality +0.5 dB everywhere gives BD-PSNR +0.5 (${m})`, () => {
      const test = kodakJpeg.map((p) => ({ rate: p.rate, quality: p.quality + 0.5 }));
      expect(bdPsnr(kodakJpeg, test, m)).toBeCloseTo(0.5, 10);
      expect(bdRate(kodakJpeg, test, m)).toBeLessThan(0);
    });
    it(`the rate unit does not matter (${m})`, () => {
      const t = kodakJpeg.map((p, i) => ({ rate: p.rate * (0.8 + 0.03 * i), quality: p.quality + 0.1 * i }));
      const bytes = (c: RdPoint[]) => c.map((p) => ({ rate: (p.rate * 768 * 512) / 8, quality: p.quality }));
      expect(bdRate(bytes(kodakJpeg), bytes(t), m)).toBeCloseTo(bdRate(kodakJpeg, t, m), 10);
      expect(bdPsnr(bytes(kodakJpeg), bytes(t), m)).toBeCloseTo(bdPsnr(kodakJpeg, t, m), 10);
    });
  }
  it('errors are SgaiError: too few points, no overlap, bad rates, repeated qualities', () => {
    const two = kodakJpeg.slice(0, 2);
    expect(() => bdRate(two, two, 'cubic')).toThrow(SgaiError);
    expect(bdRate(two, two, 'pchip')).toBeCloseTo(0, 12);
    expect(() => bdRate(kodakJpeg.slice(0, 1), kodakJpeg)).toThrow(SgaiError);
    const far = kodakJpeg.map((p) => ({ rate: p.rate, quality: p.quality + 20 }));
    expect(() => bdRate(kodakJpeg, far)).toThrow(/do not overlap/);
    expect(() => bdRate(kodakJpeg, [{ rate: 0, quality: 30 }, { rate: 1, quality: 31 }])).toThrow(SgaiError);
    expect(() => bdRate(kodakJpeg, [{ rate: 0.5, quality: 30 }, { rate: 1, quality: 30 }])).toThrow(SgaiError);
  });
  it('pchip interpolates the points, is monotone between them and integrates exactly', () => {
    const x = [0, 1, 2, 3, 4];
    const y = [0, 0.1, 2, 2.05, 5];
    const f = pchip(x, y);
    x.forEach((v, i) => expect(f.at(v)).toBeCloseTo(y[i], 14));
    let prev = -Infinity;
    for (let v = 0; v <= 4; v += 0.01) {
      expect(f.at(v)).toBeGreaterThanOrEqual(prev - 1e-12);
      prev = f.at(v);
    }
    // Simpson on a fine grid of each piece (exact for cubics).
    let simpson = 0;
    const h = 0.25;
    for (let i = 0; i < 12; i++) {
      const a = 0.5 + i * h;
      simpson += (h / 6) * (f.at(a) + 4 * f.at(a + h / 2) + f.at(a + h));
    }
    expect(f.integral(0.5, 3.5)).toBeCloseTo(simpson, 12);
  });
  it('polyfit recovers an exact cubic and least-squares fits more points', () => {
    const xs = [1, 2, 3, 4, 5, 6];
    const { coef, center, scale } = polyfit(xs, xs.map((v) => 2 - v + 0.5 * v ** 3), 3);
    const at = (v: number) => coef.reduce((s, c, j) => s + c * ((v - center) / scale) ** j, 0);
    for (const v of [1.5, 3.3, 6]) expect(at(v)).toBeCloseTo(2 - v + 0.5 * v ** 3, 9);
  });
});
