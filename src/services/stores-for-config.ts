import type { FlockConfig } from "../config.js";
import { memoryStores, type StoreFactory } from "./stores.js";

/** The stores a backend process opens, as its configuration says. */
export function storesFor(config: FlockConfig): StoreFactory {
  if (config.storage === "memory") return memoryStores();
  throw new Error("STORAGE=etcd is not wired yet");
}
