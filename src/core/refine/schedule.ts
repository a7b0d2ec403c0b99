/** Temperature schedules for the Gumbel-softmax relaxation. */
export interface TemperatureSchedule {
  /** Decay rate r of exp(-r t). */
  rate: number;
  /** Upper bound tau_max. */
  max: number;
  /** Iterations held at tau_max before decaying (the published SGA schedule waits 700). */
  delay: number;
}

/** SGA+: tau(t) = min(exp(-r t), tau_max), r = 1e-3, tau_max = 1. */
export const SGA_PLUS_SCHEDULE: TemperatureSchedule = { rate: 1e-3, max: 1, delay: 0 };
/** SGA as published: min(0.5, max(1e-8, 0.5 exp(-1e-3 (t - 700)))). */
export const SGA_SCHEDULE: TemperatureSchedule = { rate: 1e-3, max: 0.5, delay: 700 };

export function temperature(s: TemperatureSchedule, t: number): number {
  if (s.delay > 0) return Math.min(s.max, Math.max(1e-8, s.max * Math.exp(-s.rate * (t - s.delay))));
  return Math.min(Math.exp(-s.rate * t), s.max);
}

/** The published SGA+ step size, tuned for hundreds to thousands of iterations. */
export const PUBLISHED_LEARNING_RATE = 0.005;

/**
 * Step size and temperature decay for a refinement that a time budget cuts to `iterations`
 * steps. The published settings (lr 0.005, tau = exp(-0.001 t)) barely anneal and move the
 * latents by at most 0.005 per step, so the few dozen steps the app's efforts give on a laptop
 * CPU keep only part of what refinement can do. Measured with the PyTorch twin on the shipped
 * default model and eight full-resolution Kodak crops (docs/sgaplus-results.md §11): lr 0.02 was
 * the best of 0.005-0.04 at 16, 64 and 160 steps (true loss -4.2 / -6.5 / -7.5 % against -2.2 /
 * -4.7 / -6.2 % with the published settings), and letting tau fall to about 0.45 by the last step
 * helped a little more. Between 160 and 500 steps (not measured) the step size falls
 * geometrically to the published one; from 500 steps on the published schedule is used unchanged.
 */
export const BUDGET_FULL_ITERATIONS = 500;
const SHORT_LR = 0.02;
/** Up to this many steps the short-budget step size was measured best. */
const SHORT_ITERATIONS = 160;
/** tau at the last step = exp(-END_DECAY). */
const END_DECAY = 0.8;

export function budgetLearningRate(iterations: number): number {
  if (iterations >= BUDGET_FULL_ITERATIONS) return PUBLISHED_LEARNING_RATE;
  if (iterations <= SHORT_ITERATIONS) return SHORT_LR;
  const f = Math.log(iterations / SHORT_ITERATIONS) / Math.log(BUDGET_FULL_ITERATIONS / SHORT_ITERATIONS);
  return SHORT_LR * (PUBLISHED_LEARNING_RATE / SHORT_LR) ** f;
}

export function budgetSchedule(iterations: number): TemperatureSchedule {
  if (iterations >= BUDGET_FULL_ITERATIONS) return SGA_PLUS_SCHEDULE;
  return { rate: Math.max(SGA_PLUS_SCHEDULE.rate, END_DECAY / Math.max(1, iterations)), max: 1, delay: 0 };
}
