/** Time source, injectable so tests can move time (session expiry, throttling windows). */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
