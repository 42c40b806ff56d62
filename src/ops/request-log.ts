import { status, type Metadata } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { REQUEST_ID } from "../grpc/handler.js";

/**
 * Request ids: the web tier's Fastify request id travels as `x-request-id` gRPC metadata
 * (src/grpc/client.ts); backends log it on every call. Only ids shaped like the web's own
 * (UUIDs, or a caller's `x-request-id` of 8–64 letters, digits and dashes) are kept.
 */
const REQUEST_ID_SHAPE = /^[A-Za-z0-9-]{1,64}$/;

export function requestIdOf(metadata: Metadata): string | undefined {
  const value = metadata.get(REQUEST_ID)[0];
  return typeof value === "string" && REQUEST_ID_SHAPE.test(value) ? value : undefined;
}

/** Codes that mean the backend (or its store) failed, as opposed to the caller asking for something wrong. */
const SERVER_SIDE = new Set<number>([
  status.UNKNOWN,
  status.INTERNAL,
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.DATA_LOSS,
  status.UNIMPLEMENTED,
]);

/**
 * One line per gRPC call on the backend, from a child logger carrying the request id: the
 * method, the status and the duration. Nothing from the request or its metadata beyond the
 * id is logged (passwords, tokens and cookies never reach a log line).
 */
export function logCall(
  log: Logger,
  requestId: string | undefined,
  rpc: string,
  code: number,
  codeName: string,
  ms: number,
): void {
  const callLog = log.child({ requestId, rpc });
  const level = SERVER_SIDE.has(code) ? "warn" : "info";
  callLog[level]({ code: codeName, ms: Math.round(ms * 10) / 10 }, "grpc call");
}
