import { join } from "node:path";
import { freePorts, startEtcdCluster, type EtcdCluster } from "../../src/launcher/etcd-cluster.js";
import { listAlarms, recoverFromNoSpace } from "./etcd-admin.js";
import { EtcdNetwork } from "./network.js";

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

export interface ProxiedClusterOptions {
  dataDir: string;
  logDir?: string;
  /** Clients (backends) that each get their own proxy to every member. */
  clients: number;
  size?: number;
  quotaBackendBytes?: number;
}

/**
 * A 3-member etcd cluster behind fault proxies: members advertise their peer proxy to each
 * other, and each client reaches each member through a proxy of its own. The proxies live in
 * this process and outlive the members, so a member restart or a full restart keeps them.
 */
export class ProxiedCluster {
  private constructor(
    private current: EtcdCluster,
    readonly network: EtcdNetwork,
    private readonly options: ProxiedClusterOptions,
  ) {}

  static async start(options: ProxiedClusterOptions): Promise<ProxiedCluster> {
    const size = options.size ?? 3;
    const ports = await freePorts(size * 3 + options.clients * size);
    const take = (n: number) => ports.splice(0, n);
    const clientPorts = take(size);
    const peerPorts = take(size);
    const peerProxyPorts = take(size);
    const clientProxyPorts = Array.from({ length: options.clients }, () => take(size));
    const network = new EtcdNetwork({ peerPorts, peerProxyPorts, clientPorts, clientProxyPorts });
    await network.start();
    try {
      const cluster = await startEtcdCluster({
        dataDir: options.dataDir,
        logDir: options.logDir,
        size,
        clientPorts,
        peerPorts,
        advertisedPeerPorts: peerProxyPorts,
        quotaBackendBytes: options.quotaBackendBytes,
      });
      const proxied = new ProxiedCluster(cluster, network, options);
      await proxied.learnIds();
      return proxied;
    } catch (err) {
      await network.stop();
      throw err;
    }
  }

  get cluster(): EtcdCluster {
    return this.current;
  }

  /** Direct client URLs (the harness's own way in, never faulted). */
  get endpoints(): string[] {
    return this.current.endpoints;
  }

  /** Tells the proxies the members' current ids (after a start or a member replacement). */
  async learnIds(): Promise<void> {
    const ids = await this.current.memberIds();
    this.network.learnMemberIds(ids);
  }

  /** Stops every member and starts the cluster again from its data dir (the proxies stay up). */
  async restartAll(hard: boolean): Promise<void> {
    if (hard) await Promise.all(this.current.members.map((_, i) => this.current.kill(i, "SIGKILL")));
    await this.current.stop();
    this.current = await startEtcdCluster({
      dataDir: this.options.dataDir,
      logDir: this.options.logDir,
      quotaBackendBytes: this.options.quotaBackendBytes,
      // Three members replaying their WAL while the workload's clients pile up: on two shared
      // cores a long run once needed more than the launcher's 30 s.
      startTimeoutMs: 90_000,
    });
    await this.learnIds();
  }

  async replaceMember(i: number): Promise<{ removed: string; added: string }> {
    // Each step may take longer than the launcher's 30 s default here: the whole topology and
    // the workload share two cores with a new member replaying the raft log.
    const result = await this.current.replaceMember(i, 90_000);
    await this.learnIds();
    return result;
  }

  async stop(): Promise<void> {
    try {
      await this.current.stop();
    } finally {
      await this.network.stop();
    }
  }
}

/** Where a cluster's data and logs go inside a run's data dir. */
export function clusterDirs(dataDir: string): { dataDir: string; logDir: string } {
  return { dataDir: join(dataDir, "etcd"), logDir: join(dataDir, "logs") };
}

/**
 * Waits for a healthy cluster; an alarm raised meanwhile (NOSPACE) is cleared by the runbook.
 * Returns what each runbook run found and did.
 */
export async function healthyClearingAlarms(etcd: EtcdCluster, timeoutMs = 90_000): Promise<string[]> {
  const done: string[] = [];
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const alarms = await listAlarms(etcd.endpoints[0]!).catch(() => []);
    if (alarms.length > 0) {
      const recovered = await recoverFromNoSpace(etcd.endpoints);
      done.push(
        `${[...new Set(alarms.map((a) => a.alarm))].join("+")} ` +
          `(db ${recovered.before.map(mib).join("/")} → ${recovered.after.map(mib).join("/")} MiB)`,
      );
    }
    try {
      await etcd.waitHealthy(3_000);
      return done;
    } catch (err) {
      if (performance.now() > deadline) throw err;
    }
  }
}
