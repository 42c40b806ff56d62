import type { Metadata } from "@grpc/grpc-js";

/**
 * The gRPC metadata web and backend agree on: the caller's session token and the web's
 * request id. The web tier sets them (src/grpc/client.ts); backends read them.
 */

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
 * Request ids: the web tier's Fastify request id travels as `x-request-id`; backends log it on
 * every call. Only ids shaped like the web's own (UUIDs, or a caller's `x-request-id` of 8–64
 * letters, digits and dashes) are kept.
 */
const REQUEST_ID_SHAPE = /^[A-Za-z0-9-]{1,64}$/;

export function requestIdOf(metadata: Metadata): string | undefined {
  const value = metadata.get(REQUEST_ID)[0];
  return typeof value === "string" && REQUEST_ID_SHAPE.test(value) ? value : undefined;
}
