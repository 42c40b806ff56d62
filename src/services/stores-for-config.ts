import type { FlockConfig } from "../config.js";
import { etcdCredentials } from "../ops/tls.js";
import { etcdStores, memoryStores, type StoreFactory } from "./stores.js";

/** The stores a backend process opens, as its configuration says. */
export function storesFor(config: FlockConfig): StoreFactory {
  if (config.storage === "memory") return memoryStores();
  return etcdStores({
    endpoints: config.etcdEndpoints,
    prefix: config.etcdPrefix,
    timeoutMs: config.etcdTimeoutMs,
    credentials: etcdCredentials(config.etcdTls),
  });
}
