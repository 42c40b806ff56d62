import type { Clock } from "../shared/clock.js";
import { systemClock } from "../shared/clock.js";
import type { Kv } from "../storage/kv.js";
import { Keys } from "../storage/keys.js";
import { LeaseBuckets } from "../storage/lease-buckets.js";
import { WatchCache, type WatchCacheOptions } from "../storage/watch-cache.js";
import { FactWriter } from "../storage/writer.js";
import { AccountsFacts } from "./accounts/facts.js";
import { CODE_TTL_SECONDS, OAuthService } from "./accounts/oauth.js";
import { AccountsService, DEFAULT_ACCOUNTS_OPTIONS, type AccountsOptions } from "./accounts/service.js";
import { AccountsView } from "./accounts/view.js";
import { GraphFacts } from "./graph/facts.js";
import { GraphService } from "./graph/service.js";
import { GraphView } from "./graph/view.js";
import { PostsFacts } from "./posts/facts.js";
import { LiveEvents } from "./posts/live.js";
import { NotificationsService } from "./posts/notifications.js";
import { NotificationsView } from "./posts/notifications-view.js";
import { PostPresenter } from "./posts/present.js";
import { PostsService } from "./posts/service.js";
import { PostsView, type PostsViewOptions } from "./posts/view.js";

/** One store client per service, each with its own identity (etcd role) in production. */
export interface ServiceStores {
  accounts: Kv;
  graph: Kv;
  posts: Kv;
  /** The client the read model watches and reads its barriers with. */
  reader: Kv;
}

export interface ServicesOptions {
  /** ETCD_PREFIX: every key starts with it. */
  prefix: string;
  accounts?: Partial<AccountsOptions>;
  posts?: Partial<PostsViewOptions>;
  cache?: Pick<WatchCacheOptions, "pageSize" | "loadConcurrency" | "maxWaitMs" | "stallMs" | "log">;
  clock?: Clock;
}

/** The views every backend holds, fed by one watch. */
export interface ReadModel {
  cache: WatchCache;
  accounts: AccountsView;
  graph: GraphView;
  posts: PostsView;
  notifications: NotificationsView;
  /** The live streams this backend holds. */
  live: LiveEvents;
}

export interface Services {
  accounts: AccountsService;
  /** OAuth apps, codes and tokens (the Mastodon client API), hosted with accounts. */
  oauth: OAuthService;
  graph: GraphService;
  posts: PostsService;
  notifications: NotificationsService;
  model: ReadModel;
  close(): Promise<void>;
}

export const DEFAULT_TEXT_BUDGET_BYTES = 256 * 1024 * 1024;
/** Sessions and idempotency keys share one lease per bucket of this length. */
const SESSION_BUCKET_SECONDS = 3600;
const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
/** Authorization codes share one lease per minute. */
const CODE_BUCKET_SECONDS = 60;

/**
 * The three services over one read model, wired in one place: each writes its own facts
 * through its own store client, and all read the views this backend derives from one watch.
 * Call `model.cache.start()` before serving.
 */
export function createServices(stores: ServiceStores, options: ServicesOptions): Services {
  const keys = new Keys(options.prefix);
  const clock = options.clock ?? systemClock;
  const accountsOptions = { ...DEFAULT_ACCOUNTS_OPTIONS, ...options.accounts };

  const accountsView = new AccountsView(keys);
  const graphView = new GraphView(keys);
  const postsView = new PostsView(keys, graphView, {
    textBudgetBytes: DEFAULT_TEXT_BUDGET_BYTES,
    ...options.posts,
  });
  const notificationsView = new NotificationsView(keys, postsView, graphView);
  const cache = new WatchCache(stores.reader, {
    watched: keys.watched,
    loadRanges: keys.loadRanges,
    barrier: keys.ticks,
    // In this order: each may read the ones before it while applying the same change.
    projections: [accountsView, graphView, postsView, notificationsView],
    ...options.cache,
  });

  const now = () => clock.now();
  const accountsFacts = new AccountsFacts(
    new FactWriter(stores.accounts, keys, "a"),
    keys,
    new LeaseBuckets(stores.accounts, accountsOptions.sessionTtlSeconds, SESSION_BUCKET_SECONDS, now),
    new LeaseBuckets(stores.accounts, CODE_TTL_SECONDS, CODE_BUCKET_SECONDS, now),
  );
  const accounts = new AccountsService(accountsFacts, accountsView, cache, keys, accountsOptions, clock);
  const oauth = new OAuthService(accountsFacts, accountsView, cache, keys, accounts, clock);
  const graph = new GraphService(
    new GraphFacts(new FactWriter(stores.graph, keys, "g"), keys),
    graphView,
    accountsView,
    cache,
    accounts,
    clock,
  );
  const postsFacts = new PostsFacts(
    new FactWriter(stores.posts, keys, "p"),
    keys,
    new LeaseBuckets(stores.posts, IDEMPOTENCY_TTL_SECONDS, SESSION_BUCKET_SECONDS, now),
  );
  const present = new PostPresenter(postsView, accountsView, postsFacts);
  const posts = new PostsService(
    postsFacts,
    postsView,
    graphView,
    accountsView,
    present,
    cache,
    accounts,
    keys,
    clock,
  );
  const live = new LiveEvents(cache, keys, postsView, graphView, notificationsView, {
    item: async (entry, viewer) => (await present.items([entry], viewer))[0]!,
    notification: async (entry, viewer) => (await present.notifications([entry], viewer))[0]!,
  });
  const notifications = new NotificationsService(
    postsFacts,
    notificationsView,
    present,
    live,
    cache,
    accounts,
    keys,
  );
  return {
    accounts,
    oauth,
    graph,
    posts,
    notifications,
    model: {
      cache,
      accounts: accountsView,
      graph: graphView,
      posts: postsView,
      notifications: notificationsView,
      live,
    },
    close: () => cache.close(),
  };
}
