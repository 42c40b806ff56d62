import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { credentials } from "@grpc/grpc-js";
import { pino } from "pino";
import { waitFor } from "../../src/launcher/child.js";
import { startBackend, type RunningBackend } from "../../src/backend/server.js";
import type { StoreFactory } from "../../src/backend/stores.js";
import type { Kv, RangeRequest, TxnRequest } from "../../src/storage/kv.js";
import { MemoryKv } from "../../src/storage/memory/kv.js";
import { ApiClient } from "../fixtures/api-client.js";
import { TEST_SCRYPT } from "../fixtures/in-process-flock.js";
import { buildWebApp } from "../../src/web/app.js";
import { createWebContext } from "../../src/web/context.js";
import { checkBackendHealth } from "../../src/grpc/backend-probe.js";
import { stopWebGracefully } from "../../src/web/ops/shutdown.js";

const log = pino({ level: "silent" });
const insecure = { credentials: credentials.createInsecure(), options: {} };

/**
 * A memory store whose transactions (every write request commits one) can be held, to have
 * a call in flight on purpose, and whose linearizable reads (the read model's freshness
 * checks, the readiness probe's among them) can be refused, as a store without quorum does.
 */
class GatedKv extends MemoryKv {
  gate: Promise<void> | undefined;
  /** Transactions that reached the gate. */
  entered = 0;
  refusing = false;
  override async range(request: RangeRequest) {
    if (request.revision === undefined && this.refusing) throw new Error("etcdserver: no leader (test)");
    return super.range(request);
  }
  override async txn(request: TxnRequest) {
    if (this.gate) {
      this.entered++;
      await this.gate;
    }
    return super.txn(request);
  }
}

function stores(kv: Kv): StoreFactory {
  return { open: () => kv };
}

async function backendWith(kv: GatedKv, shutdownTimeoutMs = 5_000) {
  return startBackend({
    host: "127.0.0.1",
    port: 0,
    services: ["accounts", "graph", "posts"],
    stores: stores(kv),
    prefix: "flock/",
    accounts: { scrypt: TEST_SCRYPT },
    log,
    ops: { probeIntervalMs: 30 },
    shutdownTimeoutMs,
  });
}

async function webFor(backend: RunningBackend) {
  const ctx = createWebContext({
    backendAddrs: [backend.address],
    grpcTimeoutMs: 5_000,
    probeIntervalMs: 30,
    log,
    cookieSecure: false,
  });
  const { ops } = ctx;
  const app = await buildWebApp(ctx);
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    app,
    ops,
    url,
    close: async () => {
      await app.close();
      ctx.backend.close();
    },
  };
}

const readyz = async (url: string) => {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as { ready: boolean; reason?: string } };
};

describe("health: gRPC health on backends, /readyz on web replicas", () => {
  const kv = new GatedKv();
  let backend: RunningBackend;
  let web: Awaited<ReturnType<typeof webFor>>;

  before(async () => {
    backend = await backendWith(kv);
    web = await webFor(backend);
  });
  after(async () => {
    await web.close();
    await backend.close();
  });

  it("is SERVING and ready while the store answers, NOT_SERVING and 503 while it does not", async () => {
    assert.equal(await checkBackendHealth(backend.address, insecure), "SERVING");
    assert.deepEqual((await readyz(web.url)).status, 200);

    kv.refusing = true;
    await waitFor(
      "NOT_SERVING",
      async () => (await checkBackendHealth(backend.address, insecure)) === "NOT_SERVING",
    );
    await waitFor("/readyz 503", async () => (await readyz(web.url)).status === 503);
    assert.equal((await readyz(web.url)).body.reason, "no backend is SERVING");
    // Liveness is not readiness: the process is up.
    assert.equal((await fetch(`${web.url}/healthz`)).status, 200);

    kv.refusing = false;
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
  it("a backend goes NOT_SERVING, finishes the call in flight, then stops", async () => {
    const posts = new GatedKv();
    const backend = await backendWith(posts);
    const web = await webFor(backend);
    try {
      const api = new ApiClient(web.url);
      const token = await api.newUser("inflight");
      let release!: () => void;
      posts.gate = new Promise((resolve) => (release = resolve));
      const inFlight = api.post(token, "posted while inflight");
      await waitFor("the call to reach the store", async () => posts.entered > 0);

      const closing = backend.close();
      await waitFor("NOT_SERVING while closing", async () => {
        const health = await checkBackendHealth(backend.address, insecure, 300);
        return health === "NOT_SERVING" || health === "UNREACHABLE";
      });
      release();
      await closing;
      assert.equal((await inFlight).status, 201, "the call in flight finished");
      assert.equal(await checkBackendHealth(backend.address, insecure, 300), "UNREACHABLE");
    } finally {
      await web.close();
    }
  });

  it("a backend cancels calls still running at its shutdown deadline", async () => {
    const posts = new GatedKv();
    const backend = await backendWith(posts, 100);
    const web = await webFor(backend);
    try {
      const api = new ApiClient(web.url);
      const token = await api.newUser("stuck");
      posts.gate = new Promise(() => undefined); // never released
      const inFlight = api.post(token, "posted while stuck");
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
    const posts = new GatedKv();
    const backend = await backendWith(posts);
    const web = await webFor(backend);
    try {
      const api = new ApiClient(web.url);
      const token = await api.newUser("webdrain");
      let release!: () => void;
      posts.gate = new Promise((resolve) => (release = resolve));
      const inFlight = api.post(token, "posted while webdrain");
      await waitFor("the call to reach the store", async () => posts.entered > 0);

      const stopping = stopWebGracefully(web.app, web.ops, log, { drainMs: 300, timeoutMs: 5_000 });
      const during = await readyz(web.url);
      assert.equal(during.status, 503);
      assert.equal(during.body.reason, "shutting down");
      assert.equal((await api.user("webdrain")).status, 200, "still serving while draining");
      release();
      await stopping;
      assert.equal((await inFlight).status, 201, "the request in flight finished");
      await assert.rejects(fetch(`${web.url}/healthz`), "no longer accepting");
    } finally {
      await web.close().catch(() => undefined);
      await backend.close();
    }
  });
});
