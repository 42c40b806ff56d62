import { status } from "@grpc/grpc-js";
import type { Logger } from "pino";

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
  const level = SERVER_SIDE.has(code) ? "warn" : "info";
  // Every call passes here: build nothing when the line would not be written anyway.
  if (!log.isLevelEnabled(level)) return;
  log.child({ requestId, rpc })[level]({ code: codeName, ms: Math.round(ms * 10) / 10 }, "grpc call");
}
