// The front door on a host of its own (deploy/): HAProxy on FRONT_HOST:PORT in front of the web
// replicas in WEB_ADDRS, its admin listener on ADMIN_HOST:ADMIN_PORT. This writes HAProxy's
// configuration from the settings (into systemd's $RUNTIME_DIRECTORY, else FLOCK_DATA_DIR/front-door),
// then runs HAProxy as its child until told to stop: SIGTERM or SIGINT stop it
// gracefully (requests in flight finish within SHUTDOWN_TIMEOUT_MS).
//   node dist/cmd/front-door.js                 run it
//   node dist/cmd/front-door.js --print-config  print the configuration (for your own haproxy.service)
import { spawn } from "node:child_process";
import { join } from "node:path";
import { frontDoorSettings, haproxyConfig } from "../frontdoor/haproxy-config.js";
import { findHaproxy, GRACEFUL_STOP, haproxyArgs, writeHaproxyConfig } from "../frontdoor/haproxy.js";
import { loadConfig } from "../shared/config.js";
import { createLogger } from "../shared/logger.js";
import { installProcessPolicy } from "../shared/process-policy.js";

const config = loadConfig();
const settings = frontDoorSettings(config);
if (process.argv.includes("--print-config")) {
  process.stdout.write(haproxyConfig(settings));
  process.exit(0);
}
const log = createLogger("front-door", config.logLevel);
installProcessPolicy(log);
const file = join(process.env.RUNTIME_DIRECTORY || join(config.dataDir, "front-door"), "haproxy.cfg");
const binary = findHaproxy();
writeHaproxyConfig(binary, file, settings);
log.info(
  {
    file,
    binary,
    listen: `${settings.host}:${settings.port}`,
    admin: `${settings.adminHost}:${settings.adminPort}`,
  },
  "starting HAProxy",
);
const haproxy = spawn(binary, haproxyArgs(file), { stdio: ["ignore", "inherit", "inherit"] });
const stop = (signal: NodeJS.Signals) => {
  log.info({ signal }, "stopping HAProxy gracefully");
  haproxy.kill(GRACEFUL_STOP);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
haproxy.on("exit", (code, signal) => {
  log.info({ code, signal }, "HAProxy exited");
  process.exit(code ?? 1);
});
haproxy.on("error", (err) => {
  log.fatal({ err }, "could not run HAProxy");
  process.exit(1);
});
