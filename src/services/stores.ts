import type { AccountsStorage } from "./accounts/storage.js";
import type { GraphStorage } from "./graph/storage.js";
import type { PostsStorage } from "./posts/storage.js";
import { MemoryAccountsStorage } from "./accounts/storage/memory.js";
import { MemoryGraphStorage } from "./graph/storage/memory.js";
import { MemoryPostsStorage } from "./posts/storage/memory.js";
import { EtcdAccountsStorage } from "./accounts/storage/etcd.js";
import { EtcdGraphStorage } from "./graph/storage/etcd.js";
import { EtcdPostsStorage } from "./posts/storage/etcd.js";
import type { EtcdStorageOptions } from "../storage/etcd/client.js";

/** Opens each service's own store; a backend opens only those of the services it hosts. */
export interface StoreFactory {
  accounts(): AccountsStorage;
  graph(): GraphStorage;
  posts(): PostsStorage;
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
