// `npm start`: the whole topology on this machine. 3 etcd members, 2 backends, 2 web
// replicas and the front door (HAProxy) on :8080, its admin listener on 127.0.0.1:8090
// (STORAGE=memory: 1 backend, no etcd).
import { writeFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { DEFAULT_BACKEND_PORT, loadConfig, METRICS_PORT_OFFSET } from "../shared/config.js";
import { startEtcdCluster, type EtcdCluster } from "../launcher/etcd-cluster.js";
import { ensureEtcdInstalled } from "../launcher/install-etcd.js";
import { ensureHaproxyInstalled } from "../frontdoor/haproxy.js";
import { assertPortsFree } from "../launcher/ports.js";
import { Stack } from "../launcher/stack.js";
import { createLogger } from "../shared/logger.js";
import { installProcessPolicy } from "../shared/process-policy.js";
import { migrateV1 } from "../backend/migrate-v1.js";
import { EtcdKv } from "../storage/etcd/kv.js";
import { stopOnSignals } from "./signals.js";

const ETCD_CLIENT_PORTS = [2379, 2381, 2383];
const ETCD_PEER_PORTS = [2380, 2382, 2384];
// Every default port is below Linux's ephemeral range (32768–60999): the launcher's own
// connections to etcd would otherwise be handed one of them now and then.
const WEB_PORT_BASE = 8081;
const BACKEND_PORT_BASE = DEFAULT_BACKEND_PORT;

const config = loadConfig();
const log = createLogger("launcher", config.logLevel);
installProcessPolicy(log);
const dataDir = resolve(config.dataDir);
mkdirSync(dataDir, { recursive: true });

ensureHaproxyInstalled();
let etcd: EtcdCluster | undefined;
if (config.storage === "etcd") {
  ensureEtcdInstalled();
  await preflight(
    ETCD_CLIENT_PORTS.map((port, i) => ({
      host: "127.0.0.1",
      port,
      what: `etcd member ${i} (client)`,
    })).concat(
      ETCD_PEER_PORTS.map((port, i) => ({ host: "127.0.0.1", port, what: `etcd member ${i} (peer)` })),
    ),
  );
  etcd = await startEtcdCluster({
    dataDir: join(dataDir, "etcd"),
    clientPorts: ETCD_CLIENT_PORTS,
    peerPorts: ETCD_PEER_PORTS,
    logDir: join(dataDir, "logs"),
    // Ctrl-C reaches only this launcher, which stops the members one by one: stopped all at
    // once, a leader spends seconds trying to hand over to members that are leaving too.
    detached: true,
  });
}

// Data of an earlier Flock (key layout v1) is upgraded in place, once, before any backend starts
// (backends would do it too; here it is done in view of whoever runs `npm start`).
if (etcd) await upgradeLayout(etcd.endpoints);

// The memory store lives inside one process, so it can only back a single backend.
const backends = config.storage === "memory" ? 1 : config.backendReplicas;
const stack = new Stack({
  storage: config.storage,
  dataDir,
  frontPort: config.frontPort,
  adminPort: config.adminPort,
  webPorts: Array.from({ length: config.webReplicas }, (_, i) => WEB_PORT_BASE + i),
  backendPorts: Array.from({ length: backends }, (_, i) => BACKEND_PORT_BASE + i),
  backendMetricsPorts: Array.from(
    { length: backends },
    (_, i) => BACKEND_PORT_BASE + METRICS_PORT_OFFSET + i,
  ),
  etcdEndpoints: etcd?.endpoints,
});

stopOnSignals(
  log,
  async () => {
    await stack.stop();
    await etcd?.stop();
  },
  30_000,
);

try {
  await stack.start();
} catch (err) {
  console.error(String(err));
  await stack.stop();
  await etcd?.stop();
  process.exit(1);
}

const leader = etcd ? await etcd.leaderIndex().catch(() => -1) : -1;
const processes = [
  ...(etcd?.members ?? []).map((m, i) => ({
    role: "etcd",
    name: m.name,
    address: m.clientUrl,
    pid: m.pid,
    leader: i === leader,
  })),
  ...stack.processes(),
];
writeFileSync(
  join(dataDir, "processes.json"),
  JSON.stringify({ storage: config.storage, processes }, null, 2) + "\n",
);

console.log(`\nFlock is running (STORAGE=${config.storage}, data in ${dataDir})\n`);
for (const p of processes) {
  const lead = "leader" in p && p.leader ? "  (leader)" : "";
  console.log(`  ${p.role.padEnd(10)} ${p.name.padEnd(11)} ${p.address.padEnd(24)} pid ${p.pid}${lead}`);
}
console.log(`\n  Open ${stack.frontUrl}  ·  logs in ${join(dataDir, "logs")}  ·  Ctrl-C stops everything`);
console.log(
  `  Operators (admin listener, keep private): cluster view ${stack.adminUrl}/cluster  ·  ` +
    `front door stats ${stack.adminUrl}/stats and metrics ${stack.adminUrl}/metrics`,
);
console.log(
  `  Metrics of each web replica on its own port (:${WEB_PORT_BASE}+/metrics), ` +
    `of each backend on :${BACKEND_PORT_BASE + METRICS_PORT_OFFSET}+/metrics` +
    (config.rateLimits ? "" : "  ·  RATE_LIMITS=off: no rate limits") +
    "\n",
);

/** Says which port is taken, and by what, before anything starts. */
async function preflight(ports: Parameters<typeof assertPortsFree>[0]): Promise<void> {
  try {
    await assertPortsFree(ports);
  } catch (err) {
    console.error(String(err instanceof Error ? err.message : err));
    process.exit(1);
  }
}

async function upgradeLayout(endpoints: string[]): Promise<void> {
  const kv = new EtcdKv({ endpoints, prefix: config.etcdPrefix, timeoutMs: config.etcdTimeoutMs });
  try {
    const report = await migrateV1(kv, config.etcdPrefix, {
      info: (fields, message) => console.log(`  ${message} ${JSON.stringify(fields)}`),
    });
    if (report) {
      console.log(
        `Upgraded the data in ${dataDir} from key layout v1 to v2: ${report.accounts} accounts, ` +
          `${report.sessions} sessions, ${report.follows} follows, ${report.posts} posts ` +
          `(${report.deletedV1Keys} v1 keys removed, ${report.seconds.toFixed(1)} s).`,
      );
    }
  } finally {
    await kv.close();
  }
}
