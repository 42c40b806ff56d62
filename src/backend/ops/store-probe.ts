import { EtcdStore, type EtcdStorageOptions } from "../../storage/etcd/client.js";

/** Answers while the store can serve: for etcd, a linearizable read, so it needs a quorum. */
export interface StoreProbe {
  check(): Promise<void>;
  close(): void;
}

/** The in-memory store lives in the process: it answers whenever the process does. */
export const memoryProbe: StoreProbe = { check: async () => undefined, close: () => undefined };

/**
 * A probe on its own small etcd client (the storages' clients stay untouched): one
 * count-only range of a single key, through EtcdStore so a dead member is skipped as in
 * real calls. Fails when no quorum answers within `timeoutMs`.
 */
export function etcdProbe(options: EtcdStorageOptions): StoreProbe {
  const store = new EtcdStore(options);
  const key = Buffer.from(`${options.prefix}ops/probe`);
  return {
    check: async () => {
      await store.range({ key, count_only: true });
    },
    close: () => store.close(),
  };
}
