import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { GrpcClientMetrics, LATENCY_BUCKETS } from "../../shared/metrics.js";

/** A web replica's metrics: HTTP requests by route, its gRPC calls to backends, readiness. */
export class WebMetrics {
  readonly requests: Counter<"route" | "method" | "status">;
  readonly duration: Histogram<"route" | "method">;
  readonly grpc: GrpcClientMetrics;
  readonly ready: Gauge;
  readonly backendServing: Gauge<"backend">;
  readonly openStreams: Gauge;

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
    this.openStreams = new Gauge({
      name: "flock_web_open_streams",
      help: "Live event streams (GET /api/v1/streaming) this web replica holds open",
      registers: [registry],
    });
  }
}
