import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import { AccountsServiceService } from "../gen/flock/accounts/v1/accounts.js";
import { GraphServiceService } from "../gen/flock/graph/v1/graph.js";
import { NotificationsServiceService, PostsServiceService } from "../gen/flock/posts/v1/posts.js";
import { newRegistry } from "../shared/metrics.js";
import { createBackendContext, type BackendContext, type BackendContextOptions } from "./context.js";
import { accountsGrpcHandlers } from "./handlers/accounts.js";
import { graphGrpcHandlers } from "./handlers/graph.js";
import { notificationsGrpcHandlers, OpenStreams } from "./handlers/notifications.js";
import { postsGrpcHandlers } from "./handlers/posts.js";
import { GRPC_SERVER_OPTIONS } from "./handlers/unary.js";
import { BackendOps, type BackendOpsOptions } from "./ops/backend-ops.js";
import { BackendMetrics } from "./ops/metrics.js";
import { readModelProbe } from "./ops/store-probe.js";

export interface BackendOptions extends BackendContextOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  log: Logger;
  /** TLS for the gRPC server (GRPC_TLS_*); plain text when omitted. */
  serverCredentials?: ServerCredentials;
  /** Store probe for health, etcd status for /cluster, metrics and their port (see ops/backend-ops.ts). */
  ops?: Omit<BackendOpsOptions, "serviceNames" | "services" | "log" | "metrics" | "probe">;
  /**
   * This backend's metrics; its etcd stores (see stores.ts) report to the same ones. A fresh
   * registry without Node's default metrics when omitted (tests run many backends in one process).
   */
  metrics?: BackendMetrics;
  /** On close, how long running calls may take before they are cancelled. */
  shutdownTimeoutMs?: number;
}

export interface RunningBackend {
  port: number;
  address: string;
  /** Health, metrics and the ops service of this backend. */
  ops: BackendOps;
  /** Stops accepting calls, lets running ones finish (within shutdownTimeoutMs), closes the stores. */
  close(): Promise<void>;
}

/**
 * One backend process: the services of its context (see context.ts) behind a gRPC server,
 * with the health and ops services, per-call metrics and logs.
 */
export async function startBackend(options: BackendOptions): Promise<RunningBackend> {
  const { log } = options;
  const metrics = options.metrics ?? new BackendMetrics(newRegistry(false, "backend"));
  const ctx = createBackendContext(options);
  const streams = new OpenStreams();
  const hosted = grpcServices(ctx, log, streams);
  const ops = new BackendOps({
    ...options.ops,
    probe: readModelProbe(ctx.model.cache),
    metrics,
    serviceNames: hosted.map(([definition]) => serviceNameOf(definition)),
    services: options.services,
    log,
  });

  const server = new Server({ ...GRPC_SERVER_OPTIONS });
  for (const [definition, handlers] of hosted) {
    server.addService(definition, ops.instrument(definition, handlers));
  }
  ops.addTo(server);

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${options.host}:${options.port}`,
      options.serverCredentials ?? ServerCredentials.createInsecure(),
      (err, bound) => (err ? reject(err) : resolve(bound)),
    ),
  );
  // Listening (NOT_SERVING) while the view loads, so health checks and metrics see it.
  await ops.start();
  log.info({ port, services: options.services, metricsPort: ops.metricsPort }, "backend listening");
  await ctx.start();
  await ops.probeNow();

  return {
    port,
    address: `${options.host}:${port}`,
    ops,
    close: async () => {
      // NOT_SERVING first, then GOAWAY: callers move new calls to other backends while the
      // running ones finish here; past the deadline they are cancelled.
      ops.beginShutdown();
      // Live streams would hold the server open to its deadline: they end now, and their
      // callers resume on another backend from the last revision they got.
      streams.endAll();
      await shutdownServer(server, options.shutdownTimeoutMs ?? 8_000);
      await ctx.close();
      await ops.close();
    },
  };
}

/** The gRPC faces of the services this backend hosts. */
function grpcServices(
  ctx: BackendContext,
  log: Logger,
  streams: OpenStreams,
): [ServiceDefinition, UntypedServiceImplementation][] {
  const hosted: [ServiceDefinition, UntypedServiceImplementation][] = [];
  if (ctx.accounts)
    hosted.push([AccountsServiceService, accountsGrpcHandlers(ctx.accounts, ctx.oauth!, log)]);
  if (ctx.graph) hosted.push([GraphServiceService, graphGrpcHandlers(ctx.graph, log)]);
  if (ctx.posts) hosted.push([PostsServiceService, postsGrpcHandlers(ctx.posts, log)]);
  if (ctx.notifications)
    hosted.push([NotificationsServiceService, notificationsGrpcHandlers(ctx.notifications, log, streams)]);
  return hosted;
}

/** "flock.accounts.v1.AccountsService", from the path of any of its methods. */
function serviceNameOf(definition: ServiceDefinition): string {
  const path = Object.values(definition)[0]?.path ?? "";
  return path.slice(1, path.lastIndexOf("/"));
}

/** tryShutdown (running calls finish) within `timeoutMs`, then forceShutdown (they are cancelled). */
function shutdownServer(server: Server, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
