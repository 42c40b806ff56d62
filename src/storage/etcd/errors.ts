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

/** etcd's words when its NOSPACE alarm is raised (the backend quota is reached). */
const STORAGE_FULL_MESSAGE = /database space exceeded/;

/**
 * etcd is out of space (its NOSPACE alarm): every write is refused, and refused definitely
 * (nothing was applied), until an operator frees space (README: "Runbook: etcd is out of
 * space"); reads still work. Not transient: another try, on any member, gets the same answer.
 */
export function isStorageFull(err: unknown): boolean {
  return err instanceof Error && STORAGE_FULL_MESSAGE.test(err.message);
}

/**
 * Unavailable, deadline, no leader, leader changed, circuit open: worth another try elsewhere.
 * (The etcd3 client calls every RESOURCE_EXHAUSTED recoverable, NOSPACE included; it is not.)
 */
export function isTransient(err: unknown): boolean {
  return (
    err instanceof Error && (isRecoverableError(err) || isBrokenCircuitError(err)) && !isStorageFull(err)
  );
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
