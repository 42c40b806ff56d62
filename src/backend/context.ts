import type { Logger } from "pino";
import type { AccountsOptions } from "../services/accounts/service.js";
import type { OAuthService } from "../services/accounts/oauth.js";
import type { AccountsService } from "../services/accounts/service.js";
import type { GraphService } from "../services/graph/service.js";
import type { NotificationsService } from "../services/posts/notifications.js";
import type { PostsService } from "../services/posts/service.js";
import type { PostsViewOptions } from "../services/posts/view.js";
import { createServices, type ReadModel } from "../services/services.js";
import type { ServiceName } from "../shared/config.js";
import type { Kv } from "../storage/kv.js";
import { migrateV1 } from "./migrate-v1.js";
import type { StoreFactory } from "./stores.js";

export interface BackendContextOptions {
  services: readonly ServiceName[];
  stores: StoreFactory;
  /** ETCD_PREFIX: every key starts with it. */
  prefix: string;
  accounts?: Partial<AccountsOptions>;
  posts?: Partial<PostsViewOptions>;
  /** Longest a read waits for the view to catch up (then UNAVAILABLE). */
  maxViewWaitMs?: number;
  log: Logger;
}

/**
 * Everything one backend process serves with, built in one place (its composition root): the
 * read model every service reads (one watch, whatever the backend hosts), and the services it
 * hosts, each writing its facts through its own store client. Nothing is patched after
 * construction.
 */
export interface BackendContext {
  accounts?: AccountsService;
  /** Hosted with accounts: OAuth apps, codes and tokens live beside sessions. */
  oauth?: OAuthService;
  graph?: GraphService;
  posts?: PostsService;
  /** Hosted with posts: notifications and live streams derive from the same facts. */
  notifications?: NotificationsService;
  model: ReadModel;
  /** Upgrades a v1 layout if one is found, then loads the view; resolves once it serves reads. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createBackendContext(options: BackendContextOptions): BackendContext {
  const { services, stores, log } = options;
  const hosts = (name: ServiceName) => services.includes(name);
  const opened: Kv[] = [];
  const open = (name: ServiceName | "reader") => {
    const kv = stores.open(name);
    opened.push(kv);
    return kv;
  };
  const reader = open("reader");
  const all = createServices(
    {
      accounts: hosts("accounts") ? open("accounts") : notHosted("accounts"),
      graph: hosts("graph") ? open("graph") : notHosted("graph"),
      posts: hosts("posts") ? open("posts") : notHosted("posts"),
      reader,
    },
    {
      prefix: options.prefix,
      accounts: options.accounts,
      posts: options.posts,
      cache: { log, ...(options.maxViewWaitMs ? { maxWaitMs: options.maxViewWaitMs } : {}) },
    },
  );
  return {
    accounts: hosts("accounts") ? all.accounts : undefined,
    oauth: hosts("accounts") ? all.oauth : undefined,
    graph: hosts("graph") ? all.graph : undefined,
    posts: hosts("posts") ? all.posts : undefined,
    notifications: hosts("posts") ? all.notifications : undefined,
    model: all.model,
    start: async () => {
      await migrateV1(reader, options.prefix, log);
      await all.model.cache.start();
    },
    close: async () => {
      await all.close();
      await Promise.all([...new Set(opened)].map((kv) => kv.close()));
    },
  };
}

/**
 * The store of a service this backend does not host: the service's logic still runs here
 * for reads of the shared view (authentication, for one), but it never writes.
 */
function notHosted(name: ServiceName): Kv {
  const refuse = () => Promise.reject(new Error(`this backend does not host the ${name} service`));
  return {
    range: refuse,
    txn: refuse,
    grantLease: refuse,
    revokeLease: refuse,
    compact: refuse,
    watch: () => {
      throw new Error(`this backend does not host the ${name} service`);
    },
    close: async () => undefined,
  };
}
