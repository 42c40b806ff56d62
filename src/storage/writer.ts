import { put, type Kv, type RangeRequest, type RangeResult, type TxnRequest, type TxnResult } from "./kv.js";

/**
 * How a service writes its facts: every transaction that succeeds also puts the service's
 * tick key, so a linearizable read of the ticks tells how far a view must have caught up
 * to reflect every acknowledged write (see watch-cache.ts).
 */
export class FactWriter {
  constructor(
    readonly kv: Kv,
    private readonly tickKey: string,
  ) {}

  txn(request: TxnRequest): Promise<TxnResult> {
    return this.kv.txn({ ...request, success: [...request.success, put(this.tickKey)] });
  }

  /** A linearizable read of facts the views do not hold (secrets, idempotency keys). */
  range(request: RangeRequest): Promise<RangeResult> {
    return this.kv.range(request);
  }
}
