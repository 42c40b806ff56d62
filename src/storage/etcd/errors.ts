import { isBrokenCircuitError, isIsolatedCircuitError, TaskCancelledError } from "cockatiel";
import { isRecoverableError } from "etcd3";

/**
 * The one place that knows how etcd (through the etcd3 client and its cockatiel policies)
 * fails. Two questions, one answer each:
 * - `isTransient`: worth sending again, to this member or another (EtcdStore retries these
 *   within a call's budget);
 * - `isStoreUnavailable`: the store could not answer now (no quorum, member down, deadline
 *   passed, the call's budget spent). The backend answers UNAVAILABLE: the outcome of a write
 *   that failed this way is unknown, so every write in Flock is idempotent and safe to retry.
 */

/** A call ran out of its budget (retries included), or a compare-and-swap kept losing: outcome unknown. */
export class StoreTimeoutError extends Error {
  override readonly name = "StoreTimeoutError";
}

/** Unavailable, deadline, no leader, leader changed, circuit open: worth another try elsewhere. */
export function isTransient(err: unknown): boolean {
  return err instanceof Error && (isRecoverableError(err) || isBrokenCircuitError(err));
}

/** etcd's own words for "no answer now" that the client does not turn into a recoverable error. */
const UNAVAILABLE_MESSAGE = /no leader|leader changed|timed out|too many requests/i;

export function isStoreUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err instanceof StoreTimeoutError ||
    isTransient(err) ||
    isIsolatedCircuitError(err) ||
    err instanceof TaskCancelledError ||
    UNAVAILABLE_MESSAGE.test(err.message)
  );
}
