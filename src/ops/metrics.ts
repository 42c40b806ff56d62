import http from "node:http";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { EtcdCallObserver } from "../storage/etcd/client.js";

/**
 * Prometheus metrics of each kind of process, one registry per process (tests run several
 * "processes" in one Node process, so nothing here uses prom-client's global registry).
 * Label values are bounded: route patterns (not URLs), method names, status codes.
 */

const LATENCY_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A registry, with the default Node metrics (event-loop lag, memory, GC, handles) when asked. */
export function newRegistry(defaultMetrics: boolean, role: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}

/** A gRPC status code's name as label: "OK", "UNAVAILABLE", … */
export function codeName(code: number): string {
  return (GrpcStatus as unknown as Record<number, string>)[code] ?? String(code);
}

/** "/flock.posts.v1.PostsService/CreatePost" → ["PostsService", "CreatePost"]. */
export function splitMethodPath(path: string): [string, string] {
  const [, service = "unknown", method = "unknown"] = /^\/(?:[\w.]*\.)?(\w+)\/(\w+)$/.exec(path) ?? [];
  return [service, method];
}

export class GrpcClientMetrics {
  readonly calls: Counter<"service" | "method" | "code">;
  readonly duration: Histogram<"service" | "method">;

  constructor(registry: Registry) {
    this.calls = new Counter({
      name: "flock_grpc_client_calls_total",
      help: "gRPC calls made to backends, by service, method and status code",
      labelNames: ["service", "method", "code"],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: "flock_grpc_client_call_duration_seconds",
      help: "gRPC call latency seen by the caller (retries included)",
      labelNames: ["service", "method"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
  }

  /** The hook BackendClients calls once per finished call. */
  readonly observe = (path: string, code: number, seconds: number): void => {
    const [service, method] = splitMethodPath(path);
    this.calls.inc({ service, method, code: codeName(code) });
    this.duration.observe({ service, method }, seconds);
  };
}

export class WebMetrics {
  readonly requests: Counter<"route" | "method" | "status">;
  readonly duration: Histogram<"route" | "method">;
  readonly grpc: GrpcClientMetrics;
  readonly ready: Gauge;
  readonly backendServing: Gauge<"backend">;

  constructor(readonly registry: Registry) {
    this.requests = new Counter({
      name: "flock_http_requests_total",
      help: "HTTP requests answered, by route pattern, method and status",
      labelNames: ["route", "method", "status"],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: "flock_http_request_duration_seconds",
      help: "HTTP request latency by route pattern",
      labelNames: ["route", "method"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.grpc = new GrpcClientMetrics(registry);
    this.ready = new Gauge({
      name: "flock_web_ready",
      help: "1 while this web replica answers /readyz with 200",
      registers: [registry],
    });
    this.backendServing = new Gauge({
      name: "flock_web_backend_serving",
      help: "1 while a backend answers the gRPC health check with SERVING",
      labelNames: ["backend"],
      registers: [registry],
    });
  }
}

export class BackendMetrics {
  readonly calls: Counter<"service" | "method" | "code">;
  readonly errors: Counter<"service" | "method" | "code">;
  readonly duration: Histogram<"service" | "method">;
  readonly etcdCalls: Counter<"op" | "outcome">;
  readonly etcdDuration: Histogram<"op">;
  readonly etcdRetries: Counter<"op">;
  readonly storeUp: Gauge;
  readonly serving: Gauge;
  readonly grpcClient: GrpcClientMetrics;

  constructor(readonly registry: Registry) {
    this.calls = new Counter({
      name: "flock_grpc_server_calls_total",
      help: "gRPC calls served, by service, method and status code",
      labelNames: ["service", "method", "code"],
      registers: [registry],
    });
    this.errors = new Counter({
      name: "flock_grpc_server_errors_total",
      help: "gRPC calls that ended with a status other than OK, by code",
      labelNames: ["service", "method", "code"],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: "flock_grpc_server_call_duration_seconds",
      help: "gRPC call latency inside the backend",
      labelNames: ["service", "method"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.etcdCalls = new Counter({
      name: "flock_etcd_calls_total",
      help: "Storage calls to etcd (one per logical call, retries inside), by operation and outcome",
      labelNames: ["op", "outcome"],
      registers: [registry],
    });
    this.etcdDuration = new Histogram({
      name: "flock_etcd_call_duration_seconds",
      help: "etcd call latency, retries and backoff included",
      labelNames: ["op"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.etcdRetries = new Counter({
      name: "flock_etcd_call_retries_total",
      help: "etcd requests sent again after a transient failure (unavailable, deadline, election)",
      labelNames: ["op"],
      registers: [registry],
    });
    this.storeUp = new Gauge({
      name: "flock_store_up",
      help: "1 while the last probe of the store (a linearizable read) answered",
      registers: [registry],
    });
    this.serving = new Gauge({
      name: "flock_grpc_health_serving",
      help: "1 while the gRPC health service reports SERVING",
      registers: [registry],
    });
    this.grpcClient = new GrpcClientMetrics(registry);
  }

  /** The hook every EtcdStore of this process reports to (observeEtcdCalls). */
  readonly etcdObserver: EtcdCallObserver = {
    callDone: (what, seconds, ok) => {
      const op = what.replace(/\s+/g, "_");
      this.etcdCalls.inc({ op, outcome: ok ? "ok" : "error" });
      this.etcdDuration.observe({ op }, seconds);
    },
    retry: (what) => this.etcdRetries.inc({ op: what.replace(/\s+/g, "_") }),
  };
}

export class FrontDoorMetrics {
  readonly requests: Counter<"upstream" | "status">;
  readonly duration: Histogram;
  readonly retries: Counter<"upstream" | "reason">;
  readonly upstreamReady: Gauge<"upstream">;

  constructor(readonly registry: Registry) {
    this.requests = new Counter({
      name: "flock_frontdoor_requests_total",
      help: "Requests answered by the front door, by the replica that answered and status",
      labelNames: ["upstream", "status"],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: "flock_frontdoor_request_duration_seconds",
      help: "Request latency through the front door",
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.retries = new Counter({
      name: "flock_frontdoor_retries_total",
      help: "Requests sent to another replica because one refused or reset the connection before answering",
      labelNames: ["upstream", "reason"],
      registers: [registry],
    });
    this.upstreamReady = new Gauge({
      name: "flock_frontdoor_upstream_ready",
      help: "1 while a web replica answers /readyz with 200",
      labelNames: ["upstream"],
      registers: [registry],
    });
  }
}

/** Answers a GET for the registry's metrics in Prometheus text format. */
export async function sendMetrics(registry: Registry, res: http.ServerResponse): Promise<void> {
  const body = await registry.metrics();
  res.writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" });
  res.end(body);
}

/** A tiny HTTP server for a process that has no HTTP of its own (a backend): /metrics and /healthz. */
export async function startMetricsServer(
  host: string,
  port: number,
  registry: Registry,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (req.method === "GET" && path === "/metrics") {
      sendMetrics(registry, res).catch(() => res.destroy());
    } else if (req.method === "GET" && path === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
