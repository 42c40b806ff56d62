import { Server, ServerCredentials } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { ServiceName } from "../config.js";
import { AccountsServiceService } from "../gen/flock/accounts/v1/accounts.js";
import { GraphServiceService } from "../gen/flock/graph/v1/graph.js";
import { PostsServiceService } from "../gen/flock/posts/v1/posts.js";
import { BackendClients } from "../grpc/client.js";
import { remoteAccountDirectory, remoteAuthenticator, remoteFeedSync, remoteFollowGraph } from "../grpc/remote-deps.js";
import { accountsGrpcHandlers } from "./accounts/grpc.js";
import { AccountsService, DEFAULT_ACCOUNTS_OPTIONS, type AccountsOptions } from "./accounts/service.js";
import { graphGrpcHandlers } from "./graph/grpc.js";
import { GraphService } from "./graph/service.js";
import { postsGrpcHandlers } from "./posts/grpc.js";
import { DEFAULT_POSTS_OPTIONS, PostsService, type PostsOptions } from "./posts/service.js";
import type { StoreFactory } from "./stores.js";

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
}

export interface RunningBackend {
  port: number;
  address: string;
  /** Stops accepting calls, lets running ones finish, closes the stores. */
  close(): Promise<void>;
}

/**
 * One backend process: the services it hosts, each on its own store, wired to each
 * other in process and to peers over gRPC for the services it does not host.
 */
export async function startBackend(options: BackendOptions): Promise<RunningBackend> {
  const { log, services, stores } = options;
  const hosts = (name: ServiceName) => services.includes(name);
  const peers = services.length < 3 ? new BackendClients(options.peerAddrs, options.grpcTimeoutMs) : undefined;
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
        { auth, graph: graph ?? remoteFollowGraph(peer()) },
        { ...DEFAULT_POSTS_OPTIONS, ...options.posts },
      )
    : undefined;
  if (graph) graph.deps.feed = posts ?? remoteFeedSync(peer());

  const server = new Server({ "grpc.max_receive_message_length": 1024 * 1024 });
  if (accounts) server.addService(AccountsServiceService, accountsGrpcHandlers(accounts, log));
  if (graph) server.addService(GraphServiceService, graphGrpcHandlers(graph, log));
  if (posts) server.addService(PostsServiceService, postsGrpcHandlers(posts, log));

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${options.host}:${options.port}`, ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  log.info({ port, services }, "backend listening");

  return {
    port,
    address: `${options.host}:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      peers?.close();
      await Promise.all([accountsStore?.close(), graphStore?.close(), postsStore?.close()]);
    },
  };
}
