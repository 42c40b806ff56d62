import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { credentials } from "@grpc/grpc-js";
import { pino } from "pino";
import { waitFor } from "../cluster/child.js";
import { BackendClients } from "../grpc/client.js";
import { startBackend, type RunningBackend } from "../services/backend.js";
import { MemoryAccountsStorage } from "../services/accounts/storage/memory.js";
import { MemoryGraphStorage } from "../services/graph/storage/memory.js";
import { MemoryPostsStorage } from "../services/posts/storage/memory.js";
import type { StoreFactory } from "../services/stores.js";
import { ApiClient } from "../testing/api-client.js";
import { TEST_SCRYPT } from "../testing/in-process-flock.js";
import { buildWebApp } from "../web/app.js";
import { checkBackendHealth } from "./backend-probe.js";
import { stopWebGracefully } from "./shutdown.js";
import type { StoreProbe } from "./store-probe.js";
import { WebOps } from "./web-ops.js";

const log = pino({ level: "silent" });
const insecure = { credentials: credentials.createInsecure(), options: {} };

/** Posts storage whose author listing can be held, to have a call in flight on purpose. */
class GatedPostsStorage extends MemoryPostsStorage {
  gate: Promise<void> | undefined;
  /** Calls that reached the gate. */
  entered = 0;
  override async listAuthorPosts(author: string, before: string | undefined, limit: number) {
    if (this.gate) this.entered++;
    await this.gate;
    return super.listAuthorPosts(author, before, limit);
  }
}

function stores(posts: MemoryPostsStorage): StoreFactory {
  const accounts = new MemoryAccountsStorage();
  const graph = new MemoryGraphStorage();
  return { accounts: () => accounts, graph: () => graph, posts: () => posts };
}

async function backendWith(probe: StoreProbe, posts: MemoryPostsStorage, shutdownTimeoutMs = 5_000) {
  return startBackend({
    host: "127.0.0.1",
    port: 0,
    services: ["accounts", "graph", "posts"],
    stores: stores(posts),
    peerAddrs: [],
    grpcTimeoutMs: 5_000,
    accounts: { scrypt: TEST_SCRYPT },
    log,
    ops: { probe, probeIntervalMs: 30 },
    shutdownTimeoutMs,
  });
}

async function webFor(backend: RunningBackend) {
  const clients = new BackendClients([backend.address], 5_000);
  const ops = new WebOps({ backendAddrs: [backend.address], probeIntervalMs: 30 });
  const app = await buildWebApp({ backend: clients, log, cookieSecure: false }, { ops });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    app,
    ops,
    url,
    close: async () => {
      await app.close();
      clients.close();
    },
  };
}

const readyz = async (url: string) => {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as { ready: boolean; reason?: string } };
};

