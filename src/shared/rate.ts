/**
 * Events per second over a sliding window of whole seconds (default ten): cheap enough to
 * call on every request, and what the /cluster page shows as a rate.
 */
export class RateCounter {
  private readonly buckets: number[];
  private readonly seconds: number[];
  total = 0;

  constructor(
    private readonly windowSeconds = 10,
    private readonly now: () => number = Date.now,
  ) {
    // One bucket more than the window: the current second fills while the window is read.
    this.buckets = new Array<number>(windowSeconds + 1).fill(0);
    this.seconds = new Array<number>(windowSeconds + 1).fill(-1);
  }

  add(count = 1): void {
    const second = Math.floor(this.now() / 1000);
    const i = second % this.buckets.length;
    if (this.seconds[i] !== second) {
      this.seconds[i] = second;
      this.buckets[i] = 0;
    }
    this.buckets[i]! += count;
    this.total += count;
  }

  /** Average per second over the last full window (the current, partial second excluded). */
  perSecond(): number {
    const current = Math.floor(this.now() / 1000);
    let sum = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      const second = this.seconds[i]!;
      if (second < current && second >= current - this.windowSeconds) sum += this.buckets[i]!;
    }
    return sum / this.windowSeconds;
  }
}
