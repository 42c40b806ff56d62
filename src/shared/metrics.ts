import http from "node:http";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";

/**
 * What every tier's Prometheus metrics share (each tier keeps its own: web/ops/metrics.ts,
 * backend/ops/metrics.ts, frontdoor/metrics.ts), one registry per process (tests run several
 * "processes" in one Node process, so nothing here uses prom-client's global registry).
 * Label values are bounded: route patterns (not URLs), method names, status codes.
 */

export const LATENCY_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

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

/** Answers a GET for the registry's metrics in Prometheus text format. */
export async function sendMetrics(registry: Registry, res: http.ServerResponse): Promise<void> {
  const body = await registry.metrics();
  res.writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" });
  res.end(body);
}
