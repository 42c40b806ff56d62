import { isBrokenCircuitError, isIsolatedCircuitError, TaskCancelledError } from "cockatiel";
import { isRecoverableError } from "etcd3";

/**
 * The one place that knows how etcd (through the etcd3 client and its cockatiel policies)
 * fails. Three questions, one answer each:
 * - `isTransient`: worth sending again, to this member or another (EtcdStore retries these
 *   within a call's budget);
 * - `wasNotApplied`: the failure proves the request was never applied (else a write that gives
 *   up is a StoreOutcomeUnknownError);
 * - `isStoreUnavailable`: the store could not answer now (no quorum, member down, the call's
 *   budget spent). The backend answers UNAVAILABLE, which the web tier may send again to another
 *   backend: a write that failed this way was not applied. One whose outcome is open is a
 *   StoreOutcomeUnknownError instead (DEADLINE_EXCEEDED, never re-sent).
 */

/**
 * A call ran out of its budget (a write's every attempt failed in a way that proves it was not
 * applied), or a compare-and-swap kept losing.
 */
export class StoreTimeoutError extends Error {
  override readonly name = "StoreTimeoutError";
}

/**
 * A write ran out of its budget after an attempt whose outcome is open (a deadline passed, the
 * connection broke, the leader changed under it): it may still be applied, even seconds later (a
 * member frozen with it in its socket buffer applies it when it wakes). EtcdStore's own re-sends
 * carry the same applied-mark (storage/writer.ts), so at most one copy applies. A re-send by
 * another backend would carry another mark, and both copies could apply, the late one after the
 * user's next write (the long chaos run saw a follow come back after an acknowledged unfollow).
 * So the backend answers DEADLINE_EXCEEDED, which the web tier does not re-send: the client is
 * told the outcome is unknown.
 */
export class StoreOutcomeUnknownError extends Error {
  override readonly name = "StoreOutcomeUnknownError";
}

/**
 * Failures that prove the request was never applied: the member's circuit was open (nothing was
 * sent), no connection was made, or etcd refused it before proposing it (no leader known, too
 * far behind).
 */
export function wasNotApplied(err: unknown): boolean {
  return (
    isBrokenCircuitError(err) ||
    isIsolatedCircuitError(err) ||
    (err instanceof Error && NOT_APPLIED_MESSAGE.test(err.message))
  );
}

const NOT_APPLIED_MESSAGE =
  /etcdserver: no leader|etcdserver: too many requests|No connection established|ECONNREFUSED/;

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
