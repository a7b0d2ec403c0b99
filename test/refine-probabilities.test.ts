/**
 * Rounding probability functions: the tfjs versions equal the float64 formulas on a grid that
 * includes integer and half-integer offsets, the relaxation's class weights sum to one, and
 * integers map to themselves.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/backend';
import { gumbelNoise } from '../src/core/refine/noise';
import {
  defaultParams, logQ2, logQ2Scalar, logQ3, logQ3Scalar,
  type ThreeClassMethod, type TwoClassMethod,
} from '../src/core/refine/probabilities';
import { relax } from '../src/core/refine/relax';
import { SGA_PLUS_SCHEDULE, SGA_SCHEDULE, temperature } from '../src/core/refine/schedule';

/** One tensor per class from [element][class] interleaved noise. */
function classTensors(g: Float32Array, K: number): tf.Tensor[] {
  return Array.from({ length: K }, (_, k) => tf.tensor1d(g.filter((_, i) => i % K === k)));
}

const D2 = [0, 1e-6, 1e-5, 0.1, 0.25, 0.5, 0.75, 0.9, 1 - 1e-5];
const D3 = [0, 1e-6, 0.25, 0.5, 0.75, 1, 1.02, 1.25, 1.5];

describe('rounding probabilities', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('two-class closed forms', () => {
    const p = defaultParams('ssl');
    for (const d of D2) {
      expect(logQ2Scalar('linear', d, p)).toBeCloseTo(Math.log(1 - d), 12);
      const ds = Math.max(d, 1e-5);
      expect(logQ2Scalar('sga', d, p)).toBeCloseTo(-0.5 * Math.log((1 + ds) / (1 - ds)), 12);
      expect(logQ2Scalar('cosine', d, p)).toBeCloseTo(Math.log(Math.cos((Math.PI * d) / 2) ** 2 + 1e-7), 12);
      const c = Math.min(Math.max(d, 1e-5), 1 - 1e-5);
      expect(logQ2Scalar('ssl', d, p)).toBeCloseTo(Math.log(1 / (1 + (c / (1 - c)) ** 2.3)), 10);
    }
    // SSL with a = 1 is the linear function (away from the clip).
    for (const d of [0.1, 0.3, 0.5, 0.8]) expect(logQ2Scalar('ssl', d, { ...p, a: 1 })).toBeCloseTo(Math.log(1 - d), 12);
    // At the half-integer offset every two-class function is symmetric: q(0.5) for both neighbours.
    for (const m of ['sga', 'linear', 'cosine', 'ssl'] as TwoClassMethod[]) expect(Number.isFinite(logQ2Scalar(m, 0.5, p))).toBe(true);
  });

  it('three-class closed forms', () => {
    const p = defaultParams('ssl3');
    for (const D of D3) {
      expect(logQ3Scalar('linear3', D, p)).toBeCloseTo(1.4 * Math.log(Math.max(1 - 0.98 * D, 1e-6)), 12);
      expect(logQ3Scalar('cosine3', D, p)).toBeCloseTo(Math.log(Math.cos((Math.PI / 2) * Math.min(0.98 * D, 1)) ** 1.4 + 1e-7), 12);
      const c = Math.min(Math.max((0.98 * D) / 1.5, 1e-6), 1 - 1e-6);
      const sig = 1 / (1 + Math.exp(1.4 * Math.log(c / (1 - c))));
      expect(logQ3Scalar('ssl3', D, p)).toBeCloseTo(1.4 * Math.log(Math.max(sig, 1e-6)), 10);
    }
  });

  // Compared at the float32 value of each distance: near d = 1 the float32 rounding of d itself
  // changes log(1 - d) by far more than the functions' own error (PyTorch float32 shares it).
  it('tfjs versions match the float64 formulas at float32 inputs', () => {
    for (const m of ['sga', 'linear', 'cosine', 'ssl'] as TwoClassMethod[]) {
      const p = defaultParams(m);
      const got = tf.tidy(() => logQ2(m, tf.tensor1d(D2), p).dataSync());
      D2.forEach((d, i) => expect(Math.abs(got[i] - logQ2Scalar(m, Math.fround(d), p))).toBeLessThan(2e-5 * Math.max(1, Math.abs(got[i]))));
    }
    for (const m of ['linear3', 'cosine3', 'ssl3'] as ThreeClassMethod[]) {
      const p = defaultParams(m);
      const got = tf.tidy(() => logQ3(m, tf.tensor1d(D3), p).dataSync());
      D3.forEach((d, i) => expect(Math.abs(got[i] - logQ3Scalar(m, Math.fround(d), p))).toBeLessThan(5e-5 * Math.max(1, Math.abs(got[i]))));
    }
  });

  it('relaxation: weights sum to one, integers stay put, values stay between the candidates', () => {
    const v = [-2, -1.5, -0.25, 0, 0.5, 0.999, 3, 7.25];
    for (const m of ['sga', 'linear', 'cosine', 'ssl', 'linear3', 'cosine3', 'ssl3'] as const) {
      const K = m.endsWith('3') ? 3 : 2;
      for (const tau of [1, 0.37, 0.05]) {
        const g = gumbelNoise(5, 0, 3, v.length * K);
        const out = tf.tidy(() => relax(tf.tensor1d(v), tau, m, defaultParams(m), classTensors(g, K)).dataSync());
        v.forEach((x, i) => {
          if (K === 2) {
            if (Number.isInteger(x)) expect(out[i]).toBeCloseTo(x, 6);
            expect(out[i]).toBeGreaterThanOrEqual(Math.floor(x) - 1e-6);
            expect(out[i]).toBeLessThanOrEqual(Math.ceil(x) + 1e-6);
          } else {
            const r = Math.round(x);
            expect(Math.abs(out[i] - r)).toBeLessThanOrEqual(1 + 1e-6);
          }
        });
      }
    }
  });

  it('relaxation has finite gradients everywhere, including integers and half-integers', () => {
    for (const m of ['sga', 'linear', 'cosine', 'ssl', 'linear3', 'cosine3', 'ssl3'] as const) {
      const K = m.endsWith('3') ? 3 : 2;
      const v = [-1, -0.5, 0, 0.5, 0.00001, 0.99999, 2.5];
      const g = gumbelNoise(1, 0, 0, v.length * K);
      const grad = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(relax(x, 0.5, m, defaultParams(m), classTensors(g, K))))(tf.tensor1d(v)).dataSync());
      grad.forEach((d) => expect(Number.isFinite(d)).toBe(true));
    }
  });

  it('temperature schedules', () => {
    expect(temperature(SGA_PLUS_SCHEDULE, 0)).toBe(1);
    expect(temperature(SGA_PLUS_SCHEDULE, 500)).toBeCloseTo(0.6065, 4);
    expect(temperature(SGA_PLUS_SCHEDULE, 2000)).toBeCloseTo(0.1353, 4);
    expect(temperature(SGA_SCHEDULE, 0)).toBe(0.5);
    expect(temperature(SGA_SCHEDULE, 700)).toBe(0.5);
    expect(temperature(SGA_SCHEDULE, 2000)).toBeCloseTo(0.5 * Math.exp(-1.3), 6);
  });

  it('Gumbel noise is deterministic, counter-based and Gumbel distributed', () => {
    const a = gumbelNoise(3, 0, 10, 100_000);
    const b = gumbelNoise(3, 0, 10, 100_000);
    expect(Buffer.compare(Buffer.from(a.buffer), Buffer.from(b.buffer))).toBe(0);
    expect(gumbelNoise(3, 0, 10, 5)[4]).toBe(a[4]);
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    expect(mean).toBeCloseTo(0.5772, 1); // Euler-Mascheroni constant
    expect(gumbelNoise(3, 1, 10, 1)[0]).not.toBe(a[0]);
  });
});
