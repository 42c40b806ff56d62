import type { Logger } from "pino";
import { BackendClients } from "../grpc/client.js";
import type { GrpcDial } from "../grpc/tls.js";
import {
  AccountsService,
  DEFAULT_ACCOUNTS_OPTIONS,
  type AccountsOptions,
} from "../services/accounts/service.js";
import type { AccountsStorage } from "../services/accounts/storage.js";
import type { FeedSync, FollowGraph } from "../services/deps.js";
import { StoredFollowGraph } from "../services/graph/follow-graph.js";
import { GraphService } from "../services/graph/service.js";
import type { GraphStorage } from "../services/graph/storage.js";
import { DEFAULT_POSTS_OPTIONS, PostsService, type PostsOptions } from "../services/posts/service.js";
import type { PostsStorage } from "../services/posts/storage.js";
import type { ServiceName } from "../shared/config.js";
import type { CallObserver } from "../grpc/client.js";
import { remoteAccountDirectory, remoteAuthenticator, remoteFeedSync, remoteFollowGraph } from "./peers.js";
import type { StoreFactory } from "./stores.js";

export interface BackendContextOptions {
  services: readonly ServiceName[];
  stores: StoreFactory;
  /** Other backends, for the services this one does not host. */
  peerAddrs: readonly string[];
  grpcTimeoutMs: number;
  /** How this backend dials peers (TLS); plain text when omitted. */
  peerDial?: GrpcDial;
  /** Told about every call to a peer (the backend's metrics). */
  observePeerCalls?: CallObserver;
  accounts?: Partial<AccountsOptions>;
  posts?: Partial<PostsOptions>;
  log: Logger;
}

/**
 * Everything one backend process serves with, built in one place (its composition root): the
 * services it hosts, each on its own store, wired to each other in process and to peers over
 * gRPC for the services it does not host. Nothing is patched after construction.
 */
export interface BackendContext {
  accounts?: AccountsService;
  graph?: GraphService;
  posts?: PostsService;
  /** The gRPC clients of the other backends, when this one does not host every service. */
  peers?: BackendClients;
  /** Stops background work and closes the stores and the peers' channel. */
  close(): Promise<void>;
}

export function createBackendContext(options: BackendContextOptions): BackendContext {
  const { log, services, stores } = options;
  const hosts = (name: ServiceName) => services.includes(name);
  const peers =
    services.length < 3
      ? new BackendClients(
          options.peerAddrs,
          options.grpcTimeoutMs,
          options.peerDial,
          options.observePeerCalls,
        )
      : undefined;
  const peer = () => {
    if (!peers) throw new Error("no peers configured");
    return peers;
  };

  const accountsStore: AccountsStorage | undefined = hosts("accounts") ? stores.accounts() : undefined;
  const graphStore: GraphStorage | undefined = hosts("graph") ? stores.graph() : undefined;
  const postsStore: PostsStorage | undefined = hosts("posts") ? stores.posts() : undefined;

  const accounts = accountsStore
    ? new AccountsService(accountsStore, { ...DEFAULT_ACCOUNTS_OPTIONS, ...options.accounts })
    : undefined;
  const auth = accounts ?? remoteAuthenticator(peer());
  // Graph and posts need each other; see StoredFollowGraph for how the cycle is cut: the
  // graph's reads first, then posts on them, then the graph's writes syncing the feeds of posts.
  const followGraph: FollowGraph = graphStore ? new StoredFollowGraph(graphStore) : remoteFollowGraph(peer());
  const posts = postsStore
    ? new PostsService(
        postsStore,
        {
          auth,
          graph: followGraph,
          onDeliveryError: (entry, err) =>
            log.warn({ postId: entry.id, err: String(err) }, "delivery failed; the sweeper will retry"),
        },
        { ...DEFAULT_POSTS_OPTIONS, ...options.posts },
      )
    : undefined;
  const feed: FeedSync | undefined = graphStore ? (posts ?? remoteFeedSync(peer())) : undefined;
  const graph =
    graphStore && feed
      ? new GraphService(graphStore, { auth, accounts: accounts ?? remoteAccountDirectory(peer()), feed })
      : undefined;
  posts?.delivery.startSweeper();

  return {
    accounts,
    graph,
    posts,
    peers,
    close: async () => {
      // Deliveries still running finish here (or, past the process's stop deadline, are
      // left to another backend's sweeper: their posts stay noted as undelivered).
      posts?.delivery.stopSweeper();
      await posts?.delivery.settled();
      peers?.close();
      await Promise.all([accountsStore?.close(), graphStore?.close(), postsStore?.close()]);
    },
  };
}
