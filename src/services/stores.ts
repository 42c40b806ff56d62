import type { AccountsStorage } from "./accounts/storage.js";
import type { GraphStorage } from "./graph/storage.js";
import type { PostsStorage } from "./posts/storage.js";
import { MemoryAccountsStorage } from "./accounts/storage/memory.js";
import { MemoryGraphStorage } from "./graph/storage/memory.js";
import { MemoryPostsStorage } from "./posts/storage/memory.js";

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
