// A web replica: HTML pages and the JSON API on WEB_HOST:WEB_PORT, calling backends at BACKEND_ADDRS;
// /healthz, /readyz, /metrics and /cluster for operators. SIGTERM drains, then stops gracefully.
import { loadConfig } from "../config.js";
import { BackendClients } from "../grpc/client.js";
import { stopWebGracefully } from "../ops/shutdown.js";
import { grpcDial } from "../ops/tls.js";
import { WebOps } from "../ops/web-ops.js";
import { createLogger } from "../shared/logger.js";
import { buildWebApp } from "../web/app.js";
import { stopOnSignals } from "./signals.js";

const config = loadConfig();
const log = createLogger("web", config.logLevel);
const dial = grpcDial(config.grpcTls);
const backend = new BackendClients(config.backendAddrs, config.grpcTimeoutMs, dial);
const ops = new WebOps({
  backendAddrs: config.backendAddrs,
  dial,
  webAddrs: config.webAddrs,
  self: `${config.webHost}:${config.webPort}`,
  probeIntervalMs: config.probeIntervalMs,
  defaultMetrics: true,
  log,
});
const app = await buildWebApp({ backend, log, cookieSecure: config.cookieSecure }, { ops });
await app.listen({ host: config.webHost, port: config.webPort });
stopOnSignals(
  log,
  async () => {
    await stopWebGracefully(app, ops, log, { drainMs: config.drainMs, timeoutMs: config.shutdownTimeoutMs });
    backend.close();
  },
  config.drainMs + config.shutdownTimeoutMs + 5_000,
);