describe("health: gRPC health on backends, /readyz on web replicas", () => {
  let storeAnswers = true;
  const probe: StoreProbe = {
    check: async () => {
      if (!storeAnswers) throw new Error("no quorum (test)");
    },
    close: () => undefined,
  };
  let backend: RunningBackend;
  let web: Awaited<ReturnType<typeof webFor>>;

  before(async () => {
    backend = await backendWith(probe, new MemoryPostsStorage());
    web = await webFor(backend);
  });
  after(async () => {
    await web.close();
    await backend.close();
  });

  it("is SERVING and ready while the store answers, NOT_SERVING and 503 while it does not", async () => {
    assert.equal(await checkBackendHealth(backend.address, insecure), "SERVING");
    assert.deepEqual((await readyz(web.url)).status, 200);

    storeAnswers = false;
    await waitFor(
      "NOT_SERVING",
      async () => (await checkBackendHealth(backend.address, insecure)) === "NOT_SERVING",
    );
    await waitFor("/readyz 503", async () => (await readyz(web.url)).status === 503);
    assert.equal((await readyz(web.url)).body.reason, "no backend is SERVING");
    // Liveness is not readiness: the process is up.
    assert.equal((await fetch(`${web.url}/healthz`)).status, 200);

    storeAnswers = true;
    await waitFor(
      "SERVING again",
      async () => (await checkBackendHealth(backend.address, insecure)) === "SERVING",
    );
    await waitFor("/readyz 200 again", async () => (await readyz(web.url)).status === 200);
  });

  it("counts calls and errors by code on the backend and per route on the web", async () => {
    const api = new ApiClient(web.url);
    assert.equal((await api.user("nobody_here")).status, 404);
    const backendMetrics = await backend.ops.metrics.registry.metrics();
    assert.match(
      backendMetrics,
      /flock_grpc_server_errors_total\{service="AccountsService",method="GetAccount",code="NOT_FOUND",role="backend"\} 1/,
    );
    const webMetrics = await (await fetch(`${web.url}/metrics`)).text();
    assert.match(
      webMetrics,
      /flock_http_requests_total\{route="\/api\/v1\/users\/:username",method="GET",status="404"/,
    );
    assert.match(
      webMetrics,
      /flock_grpc_client_calls_total\{service="AccountsService",method="GetAccount",code="NOT_FOUND"/,
    );
    assert.match(webMetrics, /flock_web_backend_serving\{backend="127\.0\.0\.1:\d+",role="web"\} 1/);
  });
});

describe("graceful shutdown", () => {
  const alwaysOk: StoreProbe = { check: async () => undefined, close: () => undefined };

  it("a backend goes NOT_SERVING, finishes the call in flight, then stops", async () => {
    const posts = new GatedPostsStorage();
    const backend = await backendWith(alwaysOk, posts);
    const web = await webFor(backend);
    try {
      const api = new ApiClient(web.url);
      await api.newUser("inflight");
      let release!: () => void;
      posts.gate = new Promise((resolve) => (release = resolve));
      const inFlight = api.userPosts("inflight");
      await waitFor("the call to reach the store", async () => posts.entered > 0);

      const closing = backend.close();
      await waitFor("NOT_SERVING while closing", async () => {
        const health = await checkBackendHealth(backend.address, insecure, 300);
        return health === "NOT_SERVING" || health === "UNREACHABLE";
      });
      release();
      await closing;
      assert.equal((await inFlight).status, 200, "the call in flight finished");
      assert.equal(await checkBackendHealth(backend.address, insecure, 300), "UNREACHABLE");
    } finally {
      await web.close();
    }
  });

  it("a backend cancels calls still running at its shutdown deadline", async () => {
    const posts = new GatedPostsStorage();
    const backend = await backendWith(alwaysOk, posts, 100);
    const web = await webFor(backend);
    try {
      const api = new ApiClient(web.url);
      await api.newUser("stuck");
      posts.gate = new Promise(() => undefined); // never released
      const inFlight = api.userPosts("stuck");
      await waitFor("the call to reach the store", async () => posts.entered > 0);
      const started = Date.now();
      await backend.close();
      assert.ok(Date.now() - started < 2_000, "close did not wait for the stuck call");
      assert.equal((await inFlight).status, 503);
    } finally {
      await web.close();
    }
  });

  it("a web replica drains (/readyz 503, still serving), then finishes requests in flight", async () => {
    const posts = new GatedPostsStorage();
    const backend = await backendWith(alwaysOk, posts);
    const web = await webFor(backend);
    try {
      const api = new ApiClient(web.url);
      await api.newUser("webdrain");
      let release!: () => void;
      posts.gate = new Promise((resolve) => (release = resolve));
      const inFlight = api.userPosts("webdrain");
      await waitFor("the call to reach the store", async () => posts.entered > 0);

      const stopping = stopWebGracefully(web.app, web.ops, log, { drainMs: 300, timeoutMs: 5_000 });
      const during = await readyz(web.url);
      assert.equal(during.status, 503);
      assert.equal(during.body.reason, "shutting down");
      assert.equal((await api.user("webdrain")).status, 200, "still serving while draining");
      release();
      await stopping;
      assert.equal((await inFlight).status, 200, "the request in flight finished");
      await assert.rejects(fetch(`${web.url}/healthz`), "no longer accepting");
    } finally {
      await web.close().catch(() => undefined);
      await backend.close();
    }
  });
});
