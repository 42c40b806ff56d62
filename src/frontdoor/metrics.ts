import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { LATENCY_BUCKETS } from "../shared/metrics.js";

/** The front door's metrics: requests by the replica that answered, retries, replica readiness. */
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
