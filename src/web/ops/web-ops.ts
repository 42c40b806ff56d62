import { credentials } from "@grpc/grpc-js";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { EtcdMemberStatus } from "../../gen/flock/ops/v1/ops.js";
import { renderPage } from "../render.js";
import { BackendProber, type BackendHealth } from "../../grpc/backend-probe.js";
import { newRegistry } from "../../shared/metrics.js";
import { WebMetrics } from "./metrics.js";
import { RateCounter } from "../../shared/rate.js";
import type { GrpcDial } from "../../grpc/tls.js";

export interface WebOpsOptions {
  /** Each address is probed on its own (gRPC health), whatever the load-balanced channel does. */
  backendAddrs: readonly string[];
  dial?: GrpcDial;
  /** The web replicas to show on /cluster (WEB_ADDRS). */
  webAddrs?: readonly string[];
  /** This replica's own entry in webAddrs. */
  self?: string;
  probeIntervalMs?: number;
  /** Event-loop lag, memory, GC…: on in real processes, off in tests that run many apps in one. */
  defaultMetrics?: boolean;
  log?: Logger;
}

export interface Readiness {
  ready: boolean;
  draining: boolean;
  reason?: string;
  backends: { serving: number; total: number };
  requests: { perSecond: number; total: number };
}

export interface ClusterSnapshot {
  generatedAt: string;
  servedBy: string | null;
  requests: { perSecond: number; thisReplicaPerSecond: number };
  etcd: {
    storage: string;
    /** The backend that answered, or null when none did (then `error` says why). */
    via: string | null;
    error?: string;
    leader: string | null;
    members: EtcdMemberStatus[];
  };
  backends: {
    address: string;
    health: BackendHealth;
    error?: string;
    storeOk?: boolean;
    callsPerSecond?: number;
    callsTotal?: number;
    services?: string[];
    uptimeSeconds?: number;
    shuttingDown?: boolean;
  }[];
  webs: {
    address: string;
    self: boolean;
    reachable: boolean;
    ready: boolean;
    draining?: boolean;
    requestsPerSecond?: number;
    requestsTotal?: number;
    error?: string;
  }[];
}

/** Paths that serve operators and probes: not counted as user traffic, logged only at warn. */
const OPS_PATHS = new Set(["/healthz", "/readyz", "/metrics", "/cluster.json"]);
const PROBE_TIMEOUT_MS = 1000;
/** /cluster.json fans out to every backend, web replica and etcd member: at most once a second. */
const SNAPSHOT_TTL_MS = 1000;

/**
 * A web replica's operations side: readiness (a backend SERVING and not draining), metrics,
 * request rate, and the live /cluster view. The web tier never talks to etcd: members'
 * status comes from a backend's OpsService.
 */
export class WebOps {
  readonly metrics: WebMetrics;
  readonly prober: BackendProber;
  readonly rate = new RateCounter();
  private draining = false;
  private starting: Promise<void> | undefined;
  private snapshotCache: { at: number; value: Promise<ClusterSnapshot> } | undefined;

  constructor(private readonly options: WebOpsOptions) {
    this.metrics = new WebMetrics(newRegistry(options.defaultMetrics ?? false, "web"));
    const dial = options.dial ?? { credentials: credentials.createInsecure(), options: {} };
    this.prober = new BackendProber(
      options.backendAddrs,
      dial,
      options.probeIntervalMs ?? 1000,
      PROBE_TIMEOUT_MS,
      (state) => {
        this.metrics.backendServing.set({ backend: state.address }, state.health === "SERVING" ? 1 : 0);
        options.log?.info(
          { backend: state.address, health: state.health, error: state.error },
          "backend health",
        );
      },
    );
  }

  /** Starts probing; resolves after the first round (so readiness is known). Idempotent. */
  start(): Promise<void> {
    this.starting ??= this.prober.start();
    return this.starting;
  }

  stop(): void {
    this.prober.stop();
  }

  /** From now on /readyz says 503, so balancers stop sending here; serving goes on meanwhile. */
  beginDrain(): void {
    this.draining = true;
    this.metrics.ready.set(0);
  }

  readiness(): Readiness {
    const states = this.prober.states();
    const serving = states.filter((s) => s.health === "SERVING").length;
    const ready = !this.draining && serving > 0;
    this.metrics.ready.set(ready ? 1 : 0);
    return {
      ready,
      draining: this.draining,
      reason: this.draining ? "shutting down" : serving === 0 ? "no backend is SERVING" : undefined,
      backends: { serving, total: states.length },
      requests: { perSecond: round(this.rate.perSecond()), total: this.rate.total },
    };
  }

