/** Deterministic randomness for the bench: the same seed gives the same graph and request mix. */
export type Rng = () => number;

/** mulberry32: small, fast, good enough for picking users and drawing degrees. */
export function rng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(random: Rng, below: number): number {
  return Math.floor(random() * below);
}

const TEXT_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** `length` random alphanumeric characters (DeathStarBench composes 256 of them). */
export function randomText(random: Rng, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += TEXT_ALPHABET[randomInt(random, TEXT_ALPHABET.length)];
  return out;
}

/** Draws indexes 0..n-1 with probability proportional to 1/(i+1)^exponent: index 0 is the most popular. */
export class ZipfSampler {
  private readonly cumulative: Float64Array;

  constructor(
    readonly n: number,
    exponent: number,
  ) {
    this.cumulative = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      total += 1 / (i + 1) ** exponent;
      this.cumulative[i] = total;
    }
  }

  draw(random: Rng): number {
    const target = random() * this.cumulative[this.n - 1]!;
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** A Pareto draw (shape 2) with the given mean, rounded and clamped to [1, max]: a power-law degree. */
export function powerLawDegree(random: Rng, mean: number, max: number): number {
  const shape = 2;
  const scale = (mean * (shape - 1)) / shape;
  const value = Math.round(scale / (1 - random()) ** (1 / shape));
  return Math.max(1, Math.min(max, value));
}
