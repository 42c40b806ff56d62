/** Latency samples of one operation, kept whole and sorted once: percentiles are exact. */
export class Recorder {
  private samples: number[] = [];
  private errorCount = 0;
  private readonly errorKinds = new Map<string, number>();

  /** `ms` of one call; `error` names what went wrong (an HTTP status, an exception) or is undefined. */
  record(ms: number, error?: string): void {
    this.samples.push(ms);
    if (error !== undefined) {
      this.errorCount++;
      this.errorKinds.set(error, (this.errorKinds.get(error) ?? 0) + 1);
    }
  }

  get count(): number {
    return this.samples.length;
  }

  get errors(): number {
    return this.errorCount;
  }

  summary(elapsedSeconds: number): LatencySummary {
    const sorted = Float64Array.from(this.samples).sort();
    return {
      ops: sorted.length,
      opsPerSecond: elapsedSeconds > 0 ? round(sorted.length / elapsedSeconds, 1) : 0,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.length > 0 ? round(sorted[sorted.length - 1]!, 2) : 0,
      errors: this.errorCount,
      errorKinds: Object.fromEntries(this.errorKinds),
    };
  }
}

export interface LatencySummary {
  ops: number;
  opsPerSecond: number;
  /** Milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: number;
  /** How many of each error ("http 503", "timeout", …). */
  errorKinds: Record<string, number>;
}

/** Nearest-rank percentile of ascending samples, in ms with two decimals; 0 when empty. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return round(sorted[rank]!, 2);
}

export function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** a / b, rounded; undefined when b is zero (no figure to compare with). */
export function ratio(a: number, b: number): number | undefined {
  return b > 0 ? round(a / b, 3) : undefined;
}
