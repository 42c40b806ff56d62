import type { Logger } from "pino";
import { BackendClients } from "../grpc/client.js";
import type { GrpcDial } from "../grpc/tls.js";
import { WebOps, type WebOpsOptions } from "./ops/web-ops.js";

/** What every web handler gets: the backend clients, ops and settings. Nothing about users. */
export interface WebContext {
  backend: BackendClients;
  /** Readiness, metrics and the /cluster view of this replica. */
  ops: WebOps;
  log: Logger;
  /** Mark the session cookie Secure (when served over TLS). */
  cookieSecure: boolean;
  /** The public origin (PUBLIC_URL), "" to take it from each request. */
  publicUrl: string;
}

export interface WebContextOptions extends Omit<WebOpsOptions, "dial" | "log"> {
  grpcTimeoutMs: number;
  /** How to dial backends (TLS); plain text when omitted. */
  dial?: GrpcDial;
  log: Logger;
  cookieSecure: boolean;
  publicUrl?: string;
}

/**
 * A web replica's composition root: its ops (probes and metrics) first, then the backend
 * clients reporting every call to those metrics. The caller closes `backend` after the app.
 */
export function createWebContext(options: WebContextOptions): WebContext {
  const ops = new WebOps(options);
  const backend = new BackendClients(
    options.backendAddrs,
    options.grpcTimeoutMs,
    options.dial,
    ops.metrics.grpc.observe,
  );
  return {
    backend,
    ops,
    log: options.log,
    cookieSecure: options.cookieSecure,
    publicUrl: options.publicUrl ?? "",
  };
}
