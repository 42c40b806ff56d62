import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { ServiceName } from "../config.js";
import { AccountsServiceService } from "../gen/flock/accounts/v1/accounts.js";
import { GraphServiceService } from "../gen/flock/graph/v1/graph.js";
import { PostsServiceService } from "../gen/flock/posts/v1/posts.js";
import { BackendClients } from "../grpc/client.js";
import { GRPC_SERVER_OPTIONS } from "../grpc/handler.js";
import {
  remoteAccountDirectory,
  remoteAuthenticator,
  remoteFeedSync,
  remoteFollowGraph,
} from "../grpc/remote-deps.js";
import { accountsGrpcHandlers } from "./accounts/grpc.js";
import { AccountsService, DEFAULT_ACCOUNTS_OPTIONS, type AccountsOptions } from "./accounts/service.js";
import { graphGrpcHandlers } from "./graph/grpc.js";
import { GraphService } from "./graph/service.js";
import { postsGrpcHandlers } from "./posts/grpc.js";
import { DEFAULT_POSTS_OPTIONS, PostsService, type PostsOptions } from "./posts/service.js";
import type { StoreFactory } from "./stores.js";
import { BackendOps, type BackendOpsOptions } from "../ops/backend-ops.js";
import type { GrpcDial } from "../ops/tls.js";

export interface BackendOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  services: readonly ServiceName[];
  stores: StoreFactory;
  /** Other backends, for the services this one does not host. */
  peerAddrs: readonly string[];
  grpcTimeoutMs: number;
  accounts?: Partial<AccountsOptions>;
  posts?: Partial<PostsOptions>;
  log: Logger;
  /** TLS for the gRPC server (GRPC_TLS_*); plain text when omitted. */
  serverCredentials?: ServerCredentials;
  /** How this backend dials peers (TLS); plain text when omitted. */
  peerDial?: GrpcDial;
  /** Store probe for health, etcd status for /cluster, metrics port (see src/ops/backend-ops.ts). */
  ops?: Omit<BackendOpsOptions, "serviceNames" | "services" | "log">;
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
 * One backend process: the services it hosts, each on its own store, wired to each
 * other in process and to peers over gRPC for the services it does not host.
 */
export async function startBackend(options: BackendOptions): Promise<RunningBackend> {
  const { log, services, stores } = options;
  const hosts = (name: ServiceName) => services.includes(name);
  const peers =
    services.length < 3
      ? new BackendClients(options.peerAddrs, options.grpcTimeoutMs, options.peerDial)
      : undefined;
  const peer = () => {
    if (!peers) throw new Error("no peers configured");
    return peers;
  };

  const accountsStore = hosts("accounts") ? stores.accounts() : undefined;
  const graphStore = hosts("graph") ? stores.graph() : undefined;
  const postsStore = hosts("posts") ? stores.posts() : undefined;

  const accounts = accountsStore
    ? new AccountsService(accountsStore, { ...DEFAULT_ACCOUNTS_OPTIONS, ...options.accounts })
    : undefined;
  const auth = accounts ?? remoteAuthenticator(peer());
  const graph = graphStore
    ? new GraphService(graphStore, { auth, accounts: accounts ?? remoteAccountDirectory(peer()) })
    : undefined;
  const posts = postsStore
    ? new PostsService(
        postsStore,
        {
          auth,
          graph: graph ?? remoteFollowGraph(peer()),
          onDeliveryError: (entry, err) =>
            log.warn({ postId: entry.id, err: String(err) }, "delivery failed; the sweeper will retry"),
        },
        { ...DEFAULT_POSTS_OPTIONS, ...options.posts },
      )
    : undefined;
  posts?.delivery.startSweeper();
  if (graph) graph.deps.feed = posts ?? remoteFeedSync(peer());

  const hosted: [ServiceDefinition, UntypedServiceImplementation][] = [];
  if (accounts) hosted.push([AccountsServiceService, accountsGrpcHandlers(accounts, log)]);
  if (graph) hosted.push([GraphServiceService, graphGrpcHandlers(graph, log)]);
  if (posts) hosted.push([PostsServiceService, postsGrpcHandlers(posts, log)]);
  const ops = new BackendOps({
    ...options.ops,
    serviceNames: hosted.map(([definition]) => serviceNameOf(definition)),
    services,
    log,
  });
  if (peers) peers.observe = ops.metrics.grpcClient.observe;

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
  await ops.start();
  log.info({ port, services, metricsPort: ops.metricsPort }, "backend listening");

  return {
    port,
    address: `${options.host}:${port}`,
    ops,
    close: async () => {
      // NOT_SERVING first, then GOAWAY: callers move new calls to other backends while the
      // running ones finish here; past the deadline they are cancelled.
      ops.beginShutdown();
      await shutdownServer(server, options.shutdownTimeoutMs ?? 8_000);
      // Deliveries still running finish here (or, past the process's stop deadline, are
      // left to another backend's sweeper: their posts stay noted as undelivered).
      posts?.delivery.stopSweeper();
      await posts?.delivery.settled();
      peers?.close();
      await Promise.all([accountsStore?.close(), graphStore?.close(), postsStore?.close()]);
      await ops.close();
    },
  };
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
