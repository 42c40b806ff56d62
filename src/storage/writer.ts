import { randomBytes } from "node:crypto";
import {
  absent,
  get,
  put,
  type Kv,
  type RangeRequest,
  type RangeResult,
  type TxnRequest,
  type TxnResult,
} from "./kv.js";
import type { Keys, Writer } from "./keys.js";
import { LeaseBuckets } from "./lease-buckets.js";

/** How long a write's applied-mark lasts: a copy of it delivered later than this could apply again. */
const APPLIED_MARK_TTL_SECONDS = 3600;
/**
 * Marks share a lease per minute, not per hour: a lease's expiry deletes all its keys in one
 * etcd transaction, and an hour of writes' marks at once would stall every member's apply loop.
 */
const APPLIED_MARK_BUCKET_SECONDS = 60;

/**
 * How a service writes its facts. Every transaction it commits also
 * - puts the service's tick key, so a linearizable read of the ticks tells how far a view must
 *   have caught up to reflect every acknowledged write (see watch-cache.ts);
 * - creates a mark of its own (`_r/<writer>/<random id>`, under a lease that ends an hour after the minute it was written in), and applies
 *   only while that mark is absent. The etcd client re-sends a transaction that timed out, and
 *   the first copy may still be applied much later: a member frozen with it in its socket reads
 *   it when it wakes, as a fresh request. Without the mark, that late copy of a follow would
 *   follow again after the user's unfollow, or a post's copy bring it back after its delete.
 *   With it, whichever copy lands first applies and every other finds the mark and does nothing.
 */
export class FactWriter {
  private readonly markLeases: LeaseBuckets;
  private readonly tickKey: string;

  constructor(
    readonly kv: Kv,
    private readonly keys: Keys,
    private readonly writer: Writer,
  ) {
    this.tickKey = keys.tick(writer);
    this.markLeases = new LeaseBuckets(kv, APPLIED_MARK_TTL_SECONDS, APPLIED_MARK_BUCKET_SECONDS);
  }

  /**
   * One transaction, applied at most once however often it is delivered. When a copy of it
   * was applied already, this answers as that copy did: succeeded, at its revision.
   */
  txn(request: TxnRequest): Promise<TxnResult> {
    const mark = this.keys.appliedMark(this.writer, randomBytes(12).toString("base64url"));
    return this.markLeases.withLease(async (lease) => {
      const answer = await this.kv.txn({
        compare: [...(request.compare ?? []), absent(mark)],
        success: [...request.success, put(this.tickKey), put(mark, "", lease)],
        failure: [...(request.failure ?? []), get(mark)],
      });
      if (answer.succeeded) return answer;
      const applied = answer.results[answer.results.length - 1]?.kvs[0];
      return applied ? { succeeded: true, revision: applied.modRevision, results: [] } : answer;
    });
  }

  /** A linearizable read of facts the views do not hold (secrets, idempotency keys). */
  range(request: RangeRequest): Promise<RangeResult> {
    return this.kv.range(request);
  }
}
