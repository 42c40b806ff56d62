// A backend replica: the gRPC services named by BACKEND_SERVICES on BACKEND_HOST:BACKEND_PORT,
// plus the gRPC health and ops services, and Prometheus metrics on BACKEND_METRICS_PORT.
import { loadConfig } from "../config.js";
import { EtcdStatusReader } from "../ops/etcd-status.js";
import { BackendMetrics, newRegistry } from "../ops/metrics.js";
import { etcdProbe, memoryProbe } from "../ops/store-probe.js";
import { etcdCredentials, grpcDial, grpcServerCredentials } from "../ops/tls.js";
import { startBackend } from "../services/backend.js";
import { storesFor } from "../services/stores-for-config.js";
import { createLogger } from "../shared/logger.js";
import { observeEtcdCalls } from "../storage/etcd/client.js";
import { stopOnSignals } from "./signals.js";

const config = loadConfig();
const log = createLogger("backend", config.logLevel);
const metrics = new BackendMetrics(newRegistry(true, "backend"));
observeEtcdCalls(metrics.etcdObserver);
const credentials = etcdCredentials(config.etcdTls);
const etcd = config.storage === "etcd";

const backend = await startBackend({
  host: config.backendHost,
  port: config.backendPort,
  services: config.backendServices,
  stores: storesFor(config),
  peerAddrs: config.backendAddrs,
  grpcTimeoutMs: config.grpcTimeoutMs,
  accounts: { sessionTtlSeconds: config.sessionTtlSeconds, scrypt: { logN: config.scryptLogN, r: 8, p: 1 } },
  log,
  serverCredentials: grpcServerCredentials(config.grpcTls),
  peerDial: grpcDial(config.grpcTls),
  ops: {
    probe: etcd
      ? etcdProbe({
          endpoints: config.etcdEndpoints,
          prefix: config.etcdPrefix,
          timeoutMs: Math.max(1000, config.probeIntervalMs),
          credentials,
        })
      : memoryProbe,
    etcdStatus: etcd ? new EtcdStatusReader(config.etcdEndpoints, credentials) : undefined,
    metrics,
    metricsHost: config.backendHost,
    metricsPort: config.backendMetricsPort,
    probeIntervalMs: config.probeIntervalMs,
  },
  shutdownTimeoutMs: config.shutdownTimeoutMs,
});
stopOnSignals(log, () => backend.close(), config.shutdownTimeoutMs + 5_000);
