import type { FlockConfig } from "../shared/config.js";
import type { AccountsStorage } from "../services/accounts/storage.js";
import type { GraphStorage } from "../services/graph/storage.js";
import type { PostsStorage } from "../services/posts/storage.js";
import { MemoryAccountsStorage } from "../services/accounts/storage/memory.js";
import { MemoryGraphStorage } from "../services/graph/storage/memory.js";
import { MemoryPostsStorage } from "../services/posts/storage/memory.js";
import { EtcdAccountsStorage } from "../services/accounts/storage/etcd.js";
import { EtcdGraphStorage } from "../services/graph/storage/etcd.js";
import { EtcdPostsStorage } from "../services/posts/storage/etcd.js";
import type { EtcdCallObserver, EtcdStorageOptions } from "../storage/etcd/client.js";
import { etcdCredentials } from "../storage/etcd/tls.js";

/** Opens each service's own store; a backend opens only those of the services it hosts. */
export interface StoreFactory {
  accounts(): AccountsStorage;
  graph(): GraphStorage;
  posts(): PostsStorage;
}

/** The stores a backend process opens, as its configuration says; etcd calls report to `observer`. */
export function storesFor(config: FlockConfig, observer?: EtcdCallObserver): StoreFactory {
  if (config.storage === "memory") return memoryStores();
  return etcdStores({
    endpoints: config.etcdEndpoints,
    prefix: config.etcdPrefix,
    timeoutMs: config.etcdTimeoutMs,
    credentials: etcdCredentials(config.etcdTls),
    observer,
  });
}

export function memoryStores(): StoreFactory {
  return {
    accounts: () => new MemoryAccountsStorage(),
    graph: () => new MemoryGraphStorage(),
    posts: () => new MemoryPostsStorage(),
  };
}

/** Each call opens a new etcd client: every service owns its connection (and its retry budget). */
export function etcdStores(options: EtcdStorageOptions): StoreFactory {
  return {
    accounts: () => new EtcdAccountsStorage(options),
    graph: () => new EtcdGraphStorage(options),
    posts: () => new EtcdPostsStorage(options),
  };
}
