import { status } from "@grpc/grpc-js";
import { FlockError, STORAGE_FULL_MESSAGE } from "../shared/errors.js";

export interface HttpError {
  statusCode: number;
  code: string;
  message: string;
  retryAfterSeconds?: number;
  /** What the backend said, for the log only: never sent to the client. */
  detail?: string;
}

/** What a client reads when the backend or the store cannot answer now (never the reason). */
export const UNAVAILABLE_MESSAGE = "Flock is busy right now, please try again in a moment";
/** How soon a client may try again after a 503. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

const BY_GRPC_STATUS: Partial<Record<status, { statusCode: number; code: string }>> = {
  [status.INVALID_ARGUMENT]: { statusCode: 400, code: "invalid_argument" },
  [status.FAILED_PRECONDITION]: { statusCode: 400, code: "failed_precondition" },
  [status.OUT_OF_RANGE]: { statusCode: 400, code: "invalid_argument" },
  [status.UNAUTHENTICATED]: { statusCode: 401, code: "unauthenticated" },
  [status.PERMISSION_DENIED]: { statusCode: 403, code: "forbidden" },
  [status.NOT_FOUND]: { statusCode: 404, code: "not_found" },
  [status.ALREADY_EXISTS]: { statusCode: 409, code: "already_exists" },
  [status.RESOURCE_EXHAUSTED]: { statusCode: 429, code: "rate_limited" },
  [status.UNAVAILABLE]: { statusCode: 503, code: "unavailable" },
  [status.DEADLINE_EXCEEDED]: { statusCode: 503, code: "unavailable" },
  [status.CANCELLED]: { statusCode: 503, code: "unavailable" },
};

/** Fastify's own errors (body parsing, limits) by their code. */
const BY_FASTIFY_CODE: Record<string, { statusCode: number; code: string; message?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    statusCode: 413,
    code: "payload_too_large",
    message: "request body is too large",
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { statusCode: 415, code: "unsupported_media_type" },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    statusCode: 400,
    code: "invalid_argument",
    message: "bad content length",
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: { statusCode: 400, code: "invalid_argument", message: "JSON body is empty" },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    statusCode: 400,
    code: "invalid_argument",
    message: "JSON body is malformed",
  },
  FST_ERR_BAD_URL: { statusCode: 400, code: "invalid_argument", message: "the URL is malformed" },
  FST_ERR_MAX_PARAM_LENGTH: { statusCode: 414, code: "uri_too_long", message: "a path segment is too long" },
  FST_CSRF_INVALID_TOKEN: { statusCode: 403, code: "csrf", message: "the form expired, please try again" },
  FST_CSRF_MISSING_SECRET: { statusCode: 403, code: "csrf", message: "the form expired, please try again" },
};

/** Maps any error a handler threw to the HTTP answer; unknown errors are 500 and logged by the caller. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof FlockError) {
    const mapped = BY_GRPC_STATUS[err.code] ?? { statusCode: 500, code: "internal" };
    if (mapped.statusCode === 503) {
      // A deadline or an unreachable backend: grpc-js's words name addresses and timings. A
      // full store is the one 503 whose reason the client is told (trying again soon won't help).
      return {
        ...mapped,
        message: err.message === STORAGE_FULL_MESSAGE ? STORAGE_FULL_MESSAGE : UNAVAILABLE_MESSAGE,
        retryAfterSeconds: err.retryAfterSeconds ?? UNAVAILABLE_RETRY_AFTER_SECONDS,
        detail: err.message,
      };
    }
    const message = mapped.statusCode === 500 ? "internal error" : err.message;
    return { ...mapped, message, retryAfterSeconds: err.retryAfterSeconds };
  }
  const e = err as { code?: string; statusCode?: number; message?: string; validation?: unknown };
  const known = e.code ? BY_FASTIFY_CODE[e.code] : undefined;
  if (known)
    return { statusCode: known.statusCode, code: known.code, message: known.message ?? String(e.message) };
  if (e.validation) return { statusCode: 400, code: "invalid_argument", message: String(e.message) };
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    return { statusCode: e.statusCode, code: "bad_request", message: String(e.message ?? "bad request") };
  }
  return { statusCode: 500, code: "internal", message: "internal error" };
}
