import { Metadata, status, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { requestIdOf } from "../../grpc/metadata.js";
import { FlockError, STORAGE_FULL_MESSAGE } from "../../shared/errors.js";
import { isStorageFull, isStoreUnavailable, StoreOutcomeUnknownError } from "../../storage/etcd/errors.js";
import { ViewNotReadyError } from "../../storage/watch-cache.js";

/** The longest a call without a deadline of its own may run before it is answered DEADLINE_EXCEEDED. */
export const MAX_CALL_MS = 30_000;

/**
 * Limits for a backend's gRPC server (pass to `new Server(...)`): messages are small (a post
 * is 280 characters, a page 100 posts), so anything near these is hostile or a bug.
 */
export const GRPC_SERVER_OPTIONS = {
  "grpc.max_receive_message_length": 1024 * 1024,
  "grpc.max_send_message_length": 4 * 1024 * 1024,
  // A web replica relays every live stream of its clients over one connection per backend (a
  // channel of its own, beside the one for unary calls): thousands at once are normal.
  "grpc.max_concurrent_streams": 100_000,
  // Idle connections are closed, and every connection is recycled now and then, so a
  // misbehaving client cannot hold one forever (and DNS/load balancing gets to rebalance).
  "grpc.max_connection_idle_ms": 5 * 60_000,
  "grpc.max_connection_age_ms": 30 * 60_000,
  "grpc.max_connection_age_grace_ms": 60_000,
} as const;

function hasDeadline(call: ServerUnaryCall<unknown, unknown>): boolean {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms);
}

/**
 * Wraps an async handler as a grpc-js unary handler: FlockErrors keep their status and
 * message, a store without quorum is UNAVAILABLE, a store out of space is UNAVAILABLE saying
 * so, anything else is logged and INTERNAL
 * (its details never leave the process).
 */
export function unary<Req, Res>(
  log: Logger,
  method: string,
  handle: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    // A caller that already gave up (deadline passed while queued, or cancelled) gets nothing done.
    if (call.cancelled) return;
    // A caller that set no deadline (only a rogue one: the web tier always sets one) still gets
    // an answer in bounded time.
    let answered = false;
    const timer = hasDeadline(call)
      ? undefined
      : setTimeout(() => {
          answered = true;
          callback({ code: status.DEADLINE_EXCEEDED, details: "the call took too long" });
        }, MAX_CALL_MS);
    timer?.unref();
    const reply: sendUnaryData<Res> = (error, value) => {
      clearTimeout(timer);
      if (answered) return;
      answered = true;
      callback(error, value);
    };
    handle(call.request, call).then(
      (response) => reply(null, response),
      (err: unknown) => reply(grpcErrorOf(err, log, method, requestIdOf(call.metadata))),
    );
  };
}

/**
 * The status a failed call answers with: a FlockError keeps its code and message (and a
 * retry-after trailer), a store that cannot answer is UNAVAILABLE with a fixed message (the
 * detail goes to the log with the request id), anything else is logged and INTERNAL.
 */
export function grpcErrorOf(err: unknown, log: Logger, method: string, requestId: string | undefined) {
  if (err instanceof FlockError) {
    const trailer = new Metadata();
    if (err.retryAfterSeconds !== undefined) trailer.set("retry-after", String(err.retryAfterSeconds));
    return { code: err.code, details: err.message, metadata: trailer };
  }
  if (isStorageFull(err)) {
    log.warn({ method, requestId, err: String(err) }, "store is out of space");
    return { code: status.UNAVAILABLE, details: STORAGE_FULL_MESSAGE };
  }
  if (err instanceof StoreOutcomeUnknownError) {
    // Not UNAVAILABLE: the web tier re-sends those to another backend, and this write may still
    // be applied (gRPC: "may be returned even if the operation has completed successfully").
    log.warn({ method, requestId, err: String(err) }, "store write outcome unknown");
    return { code: status.DEADLINE_EXCEEDED, details: "the store may or may not have applied this write" };
  }
  if (isStoreUnavailable(err) || err instanceof ViewNotReadyError) {
    log.warn({ method, requestId, err: String(err) }, "store unavailable");
    return { code: status.UNAVAILABLE, details: "the store is unavailable, try again" };
  }
  log.error({ method, requestId, err }, "unexpected error");
  return { code: status.INTERNAL, details: "internal error" };
}
