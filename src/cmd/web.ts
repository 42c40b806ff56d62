// A web replica: HTML pages and the JSON API on WEB_HOST:WEB_PORT, calling backends at BACKEND_ADDRS.
import { loadConfig } from "../config.js";
import { BackendClients } from "../grpc/client.js";
import { createLogger } from "../shared/logger.js";
import { buildWebApp } from "../web/app.js";
import { stopOnSignals } from "./signals.js";

const config = loadConfig();
const log = createLogger("web", config.logLevel);
const backend = new BackendClients(config.backendAddrs, config.grpcTimeoutMs);
const app = await buildWebApp({ backend, log, cookieSecure: config.cookieSecure });
await app.listen({ host: config.webHost, port: config.webPort });
stopOnSignals(log, async () => {
  await app.close();
  backend.close();
});
