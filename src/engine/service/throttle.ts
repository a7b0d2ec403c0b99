/**
 * At most one call per interval: the first call runs at once, later ones within the interval
 * collapse into one trailing call. Progress events (scan counts, batch totals) go through this
 * so a 100k-photo library cannot flood the renderer.
 */
export interface Throttled {
  /** Runs now, or once at the end of the current interval. */
  call(): void;
  /** Runs a pending trailing call now (a final state must not wait). */
  flush(): void;
  /** Drops a pending trailing call. */
  cancel(): void;
}

export function throttle(fn: () => void, intervalMs: number): Throttled {
  let last = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  const run = () => {
    timer = undefined;
    last = performance.now();
    fn();
  };
  return {
    call() {
      if (timer) return;
      const wait = last + intervalMs - performance.now();
      if (wait <= 0) run();
      else timer = setTimeout(run, wait);
    },
    flush() {
      if (!timer) return;
      clearTimeout(timer);
      run();
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
