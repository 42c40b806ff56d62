import http from "node:http";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { GrpcClientMetrics, LATENCY_BUCKETS, sendMetrics } from "../../shared/metrics.js";
import type { EtcdCallObserver } from "../../storage/etcd/client.js";

/** A backend's metrics: gRPC calls served, etcd calls, store and health state, calls to peers. */
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

  /** The observer every EtcdStore of this backend is opened with (see stores.ts). */
  readonly etcdObserver: EtcdCallObserver = {
    callDone: (what, seconds, ok) => {
      const op = what.replace(/\s+/g, "_");
      this.etcdCalls.inc({ op, outcome: ok ? "ok" : "error" });
      this.etcdDuration.observe({ op }, seconds);
    },
    retry: (what) => this.etcdRetries.inc({ op: what.replace(/\s+/g, "_") }),
  };
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
