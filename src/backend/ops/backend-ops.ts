import {
  status,
  type Server,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { HealthImplementation, type ServingStatus } from "grpc-health-check";
import type { Logger } from "pino";
import { OpsServiceService, type OpsServiceServer } from "../../gen/flock/ops/v1/ops.js";
import { EtcdStatusReader } from "./etcd-status.js";
import { instrumentService } from "./call-instruments.js";
import { BackendMetrics, startMetricsServer } from "./metrics.js";
import { RateCounter } from "../../shared/rate.js";
import type { StoreProbe } from "./store-probe.js";

export interface BackendOpsOptions {
  /** Full gRPC names of the services this backend hosts (health is reported for each and for ""). */
  serviceNames: readonly string[];
  /** Short names, for GetReplicaStats. */
  services: readonly string[];
  log: Logger;
  /** Answers while the backend can serve (see store-probe.ts). Closed with the backend. */
  probe: StoreProbe;
  /** etcd members to report on /cluster (none for the memory store). Closed with the backend. */
  etcdStatus?: EtcdStatusReader;
  metrics: BackendMetrics;
  /** Prometheus /metrics on this host:port; 0 or undefined: no metrics server. */
  metricsHost?: string;
  metricsPort?: number;
  probeIntervalMs?: number;
}

/**
 * Everything a backend does besides its services: the gRPC health service (SERVING only
 * while the store answers a probe, NOT_SERVING once shutting down), the ops service for the
 * /cluster page, per-call metrics and logs, and the metrics port.
 */
export class BackendOps {
  readonly metrics: BackendMetrics;
  private readonly health = new HealthImplementation({ "": "NOT_SERVING" });
  private readonly rate = new RateCounter();
  private readonly probe: StoreProbe;
  private readonly started = Date.now();
  private storeOk = false;
  private shuttingDown = false;
  private timer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;
  private metricsServer: { port: number; close(): Promise<void> } | undefined;

  constructor(private readonly options: BackendOpsOptions) {
    this.metrics = options.metrics;
    this.probe = options.probe;
    this.setServing("NOT_SERVING");
  }

  /** The port of the metrics server, once started (undefined when off). */
  get metricsPort(): number | undefined {
    return this.metricsServer?.port;
  }

  /**
   * Instruments a service's handlers (metrics + one log line per call with the request id).
   * `counted` calls make the replica's call rate on /cluster (the ops service's own are not).
   */
  instrument(definition: ServiceDefinition, implementation: UntypedServiceImplementation, counted = true) {
    return instrumentService(definition, implementation, {
      metrics: this.metrics,
      log: this.options.log,
      rate: counted ? this.rate : new RateCounter(1),
    });
  }

  /** Adds the health and ops services to the server. */
  addTo(server: Server): void {
    this.health.addToServer(server);
    server.addService(OpsServiceService, this.instrument(OpsServiceService, this.opsHandlers(), false));
  }

  /** First probe (so a backend that starts healthy is SERVING at once), then one every interval. */
  async start(): Promise<void> {
    await this.probeOnce();
    this.schedule();
    const port = this.options.metricsPort ?? 0;
    if (port > 0) {
      this.metricsServer = await startMetricsServer(
        this.options.metricsHost ?? "127.0.0.1",
        port,
        this.metrics.registry,
      );
      this.options.log.info({ port: this.metricsServer.port }, "backend metrics listening");
    }
  }

  /** Probes now (say, right after the read model is loaded) instead of at the next interval. */
  probeNow(): Promise<void> {
    return this.probeOnce();
  }

  /** NOT_SERVING from now on, whatever the store says; probing stops. */
  beginShutdown(): void {
    this.shuttingDown = true;
    clearTimeout(this.timer);
    this.setServing("NOT_SERVING");
  }

  async close(): Promise<void> {
    this.beginShutdown();
    // A probe still waiting on the store changes nothing once shut down: not waited for.
    this.probe.close();
    this.options.etcdStatus?.close();
    await this.metricsServer?.close();
  }

  private schedule(): void {
    if (this.shuttingDown) return;
    this.timer = setTimeout(() => {
      this.probeOnce().finally(() => this.schedule());
    }, this.options.probeIntervalMs ?? 1000);
    this.timer.unref();
  }

  private probeOnce(): Promise<void> {
    this.probing = this.probe.check().then(
      () => this.storeAnswered(true),
      (err: unknown) => this.storeAnswered(false, err),
    );
    return this.probing;
  }

  private storeAnswered(ok: boolean, err?: unknown): void {
    if (ok !== this.storeOk) {
      if (ok) this.options.log.info("store answers: SERVING");
      else this.options.log.warn({ err: String(err) }, "store does not answer: NOT_SERVING");
    }
    this.storeOk = ok;
    this.metrics.storeUp.set(ok ? 1 : 0);
    if (!this.shuttingDown) this.setServing(ok ? "SERVING" : "NOT_SERVING");
  }

  private setServing(status: ServingStatus): void {
    for (const name of ["", ...this.options.serviceNames]) this.health.setStatus(name, status);
    this.metrics.serving.set(status === "SERVING" ? 1 : 0);
  }

  private opsHandlers(): OpsServiceServer {
    return {
      getClusterStatus: (_call, callback) => {
        const reader = this.options.etcdStatus;
        if (!reader) return callback(null, { storage: "memory", members: [], checkedAtMs: Date.now() });
        reader.read().then(
          (answer) => callback(null, answer),
          (err: unknown) => callback({ code: status.UNAVAILABLE, details: String(err) }),
        );
      },
      getReplicaStats: (_call, callback) =>
        callback(null, {
          services: [...this.options.services],
          storeOk: this.storeOk,
          callsTotal: this.rate.total,
          callsPerSecond: this.rate.perSecond(),
          uptimeMs: Date.now() - this.started,
          shuttingDown: this.shuttingDown,
        }),
    };
  }
}
