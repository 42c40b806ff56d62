import { Metadata, status, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { FlockError } from "../shared/errors.js";
import { isStoreUnavailable } from "../shared/store-errors.js";

/** Metadata key carrying the session token, as `Bearer <token>`. */
export const AUTHORIZATION = "authorization";
/** Metadata key carrying the web tier's request id into backend logs. */
export const REQUEST_ID = "x-request-id";

/** The session token a call carries, or "" when it carries none. */
export function bearerToken(metadata: Metadata): string {
  const value = metadata.get(AUTHORIZATION)[0];
  if (typeof value !== "string" || !value.startsWith("Bearer ")) return "";
  return value.slice("Bearer ".length).trim();
}

/**
 * Wraps an async handler as a grpc-js unary handler: FlockErrors keep their status and
 * message, a store without quorum is UNAVAILABLE, anything else is logged and INTERNAL
 * (its details never leave the process).
 */
export function unary<Req, Res>(
  log: Logger,
  method: string,
  handle: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    handle(call.request, call).then(
      (response) => callback(null, response),
      (err: unknown) => {
        const requestId = call.metadata.get(REQUEST_ID)[0];
        if (err instanceof FlockError) {
          const trailer = new Metadata();
          if (err.retryAfterSeconds !== undefined) trailer.set("retry-after", String(err.retryAfterSeconds));
          callback({ code: err.code, details: err.message, metadata: trailer });
        } else if (isStoreUnavailable(err)) {
          log.warn({ method, requestId, err: String(err) }, "store unavailable");
          callback({ code: status.UNAVAILABLE, details: "the store is unavailable, try again" });
        } else {
          log.error({ method, requestId, err }, "unexpected error");
          callback({ code: status.INTERNAL, details: "internal error" });
        }
      },
    );
  };
}
