import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { freePorts, type EtcdCluster } from "../../src/launcher/etcd-cluster.js";
import { Stack, twoByTwo } from "../../src/launcher/stack.js";
import { MovableClock } from "./clock.js";
import type { EtcdNetwork } from "./network.js";
import { clusterDirs, healthyClearingAlarms, ProxiedCluster } from "./proxied-cluster.js";

export const BACKENDS = ["backend-1", "backend-2"] as const;
export const WEBS = ["web-1", "web-2"] as const;
const STACK_ORDER = [...BACKENDS, ...WEBS, "front-door"] as const;

/**
 * The backend quota of the chaos cluster: small, so the full-disk fault reaches NOSPACE in a
 * few seconds, and still several times what the workload's history needs between two of
 * etcd's periodic compactions.
 */
export const CHAOS_QUOTA_BYTES = 48 * 1024 * 1024;

/**
 * How fast the workload's live data grows in etcd: what the runbook cannot free (posts,
 * follows, applied-marks). Two long runs' databases, right after each runbook, grew by 12 and
 * 20 MiB per 1,000 s; at 48 MiB the first filled the quota after an hour, and writes stayed
 * refused. With some margin:
 */
const LIVE_BYTES_PER_SECOND = (24 * 1024 * 1024) / 1000;

/** The quota for a run planned to last `plannedSeconds`: the base, plus what its data will grow by. */
export function chaosQuotaBytes(plannedSeconds: number): number {
  const mib = 1024 * 1024;
  return CHAOS_QUOTA_BYTES + Math.ceil((plannedSeconds * LIVE_BYTES_PER_SECOND) / mib) * mib;
}

export interface TopologyOptions {
  quotaBackendBytes?: number;
}

/**
 * The full topology for one chaos run, all in `dataDir`: 3 etcd members behind fault proxies
 * (one per peer port, one per backend and member in front of the client ports), 2 backends on
 * clocks the run can move (libfaketime, a timestamp file each), 2 web replicas and the front
 * door, each a separate process. Every change (kill, restart, heal, stop) runs one at a time
 * through a queue, and nothing starts once stop() was called, so an aborted run cannot leave
 * a process behind.
 */
export class Topology {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Flock processes found dead without having been killed on purpose (a product crash). */
  readonly unexpectedExits: string[] = [];

  private constructor(
    private readonly dataDir: string,
    readonly proxied: ProxiedCluster,
    readonly stack: Stack,
    private readonly clocks: MovableClock[],
    readonly quotaBytes: number,
  ) {}

  static async start(dataDir: string, options: TopologyOptions = {}): Promise<Topology> {
    const quotaBytes = options.quotaBackendBytes ?? CHAOS_QUOTA_BYTES;
    const proxied = await ProxiedCluster.start({
      ...clusterDirs(dataDir),
      clients: BACKENDS.length,
      quotaBackendBytes: quotaBytes,
    });
    let stack: Stack | undefined;
    try {
      const clockDir = join(dataDir, "clocks");
      mkdirSync(clockDir, { recursive: true });
      const clocks = BACKENDS.map((name) => new MovableClock(join(clockDir, `${name}.faketime`)));
      const ports = await freePorts(5);
      stack = new Stack({
        ...twoByTwo(ports, dataDir, proxied.endpoints),
        // Each backend reaches etcd through its own proxies, on a clock the run can move.
        backendEnv: (i) => ({
          ETCD_ENDPOINTS: proxied.network.clientEndpoints(i).join(","),
          ...clocks[i]!.env(),
        }),
      });
      await stack.start();
      return new Topology(dataDir, proxied, stack, clocks, quotaBytes);
    } catch (err) {
      await stack?.stop();
      await proxied.stop();
      throw err;
    }
  }

  get etcd(): EtcdCluster {
    return this.proxied.cluster;
  }

  get network(): EtcdNetwork {
    return this.proxied.network;
  }

  get frontUrl(): string {
    return this.stack.frontUrl;
  }

  get backendAddrs(): string[] {
    return this.stack.backendAddrs;
  }

  logFile(name: string): string {
    return join(this.dataDir, "logs", `${name}.log`);
  }

  /** Runs one change after the previous one; refused once the topology is stopped. */
  change<T>(what: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw new Error("topology is stopped");
      return what();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  pidOf(name: string): number | undefined {
    return this.stack.processes().find((p) => p.name === name)?.pid;
  }

  /**
   * Sets backend i's wall clock, in libfaketime's syntax relative to the real clock ("+3m",
   * "-90s", "+0"). The backend reads it within a second (FAKETIME_CACHE_DURATION): a clock can
   * jump while the process runs, backwards too. Its monotonic clock is never touched.
   */
  setClock(i: number, offset: string): void {
    this.clocks[i]!.set(offset);
  }

  /**
   * Stops every Flock process and every etcd member (SIGKILL when `hard`, else SIGTERM),
   * then starts them all again on the same data. Returns how long each phase took.
   */
  fullRestart(hard: boolean, onStart: () => void = () => undefined): Promise<string> {
    return this.change(async () => {
      onStart();
      const t0 = Date.now();
      if (hard) {
        await Promise.all(STACK_ORDER.map((name) => this.stack.killProcess(name)));
      } else {
        await this.stack.stop();
      }
      const t1 = Date.now();
      await this.proxied.restartAll(hard);
      const t2 = Date.now();
      await this.stack.start();
      const s = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
      return `Flock stop ${s(t1 - t0)}, etcd restart ${s(t2 - t1)}, Flock up ${s(Date.now() - t2)}`;
    });
  }

  /**
   * Everything back: links healed, clocks true, paused members resumed, dead members and
   * processes started again, a NOSPACE alarm cleared, etcd healthy.
   */
  heal(): Promise<void> {
    return this.change(async () => {
      this.network.heal();
      for (const clock of this.clocks) clock.set("+0");
      const etcd = this.etcd;
      for (let i = 0; i < etcd.members.length; i++) {
        if (etcd.members[i]!.pid === undefined) {
          // Health waits for no alarm, cleared just below.
          await etcd.restart(i).catch(() => undefined);
        } else await etcd.kill(i, "SIGCONT");
      }
      await healthyClearingAlarms(this.etcd);
      await this.proxied.learnIds();
      for (const name of STACK_ORDER) {
        const pid = this.pidOf(name);
        if (pid !== undefined && !isAlive(pid)) {
          this.unexpectedExits.push(name);
          await this.stack.stopProcess(name);
        }
        await this.stack.startProcess(name);
      }
    });
  }

  /** Stops everything (after any change in progress); safe to call twice. */
  async stop(): Promise<void> {
    this.closed = true;
    await this.queue;
    await this.stack.stop().catch(() => undefined);
    await this.proxied.stop();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
