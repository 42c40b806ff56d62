import { join } from "node:path";
import { freePorts, startEtcdCluster, type EtcdCluster } from "../../src/launcher/etcd-cluster.js";
import { Stack, twoByTwo } from "../../src/launcher/stack.js";

export const BACKENDS = ["backend-1", "backend-2"] as const;
export const WEBS = ["web-1", "web-2"] as const;
const STACK_ORDER = [...BACKENDS, ...WEBS, "front-door"] as const;

/**
 * The full topology for one chaos run, all in `dataDir`: 3 etcd members on free ports,
 * 2 backends, 2 web replicas and the front door, each a separate process. Every change
 * (kill, restart, heal, stop) runs one at a time through a queue, and nothing starts once
 * stop() was called, so an aborted run cannot leave a process behind.
 */
export class Topology {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Flock processes found dead without having been killed on purpose (a product crash). */
  readonly unexpectedExits: string[] = [];

  private constructor(
    private readonly dataDir: string,
    private etcdCluster: EtcdCluster,
    readonly stack: Stack,
  ) {}

  static async start(dataDir: string): Promise<Topology> {
    const etcd = await startEtcdCluster({ dataDir: join(dataDir, "etcd"), logDir: join(dataDir, "logs") });
    let stack: Stack | undefined;
    try {
      const ports = await freePorts(5);
      // Cheap password hashing keeps signups and logins from eating the 2 cores the run has.
      stack = new Stack(twoByTwo(ports, dataDir, etcd.endpoints));
      await stack.start();
      return new Topology(dataDir, etcd, stack);
    } catch (err) {
      await stack?.stop();
      await etcd.stop();
      throw err;
    }
  }

  get etcd(): EtcdCluster {
    return this.etcdCluster;
  }

  get frontUrl(): string {
    return this.stack.frontUrl;
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
   * Stops every Flock process and every etcd member (SIGKILL when `hard`, else SIGTERM),
   * then starts them all again on the same data. Returns how long each phase took.
   */
  fullRestart(hard: boolean, onStart: () => void = () => undefined): Promise<string> {
    return this.change(async () => {
      onStart();
      const t0 = Date.now();
      if (hard) {
        await Promise.all(STACK_ORDER.map((name) => this.stack.killProcess(name)));
        await Promise.all(this.etcdCluster.members.map((_, i) => this.etcdCluster.kill(i, "SIGKILL")));
      } else {
        await this.stack.stop();
      }
      await this.etcdCluster.stop();
      const t1 = Date.now();
      this.etcdCluster = await startEtcdCluster({
        dataDir: join(this.dataDir, "etcd"),
        logDir: join(this.dataDir, "logs"),
      });
      const t2 = Date.now();
      await this.stack.start();
      const s = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
      return `stop ${s(t1 - t0)}, etcd up ${s(t2 - t1)}, Flock up ${s(Date.now() - t2)}`;
    });
  }

  /** Everything back: paused members resumed, dead members and processes started again, etcd healthy. */
  heal(): Promise<void> {
    return this.change(async () => {
      const etcd = this.etcdCluster;
      for (let i = 0; i < etcd.members.length; i++) {
        if (etcd.members[i]!.pid === undefined) await etcd.restart(i);
        else await etcd.kill(i, "SIGCONT");
      }
      await etcd.waitHealthy();
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
    await this.etcdCluster.stop();
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
