import { LeaseNotFoundError, type Kv } from "./kv.js";

/**
 * Leases shared by every key written within one time bucket: a session or an idempotency
 * key is then one put, not a lease grant plus a put. A bucket's lease lives `ttlSeconds`
 * plus the bucket's length, so every key under it lasts at least `ttlSeconds`; keys carry
 * their own expiry time for the exact cut-off.
 */
export class LeaseBuckets {
  private readonly granted = new Map<number, Promise<string>>();

  constructor(
    private readonly kv: Kv,
    private readonly ttlSeconds: number,
    private readonly bucketSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs `write` with the current bucket's lease; a lease that vanished is replaced once. */
  async withLease<T>(write: (lease: string) => Promise<T>): Promise<T> {
    const bucket = Math.floor(this.now() / 1000 / this.bucketSeconds);
    try {
      return await write(await this.leaseOf(bucket));
    } catch (err) {
      if (!(err instanceof LeaseNotFoundError)) throw err;
      this.granted.delete(bucket);
      return write(await this.leaseOf(bucket));
    }
  }

  private leaseOf(bucket: number): Promise<string> {
    let lease = this.granted.get(bucket);
    if (!lease) {
      lease = this.kv.grantLease(this.ttlSeconds + this.bucketSeconds);
      this.granted.set(bucket, lease);
      // A failed grant is not remembered: the next write asks again.
      lease.catch(() => this.granted.delete(bucket));
      for (const old of this.granted.keys()) if (old < bucket) this.granted.delete(old);
    }
    return lease;
  }
}
