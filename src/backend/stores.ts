import type { FlockConfig, ServiceName } from "../shared/config.js";
import type { EtcdCallObserver, EtcdStorageOptions } from "../storage/etcd/client.js";
import { EtcdKv } from "../storage/etcd/kv.js";
import { etcdCredentials } from "../storage/etcd/tls.js";
import type { Kv } from "../storage/kv.js";
import { MemoryKv } from "../storage/memory/kv.js";

/** Who a store client acts as: a service (writing its facts), or the read model (reading the views' range). */
export type StoreUser = ServiceName | "reader";

/** Opens a store client per user; a backend opens one for each service it hosts, and one reader. */
export interface StoreFactory {
  open(user: StoreUser): Kv;
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

/** One in-process store shared by every user (the memory store lives inside this process). */
export function memoryStores(kv: Kv = new MemoryKv()): StoreFactory {
  return { open: () => kv };
}

/** Each call opens a new etcd client: every service owns its connection (and its retry budget). */
export function etcdStores(options: EtcdStorageOptions): StoreFactory {
  return { open: () => new EtcdKv(options) };
}
