import type { Clock } from "../shared/clock.js";

/** A clock tests move by hand, so expiry and throttling windows need no waiting. */
export class FakeClock implements Clock {
  constructor(public ms = 1_700_000_000_000) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}
