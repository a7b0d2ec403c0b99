/**
 * The time estimate shown before a refinement scales with iterations and pixels (no timing
 * asserted). The probe awaits real refinement steps (it once timed only their start).
 */
import { describe, expect, it } from 'vitest';
import { initBackend } from '../src/core/backend';
import { loadModelFromPath } from '../src/core/model/registry';
import { estimateRefineSeconds, refinedPixels, stepCost } from '../src/core/refine/estimate';
import { TEST_MODEL_PATH } from './helpers';

describe('refinement time estimate', () => {
  it('is measured once per model and backend and scales with iterations and pixels', async () => {
    await initBackend('wasm');
    const w = loadModelFromPath(TEST_MODEL_PATH).weights;
    const pending = stepCost(w);
    expect(stepCost(w)).toBe(pending); // measured once
    const c = await pending;
    expect(c.perMegapixelS).toBeGreaterThan(0);
    const a = await estimateRefineSeconds(w, 768, 512, 100);
    expect(await estimateRefineSeconds(w, 768, 512, 500)).toBeCloseTo(5 * a, 6);
    expect(await estimateRefineSeconds(w, 6000, 4000, 100)).toBeGreaterThan(40 * a);
  });

  it('counts tile halos for large photos', () => {
    expect(refinedPixels(768, 512)).toBe(768 * 512);
    expect(refinedPixels(6000, 4000)).toBeGreaterThan(6016 * 4032);
  });
});
