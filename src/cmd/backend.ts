// A backend replica: the gRPC services named by BACKEND_SERVICES on BACKEND_HOST:BACKEND_PORT,
// plus the gRPC health and ops services, and Prometheus metrics on BACKEND_METRICS_PORT.
import { startBackend } from "../backend/server.js";
import { EtcdStatusReader } from "../backend/ops/etcd-status.js";
import { BackendMetrics } from "../backend/ops/metrics.js";
import { etcdProbe, memoryProbe } from "../backend/ops/store-probe.js";
import { storesFor } from "../backend/stores.js";
import { grpcDial, grpcServerCredentials } from "../grpc/tls.js";
import { loadConfig } from "../shared/config.js";
import { createLogger } from "../shared/logger.js";
import { newRegistry } from "../shared/metrics.js";
import { etcdCredentials } from "../storage/etcd/tls.js";
import { stopOnSignals } from "./signals.js";

const config = loadConfig();
const log = createLogger("backend", config.logLevel);
const metrics = new BackendMetrics(newRegistry(true, "backend"));
const credentials = etcdCredentials(config.etcdTls);
const etcd = config.storage === "etcd";

const backend = await startBackend({
  host: config.backendHost,
  port: config.backendPort,
  services: config.backendServices,
  stores: storesFor(config, metrics.etcdObserver),
  peerAddrs: config.backendAddrs,
  grpcTimeoutMs: config.grpcTimeoutMs,
  accounts: { sessionTtlSeconds: config.sessionTtlSeconds, scrypt: { logN: config.scryptLogN, r: 8, p: 1 } },
  log,
  serverCredentials: grpcServerCredentials(config.grpcTls),
  peerDial: grpcDial(config.grpcTls),
  metrics,
  ops: {
    probe: etcd
      ? etcdProbe({
          endpoints: config.etcdEndpoints,
          prefix: config.etcdPrefix,
          timeoutMs: Math.max(1000, config.probeIntervalMs),
          credentials,
          observer: metrics.etcdObserver,
        })
      : memoryProbe,
    etcdStatus: etcd ? new EtcdStatusReader(config.etcdEndpoints, credentials) : undefined,
    metricsHost: config.backendHost,
    metricsPort: config.backendMetricsPort,
    probeIntervalMs: config.probeIntervalMs,
  },
  shutdownTimeoutMs: config.shutdownTimeoutMs,
});
stopOnSignals(log, () => backend.close(), config.shutdownTimeoutMs + 5_000);
