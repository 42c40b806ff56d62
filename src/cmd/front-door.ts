// The front door on PORT (8080): spreads requests over the web replicas in WEB_ADDRS.
import { startFrontDoor } from "../frontdoor/proxy.js";
import { createLogger } from "../shared/logger.js";
import { stopOnSignals } from "./signals.js";

const log = createLogger("front-door", process.env.LOG_LEVEL ?? "info");
const upstreams = (process.env.WEB_ADDRS ?? "127.0.0.1:8081,127.0.0.1:8082").split(",").filter(Boolean);
const door = await startFrontDoor({
  host: process.env.FRONT_HOST ?? "127.0.0.1",
  port: Number(process.env.PORT ?? 8080),
  upstreams,
  log,
});
stopOnSignals(log, () => door.close());
