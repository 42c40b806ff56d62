// A backend replica: the gRPC services named by BACKEND_SERVICES on BACKEND_HOST:BACKEND_PORT,
// plus the gRPC health and ops services, and Prometheus metrics on BACKEND_METRICS_PORT.
import { startBackend } from "../backend/server.js";
import { EtcdStatusReader } from "../backend/ops/etcd-status.js";
import { BackendMetrics } from "../backend/ops/metrics.js";
import { identityCredentials, storesFor } from "../backend/stores.js";
import { grpcServerCredentials } from "../grpc/tls.js";
import { loadConfig } from "../shared/config.js";
import { createLogger } from "../shared/logger.js";
import { newRegistry } from "../shared/metrics.js";
import { installProcessPolicy } from "../shared/process-policy.js";
import { etcdCredentials } from "../storage/etcd/tls.js";
import { stopOnSignals } from "./signals.js";

const config = loadConfig();
const log = createLogger("backend", config.logLevel);
const metrics = new BackendMetrics(newRegistry(true, "backend"));
installProcessPolicy(log, metrics.registry);
const shared = etcdCredentials(config.etcdTls);
// With one etcd identity per service, /cluster's member status is read as the reader.
const credentials = config.etcdClientCertDir
  ? identityCredentials(config.etcdClientCertDir, "reader", shared)
  : shared;
const etcd = config.storage === "etcd";

const backend = await startBackend({
  host: config.backendHost,
  port: config.backendPort,
  services: config.backendServices,
  stores: storesFor(config, metrics.etcdObserver),
  prefix: config.etcdPrefix,
  accounts: {
    sessionTtlSeconds: config.sessionTtlSeconds,
    scrypt: { logN: config.scryptLogN, r: 8, p: 1 },
    maxSessionsPerAccount: config.maxSessionsPerAccount,
  },
  posts: { textBudgetBytes: config.viewTextBudgetBytes },
  log,
  serverCredentials: grpcServerCredentials(config.grpcTls),
  metrics,
  ops: {
    etcdStatus: etcd ? new EtcdStatusReader(config.etcdEndpoints, credentials) : undefined,
    metricsHost: config.backendHost,
    metricsPort: config.backendMetricsPort,
    probeIntervalMs: config.probeIntervalMs,
  },
  shutdownTimeoutMs: config.shutdownTimeoutMs,
});
stopOnSignals(log, () => backend.close(), config.shutdownTimeoutMs + 5_000);
