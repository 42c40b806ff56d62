// The front door on FRONT_HOST:PORT (8080): spreads requests over the ready web replicas in WEB_ADDRS.
import { loadConfig } from "../shared/config.js";
import { startFrontDoor } from "../frontdoor/proxy.js";
import { createLogger } from "../shared/logger.js";
import { stopOnSignals } from "./signals.js";

const config = loadConfig();
const log = createLogger("front-door", config.logLevel);
const door = await startFrontDoor({
  host: config.frontHost,
  port: config.frontPort,
  upstreams: config.webAddrs,
  log,
  probeIntervalMs: config.probeIntervalMs,
  shutdownTimeoutMs: config.shutdownTimeoutMs,
  defaultMetrics: true,
});
stopOnSignals(log, () => door.close(), config.shutdownTimeoutMs + 5_000);
