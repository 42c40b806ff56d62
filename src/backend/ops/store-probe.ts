import type { WatchCache } from "../../storage/watch-cache.js";

/** Answers while the backend can serve. */
export interface StoreProbe {
  check(): Promise<void>;
  close(): void;
}

/**
 * Ready means: the read model is loaded (not loading or rebuilding) and answers a
 * linearizable read, i.e. the store has a quorum and the watch keeps up with it.
 */
export function readModelProbe(cache: WatchCache): StoreProbe {
  return {
    check: async () => {
      if (!cache.ready) throw new Error("the read model is loading");
      await cache.fresh();
    },
    close: () => undefined,
  };
}
