import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts, startEtcdCluster, type EtcdCluster } from "../../src/launcher/etcd-cluster.js";
import { Stack } from "../../src/launcher/stack.js";

export interface BenchProcess {
  role: string;
  name: string;
  pid: number;
}

/** The Flock under test: where to send requests, its etcd, and its processes (by pid). */
export interface Topology {
  frontUrl: string;
  etcdEndpoints: string[];
  /** "started": this run started it in a temp dir; "target": a running deployment. */
  kind: "started" | "target";
  processes(): BenchProcess[];
  stop(): Promise<void>;
}

export interface StartOptions {
  scryptLogN: number;
  /** When set, every Flock process writes a V8 CPU profile there on exit (see cpu-profile-hook.ts). */
  cpuProfDir?: string;
  webReplicas?: number;
  backendReplicas?: number;
}

/**
 * The full topology of `npm start` (3 etcd members, backends, web replicas, front door) on
 * free loopback ports in a temp dir that is removed afterwards. Whatever was started is
 * stopped again if starting fails half way.
 */
export async function startTopology(options: StartOptions): Promise<Topology> {
  const dir = await mkdtemp(join(tmpdir(), "flock-bench-"));
  const webs = options.webReplicas ?? 2;
  const backends = options.backendReplicas ?? 2;
  let etcd: EtcdCluster | undefined;
  let stack: Stack | undefined;
  const stop = async () => {
    try {
      await stack?.stop();
    } finally {
      try {
        await etcd?.stop();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  };
  try {
    etcd = await startEtcdCluster({ dataDir: join(dir, "etcd") });
    const ports = await freePorts(1 + webs + backends);
    // The load comes from one address: the front door's rate limits would answer it 429.
    const env: NodeJS.ProcessEnv = {
      SCRYPT_LOG_N: String(options.scryptLogN),
      LOG_LEVEL: "warn",
      RATE_LIMITS: "off",
    };
    if (options.cpuProfDir) {
      env.BENCH_CPU_PROF_DIR = options.cpuProfDir;
      env.NODE_OPTIONS = `--import=${new URL("./cpu-profile-hook.js", import.meta.url).href}`;
    }
    stack = new Stack({
      storage: "etcd",
      dataDir: dir,
      frontPort: ports[0]!,
      webPorts: ports.slice(1, 1 + webs),
      backendPorts: ports.slice(1 + webs),
      etcdEndpoints: etcd.endpoints,
      env,
    });
    await stack.start();
  } catch (err) {
    await stop();
    throw err;
  }
  const [cluster, flock] = [etcd, stack];
  return {
    frontUrl: flock.frontUrl,
    etcdEndpoints: cluster.endpoints,
    kind: "started",
    processes: () => [
      ...flock.processes().map((p) => ({ role: p.role, name: p.name, pid: p.pid })),
      ...cluster.members.flatMap((m) =>
        m.pid === undefined ? [] : [{ role: "etcd", name: m.name, pid: m.pid }],
      ),
    ],
    stop,
  };
}

/**
 * A deployment that is already running. Its processes are read from `processesFile`
 * (what `npm start` writes) when that exists, for the peak-RSS report; nothing is stopped.
 */
export function targetTopology(frontUrl: string, etcdEndpoints: string[], processesFile: string): Topology {
  return {
    frontUrl,
    etcdEndpoints,
    kind: "target",
    processes: () => {
      if (!existsSync(processesFile)) return [];
      const listed = JSON.parse(readFileSync(processesFile, "utf8")) as { processes?: BenchProcess[] };
      return (listed.processes ?? []).filter((p) => typeof p.pid === "number");
    },
    stop: async () => undefined,
  };
}
