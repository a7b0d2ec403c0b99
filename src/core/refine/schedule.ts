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
