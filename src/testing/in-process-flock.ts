import { pino } from "pino";
import { BackendClients } from "../grpc/client.js";
import { startBackend, type RunningBackend } from "../services/backend.js";
import type { StoreFactory } from "../services/stores.js";
import { MemoryAccountsStorage } from "../services/accounts/storage/memory.js";
import { MemoryGraphStorage } from "../services/graph/storage/memory.js";
import { MemoryPostsStorage } from "../services/posts/storage/memory.js";
import { buildWebApp } from "../web/app.js";

/** Cheap scrypt for tests: the same code path, a fraction of the cost. */
export const TEST_SCRYPT = { logN: 10, r: 8, p: 1 };

export interface InProcessFlock {
  /** Base URLs of the web replicas, e.g. http://127.0.0.1:PORT */
  webUrls: string[];
  backendAddrs: string[];
  stores: { accounts: MemoryAccountsStorage; graph: MemoryGraphStorage; posts: MemoryPostsStorage };
  close(): Promise<void>;
}

/**
 * Real gRPC servers and real HTTP servers on free loopback ports, in this process:
 * `backends` backend replicas sharing one set of memory stores (standing in for the
 * replicated store) and `webs` web replicas balancing over all backends.
 */
export async function startInProcessFlock(
  options: { backends?: number; webs?: number } = {},
): Promise<InProcessFlock> {
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const stores = {
    accounts: new MemoryAccountsStorage(),
    graph: new MemoryGraphStorage(),
    posts: new MemoryPostsStorage(),
  };
  const shared: StoreFactory = {
    accounts: () => stores.accounts,
    graph: () => stores.graph,
    posts: () => stores.posts,
  };
  const backends: RunningBackend[] = [];
  const webs: Awaited<ReturnType<typeof buildWebApp>>[] = [];
  const clients: BackendClients[] = [];
  const close = async () => {
    await Promise.all(webs.map((w) => w.close()));
    clients.forEach((c) => c.close());
    await Promise.all(backends.map((b) => b.close()));
  };
  try {
    for (let i = 0; i < (options.backends ?? 1); i++) {
      backends.push(
        await startBackend({
          host: "127.0.0.1",
          port: 0,
          services: ["accounts", "graph", "posts"],
          stores: shared,
          peerAddrs: [],
          grpcTimeoutMs: 5000,
          accounts: { scrypt: TEST_SCRYPT },
          log,
        }),
      );
    }
    const backendAddrs = backends.map((b) => b.address);
    const webUrls: string[] = [];
    for (let i = 0; i < (options.webs ?? 1); i++) {
      const backend = new BackendClients(backendAddrs, 5000);
      clients.push(backend);
      const app = await buildWebApp({ backend, log, cookieSecure: false });
      webs.push(app);
      webUrls.push(await app.listen({ host: "127.0.0.1", port: 0 }));
    }
    return { webUrls, backendAddrs, stores, close };
  } catch (err) {
    await close();
    throw err;
  }
}
