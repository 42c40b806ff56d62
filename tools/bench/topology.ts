import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts, startEtcdCluster, type EtcdCluster } from "../../src/launcher/etcd-cluster.js";
import { Stack } from "../../src/launcher/stack.js";
import { HookClient } from "./hook-client.js";

export interface BenchProcess {
  role: string;
  name: string;
  pid: number;
}

/** How long a backend took to come back after a SIGKILL. */
export interface RestartTiming {
  name: string;
  killedPid: number;
  pid: number;
  /** From spawning the new process until its gRPC health said SERVING (view loaded, store answering). */
  readyMs: number;
  /** From spawning until its gRPC port accepted connections (before the view is loaded). */
  listeningMs: number;
  /** Set when it was not ready in time: why, and the end of its log. */
  failure?: string;
}

/** The Flock under test: where to send requests, its etcd, and its processes (by pid). */
export interface Topology {
  frontUrl: string;
  etcdEndpoints: string[];
  /** "started": this run started it in a temp dir; "target": a running deployment. */
  kind: "started" | "target";
  processes(): BenchProcess[];
  /** Each web replica's own address (its /metrics, and streams sent straight to it), by name. */
  webs(): { name: string; url: string }[];
  /** The front door's admin listener (/stats;csv), when known. */
  adminUrl?: string;
  /** The in-process hook of each started Flock process (heap after GC, CPU profiles); none for a target. */
  hooks?: HookClient;
  /** SIGKILLs the backend (by its pid), starts it again and times it until it is ready. */
  restartBackend?(name: string, timeoutMs: number, profileFile?: string): Promise<RestartTiming>;
  stop(): Promise<void>;
}

export interface StartOptions {
  scryptLogN: number;
  webReplicas?: number;
  backendReplicas?: number;
}

/**
 * The full topology of `npm start` (3 etcd members, backends, web replicas, front door) on
 * free loopback ports in a temp dir that is removed afterwards. Every Flock process preloads
 * process-hook.ts (heap figures and CPU profiles on the bench's request). Whatever was started
 * is stopped again if starting fails half way.
 */
export async function startTopology(options: StartOptions): Promise<Topology> {
  const dir = await mkdtemp(join(tmpdir(), "flock-bench-"));
  const hookDir = join(dir, "hooks");
  await mkdir(hookDir);
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
    const hook = new URL("./process-hook.js", import.meta.url).href;
    const env: NodeJS.ProcessEnv = {
      SCRYPT_LOG_N: String(options.scryptLogN),
      LOG_LEVEL: "warn",
      // The load comes from one address: the front door's rate limits would answer it 429.
      RATE_LIMITS: "off",
      BENCH_HOOK_DIR: hookDir,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${hook}`.trim(),
    };
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
  const pidOf = (name: string) => flock.processes().find((p) => p.name === name)?.pid;
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
    webs: () =>
      flock
        .processes()
        .filter((p) => p.role === "web")
        .map((p) => ({ name: p.name, url: `http://${p.address}` })),
    adminUrl: flock.adminUrl,
    hooks: new HookClient(hookDir),
    restartBackend: async (name, timeoutMs, profileFile) => {
      const killedPid = pidOf(name);
      if (killedPid === undefined) throw new Error(`${name} is not running`);
      await flock.killProcess(name);
      const flag = join(hookDir, "profile-startup");
      if (profileFile) await writeFile(flag, "");
      const spawned = performance.now();
      try {
        await flock.startProcess(name);
      } finally {
        if (profileFile) await rm(flag, { force: true });
      }
      const listeningMs = performance.now() - spawned;
      const failure = await flock.waitReady(name, timeoutMs).then(
        () => undefined,
        // Not ready in time is a result to report (with what the process said), not the end of the run.
        async (err: unknown) => {
          const log = await readFile(join(dir, "logs", `${name}.log`), "utf8").catch(() => "");
          return `${String(err)}; the end of its log:\n${log.split("\n").slice(-30).join("\n")}`;
        },
      );
      const readyMs = performance.now() - spawned;
      if (profileFile && !failure) await new HookClient(hookDir).profileStop(pidOf(name)!, profileFile);
      return {
        name,
        killedPid,
        pid: pidOf(name) ?? killedPid,
        readyMs: Math.round(readyMs),
        listeningMs: Math.round(listeningMs),
        failure,
      };
    },
    stop,
  };
}

/**
 * A deployment that is already running. Its processes (and the web replicas' addresses) are
 * read from `processesFile` (what `npm start` writes) when that exists, for the RSS and
 * stream-count reports; nothing is stopped, restarted or profiled.
 */
export function targetTopology(
  frontUrl: string,
  etcdEndpoints: string[],
  processesFile: string,
  adminUrl?: string,
): Topology {
  const listed = (): (BenchProcess & { address?: string })[] => {
    if (!existsSync(processesFile)) return [];
    const file = JSON.parse(readFileSync(processesFile, "utf8")) as {
      processes?: (BenchProcess & { address?: string })[];
    };
    return (file.processes ?? []).filter((p) => typeof p.pid === "number");
  };
  return {
    frontUrl,
    etcdEndpoints,
    kind: "target",
    processes: () => listed().map(({ role, name, pid }) => ({ role, name, pid })),
    webs: () =>
      listed()
        .filter((p) => p.role === "web" && typeof p.address === "string")
        .map((p) => ({ name: p.name, url: `http://${p.address}` })),
    adminUrl,
    stop: async () => undefined,
  };
}
