// A backend replica: the gRPC services named by BACKEND_SERVICES on BACKEND_HOST:BACKEND_PORT.
import { loadConfig } from "../config.js";
import { startBackend } from "../services/backend.js";
import { storesFor } from "../services/stores-for-config.js";
import { createLogger } from "../shared/logger.js";
import { stopOnSignals } from "./signals.js";

const config = loadConfig();
const log = createLogger("backend", config.logLevel);
const backend = await startBackend({
  host: config.backendHost,
  port: config.backendPort,
  services: config.backendServices,
  stores: storesFor(config),
  peerAddrs: config.backendAddrs,
  grpcTimeoutMs: config.grpcTimeoutMs,
  accounts: { sessionTtlSeconds: config.sessionTtlSeconds, scrypt: { logN: config.scryptLogN, r: 8, p: 1 } },
  log,
});
stopOnSignals(log, () => backend.close());
