import { status } from "@grpc/grpc-js";

/**
 * The one error type service logic throws on purpose. `code` is a gRPC status so the
 * same value travels unchanged from storage through gRPC to the web tier, which maps
 * it to an HTTP status.
 */
export class FlockError extends Error {
  constructor(
    readonly code: status,
    message: string,
    /** Seconds to wait before retrying, for RESOURCE_EXHAUSTED. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "FlockError";
  }
}

export const invalid = (message: string) => new FlockError(status.INVALID_ARGUMENT, message);
export const notFound = (message: string) => new FlockError(status.NOT_FOUND, message);
export const alreadyExists = (message: string) => new FlockError(status.ALREADY_EXISTS, message);
export const permissionDenied = (message: string) => new FlockError(status.PERMISSION_DENIED, message);
export const unauthenticated = (message = "a valid session is required") =>
  new FlockError(status.UNAUTHENTICATED, message);
export const tooManyRequests = (message: string, retryAfterSeconds: number) =>
  new FlockError(status.RESOURCE_EXHAUSTED, message, retryAfterSeconds);

/**
 * What a write is answered while etcd is out of space (its NOSPACE alarm). Unlike other 503s,
 * the web tier passes these words on: the client should know that retrying soon will not help.
 */
export const STORAGE_FULL_MESSAGE =
  "storage is full: writes are refused until an operator frees space; reads still work";
