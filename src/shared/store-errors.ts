/**
 * Recognises errors meaning "the store could not answer now" (no quorum, member down,
 * deadline passed). They become UNAVAILABLE: the outcome of a write that failed this
 * way is unknown, so every write in Flock is idempotent and safe to retry.
 */
const UNAVAILABLE_NAMES = new Set([
  "GRPCUnavailableError",
  "GRPCDeadlineExceededError",
  "GRPCConnectFailedError",
  "GRPCCancelledError",
  "BrokenCircuitError",
  "IsolatedCircuitError",
  "TaskCancelledError",
  "EtcdLeaderChangedError",
  "GRPCInternalError",
  "StoreTimeoutError",
]);

export class StoreTimeoutError extends Error {
  override readonly name = "StoreTimeoutError";
}

export function isStoreUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (UNAVAILABLE_NAMES.has(err.name) || UNAVAILABLE_NAMES.has(err.constructor.name)) return true;
  return /no leader|leader changed|timed out|too many requests|etcdserver: request timed out/i.test(
    err.message,
  );
}
