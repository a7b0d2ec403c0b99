/**
 * The order the decoder process answers in: newest view first. Requests that arrive close
 * together (one view's tiles, asked for centre first) form a burst and keep their order; a
 * later burst (the user zoomed or panned) goes before every earlier one, so the view on screen
 * is decoded before the one the user has left, without reversing the order within a view.
 */
export const BURST_MS = 150;

export class NewestViewFirst<T> {
  private readonly bursts: T[][] = [];
  private lastArrival = -Infinity;

  constructor(private readonly now: () => number = () => performance.now(), private readonly burstMs = BURST_MS) {}

  get size(): number {
    return this.bursts.reduce((n, b) => n + b.length, 0);
  }

  push(item: T): void {
    const t = this.now();
    const newest = this.bursts[this.bursts.length - 1];
    if (newest && t - this.lastArrival <= this.burstMs) newest.push(item);
    else this.bursts.push([item]);
    this.lastArrival = t;
  }

  /** The next request to run: the oldest of the newest burst. */
  take(): T | undefined {
    while (this.bursts.length) {
      const newest = this.bursts[this.bursts.length - 1];
      const item = newest.shift();
      if (newest.length === 0) this.bursts.pop();
      if (item !== undefined) return item;
    }
    return undefined;
  }

  /** Takes out a waiting request (cancelled); false when it is not waiting. */
  remove(match: (item: T) => boolean): T | undefined {
    for (let b = 0; b < this.bursts.length; b++) {
      const i = this.bursts[b].findIndex(match);
      if (i < 0) continue;
      const [item] = this.bursts[b].splice(i, 1);
      if (this.bursts[b].length === 0) this.bursts.splice(b, 1);
      return item;
    }
    return undefined;
  }

  drain(): T[] {
    const all = this.bursts.flat();
    this.bursts.length = 0;
    return all;
  }
}