  snapshot(): Promise<ClusterSnapshot> {
    const now = Date.now();
    if (!this.snapshotCache || now - this.snapshotCache.at > SNAPSHOT_TTL_MS) {
      this.snapshotCache = { at: now, value: this.buildSnapshot() };
    }
    return this.snapshotCache.value;
  }

  private async buildSnapshot(): Promise<ClusterSnapshot> {
    const [etcd, backends, webs] = await Promise.all([this.etcdView(), this.backendsView(), this.websView()]);
    const thisReplica = round(this.rate.perSecond());
    const perSecond = webs.some((w) => w.requestsPerSecond !== undefined)
      ? round(webs.reduce((sum, w) => sum + (w.requestsPerSecond ?? 0), 0))
      : thisReplica;
    return {
      generatedAt: new Date().toISOString(),
      servedBy: this.options.self ?? null,
      requests: { perSecond, thisReplicaPerSecond: thisReplica },
      etcd,
      backends,
      webs,
    };
  }

  private async etcdView(): Promise<ClusterSnapshot["etcd"]> {
    try {
      const { via, answer } = await this.prober.clusterStatus();
      const leader = answer.members.find((m) => m.isLeader);
      return {
        storage: answer.storage,
        via,
        leader: leader ? leader.name || leader.endpoint : null,
        members: answer.members,
      };
    } catch (err) {
      return { storage: "unknown", via: null, error: (err as Error).message, leader: null, members: [] };
    }
  }

  private backendsView(): Promise<ClusterSnapshot["backends"]> {
    return Promise.all(
      this.prober.states().map(async (state) => {
        const stats =
          state.health === "UNREACHABLE" ? undefined : await this.prober.replicaStats(state.address);
        return {
          address: state.address,
          health: state.health,
          error: state.error,
          storeOk: stats?.storeOk,
          callsPerSecond: stats && round(stats.callsPerSecond),
          callsTotal: stats?.callsTotal,
          services: stats?.services,
          uptimeSeconds: stats && Math.round(stats.uptimeMs / 1000),
          shuttingDown: stats?.shuttingDown,
        };
      }),
    );
  }

  private websView(): Promise<ClusterSnapshot["webs"]> {
    const addresses = this.options.webAddrs ?? (this.options.self ? [this.options.self] : []);
    return Promise.all(
      addresses.map(async (address) => {
        const self = address === this.options.self;
        const readiness = self ? this.readiness() : await fetchReadiness(address);
        if ("error" in readiness)
          return { address, self, reachable: false, ready: false, error: readiness.error };
        return {
          address,
          self,
          reachable: true,
          ready: readiness.ready === true,
          draining: readiness.draining,
          requestsPerSecond: readiness.requests?.perSecond,
          requestsTotal: readiness.requests?.total,
        };
      }),
    );
  }
}

async function fetchReadiness(address: string): Promise<Partial<Readiness> | { error: string }> {
  try {
    const response = await fetch(`http://${address}/readyz`, {
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    const body = (await response.json()) as Partial<Readiness>;
    return { ...body, ready: response.status === 200 && body.ready === true };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * The web replica's ops routes and hooks: /readyz, /metrics, /cluster (HTML), /cluster.json,
 * per-route request metrics and the request rate. Call before the other routes.
 */
export async function registerWebOps(app: FastifyInstance, ops: WebOps): Promise<void> {
  await ops.start();
  app.addHook("onClose", async () => ops.stop());

  app.addHook("onRequest", async (request) => {
    if (!OPS_PATHS.has(request.url.split("?")[0]!)) ops.rate.add();
  });
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    const labels = { route, method: request.method };
    ops.metrics.requests.inc({ ...labels, status: String(reply.statusCode) });
    ops.metrics.duration.observe(labels, reply.elapsedTime / 1000);
  });

  const quiet = { logLevel: "warn" as const };

  // Readiness: a backend answers SERVING (its store has quorum) and this replica is not draining.
  app.get("/readyz", quiet, async (_request, reply) => {
    const readiness = ops.readiness();
    reply.header("cache-control", "no-store");
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  });

  app.get("/metrics", quiet, async (_request, reply) => {
    const body = await ops.metrics.registry.metrics();
    return reply.header("cache-control", "no-store").type(ops.metrics.registry.contentType).send(body);
  });

  app.get("/cluster.json", quiet, async (_request, reply) => {
    reply.header("cache-control", "no-store");
    return ops.snapshot();
  });

  app.get("/cluster", async (_request, reply) => {
    const snapshot = await ops.snapshot();
    reply.header("cache-control", "no-store");
    return renderPage(reply, "cluster", { title: "Cluster", snapshot, bytes: formatBytes });
  });
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
