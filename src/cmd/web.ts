// A web replica: HTML pages and the JSON API on WEB_HOST:WEB_PORT, calling backends at BACKEND_ADDRS;
// /healthz, /readyz, /metrics and /cluster for operators. SIGTERM drains, then stops gracefully.
import { grpcDial } from "../grpc/tls.js";
import { loadConfig } from "../shared/config.js";
import { createLogger } from "../shared/logger.js";
import { installProcessPolicy } from "../shared/process-policy.js";
import { buildWebApp } from "../web/app.js";
import { createWebContext } from "../web/context.js";
import { stopWebGracefully } from "../web/ops/shutdown.js";
import { stopOnSignals } from "./signals.js";

const config = loadConfig();
const log = createLogger("web", config.logLevel);
const ctx = createWebContext({
  backendAddrs: config.backendAddrs,
  grpcTimeoutMs: config.grpcTimeoutMs,
  dial: grpcDial(config.grpcTls),
  webAddrs: config.webAddrs,
  self: `${config.webHost}:${config.webPort}`,
  probeIntervalMs: config.probeIntervalMs,
  defaultMetrics: true,
  log,
  cookieSecure: config.cookieSecure,
  publicUrl: config.publicUrl,
});
installProcessPolicy(log, ctx.ops.metrics.registry);
const app = await buildWebApp(ctx, { trustedProxies: config.trustedProxies });
await app.listen({ host: config.webHost, port: config.webPort });
stopOnSignals(
  log,
  async () => {
    await stopWebGracefully(app, ctx.ops, log, {
      drainMs: config.drainMs,
      timeoutMs: config.shutdownTimeoutMs,
    });
    ctx.backend.close();
  },
  config.drainMs + config.shutdownTimeoutMs + 5_000,
);
