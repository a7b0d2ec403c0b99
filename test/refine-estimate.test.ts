/** The time estimate shown before a refinement scales with iterations and pixels (no timing asserted). */
import { describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/backend';
import { loadModelFromPath } from '../src/core/model/registry';
import { estimateRefineSeconds, refinedPixels, stepCost } from '../src/core/refine/estimate';
import { TEST_MODEL_PATH } from './helpers';

describe('refinement time estimate', () => {
  it('is measured once per model and backend and scales with iterations and pixels', async () => {
    await initBackend('wasm');
    const w = loadModelFromPath(TEST_MODEL_PATH).weights;
    const c = stepCost(w);
    expect(c.perMegapixelS).toBeGreaterThan(0);
    expect(stepCost(w)).toBe(c); // cached
    const a = estimateRefineSeconds(w, 768, 512, 100);
    expect(estimateRefineSeconds(w, 768, 512, 500)).toBeCloseTo(5 * a, 6);
    expect(estimateRefineSeconds(w, 6000, 4000, 100)).toBeGreaterThan(40 * a);
  });

  it('counts tile halos for large photos', () => {
    expect(refinedPixels(768, 512)).toBe(768 * 512);
    expect(refinedPixels(6000, 4000)).toBeGreaterThan(6016 * 4032);
  });
});
