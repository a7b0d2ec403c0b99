/**
 * The TypeScript model reproduces the PyTorch reference (training/) on the committed parity
 * fixtures: same weights, same input, same y, z, z^, means/scales, y^, likelihoods and x^.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/backend';
import { roundHalfEven } from '../src/core/pipeline/latent-coding';
import { factorizedLikelihood, medians } from '../src/core/entropy/factorized';
import { gaussianLikelihood } from '../src/core/entropy/gaussian';
import { hyperSynthesis } from '../src/core/model/hyper-synthesis';
import { runLayers } from '../src/core/model/network';
import { loadModelFromPath, type LoadedModel } from '../src/core/model/registry';
import { parseSafeTensors, type SafeTensorsFile } from '../src/core/model/safetensors';
import { ROOT, TEST_MODEL_PATH } from './helpers';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`parity with the PyTorch reference (${backend})`, () => {
    let fx: SafeTensorsFile;
    let model: LoadedModel;
    const get = (n: string) => fx.tensors.get(n)!.data;
    beforeAll(async () => {
      await initBackend(backend);
      fx = parseSafeTensors(readFileSync(join(ROOT, 'test', 'fixtures', 'parity', 'parity.safetensors')));
      model = loadModelFromPath(TEST_MODEL_PATH);
    });

    it('every stage matches, x_hat within 1e-4', () => {
      const w = model.weights;
      const [H, W] = fx.tensors.get('x')!.shape;
      const y = runLayers({ data: get('x'), height: H, width: W, channels: 3 }, w.gA);
      expect(maxAbsDiff(y.data, get('y'))).toBeLessThan(1e-4);
      const z = runLayers(y, w.hA);
      expect(maxAbsDiff(z.data, get('z'))).toBeLessThan(1e-4);

      const med = medians(w.factorized);
      expect(maxAbsDiff(med, get('medians'))).toBeLessThan(1e-6);
      const zHat = new Float64Array(z.data.length);
      for (let i = 0; i < zHat.length; i++) zHat[i] = roundHalfEven(z.data[i] - med[i % w.N]) + med[i % w.N];
      expect(maxAbsDiff(zHat, get('z_hat'))).toBeLessThan(1e-6);

      const hs = hyperSynthesis(w.hS, zHat, z.height, z.width, w.N);
      const M = w.M;
      const scales = new Float64Array(y.data.length);
      const means = new Float64Array(y.data.length);
      for (let p = 0; p < y.height * y.width; p++)
        for (let c = 0; c < M; c++) {
          scales[p * M + c] = hs.data[p * 2 * M + c];
          means[p * M + c] = hs.data[p * 2 * M + M + c];
        }
      expect(maxAbsDiff(scales, get('scales'))).toBeLessThan(1e-4);
      expect(maxAbsDiff(means, get('means'))).toBeLessThan(1e-4);

      // Use the reference's y so a rounding flip in y - mu cannot mask a synthesis mismatch.
      const refY = get('y');
      const yHat = new Float32Array(refY.length);
      for (let i = 0; i < yHat.length; i++) yHat[i] = roundHalfEven(refY[i] - means[i]) + means[i];
      expect(maxAbsDiff(yHat, get('y_hat'))).toBeLessThan(1e-4);

      const yl = new Float64Array(yHat.length);
      for (let i = 0; i < yl.length; i++) yl[i] = gaussianLikelihood(yHat[i] - means[i], scales[i]);
      expect(maxAbsDiff(yl, get('y_likelihoods'))).toBeLessThan(1e-5);
      const zl = new Float64Array(zHat.length);
      for (let i = 0; i < zl.length; i++) zl[i] = factorizedLikelihood(w.factorized, i % w.N, zHat[i]);
      expect(maxAbsDiff(zl, get('z_likelihoods'))).toBeLessThan(1e-5);

      const xHat = runLayers({ data: get('y_hat'), height: y.height, width: y.width, channels: M }, w.gS);
      const d = maxAbsDiff(xHat.data, get('x_hat'));
      console.log(`${backend}: max |x_hat - reference| = ${d.toExponential(2)}`);
      expect(d).toBeLessThan(1e-4);
    });
  });
}
