import { noop } from "cockatiel";
import { Etcd3 } from "etcd3";
import type { EtcdMemberStatus, GetClusterStatusResponse } from "../../gen/flock/ops/v1/ops.js";
import type { EtcdCredentials } from "../../storage/etcd/client.js";

/**
 * Reads each etcd member's own status (leader, raft term and index, db size) by asking that
 * member directly, with a short deadline. Maintenance status is answered locally by a
 * member, without Raft, so a member cut off from the majority still reports, and a dead one
 * shows as unreachable.
 */
export class EtcdStatusReader {
  private readonly clients: { endpoint: string; client: Etcd3 }[];
  /**
   * Member names by id (decimal) and by client URL, learned from a member list, so a member
   * that is down still shows its name.
   */
  private readonly names = new Map<string, string>();
  private readonly namesByEndpoint = new Map<string, string>();
  private listedAt = 0;

  constructor(
    endpoints: readonly string[],
    credentials: EtcdCredentials | undefined,
    private readonly timeoutMs = 1000,
  ) {
    this.clients = endpoints.map((endpoint) => ({
      endpoint,
      client: new Etcd3({
        hosts: [endpoint],
        credentials,
        dialTimeout: timeoutMs,
        // One member per client and no retries: the answer is about that member, now.
        faultHandling: { global: noop, host: () => noop },
      }),
    }));
  }

  async read(): Promise<GetClusterStatusResponse> {
    const members = await Promise.all(
      this.clients.map(({ endpoint, client }) => this.member(endpoint, client)),
    );
    return { storage: "etcd", members, checkedAtMs: Date.now() };
  }

  close(): void {
    for (const { client } of this.clients) client.close();
  }

  private async member(endpoint: string, client: Etcd3): Promise<EtcdMemberStatus> {
    const deadline = () => ({ deadline: Date.now() + this.timeoutMs });
    try {
      const status = await client.maintenance.status(deadline());
      const id = status.header.member_id;
      if (!this.names.has(id) || Date.now() - this.listedAt > 30_000) {
        this.listedAt = Date.now();
        const list = await client.cluster.memberList({}, deadline()).catch(() => undefined);
        for (const m of list?.members ?? []) {
          this.names.set(m.ID, m.name);
          for (const url of m.clientURLs) this.namesByEndpoint.set(url, m.name);
        }
      }
      return {
        endpoint,
        reachable: true,
        error: "",
        name: this.names.get(id) ?? "",
        memberId: hex(id),
        leaderId: hex(status.leader),
        isLeader: status.leader !== "0" && status.leader === id,
        raftTerm: Number(status.raftTerm),
        raftIndex: Number(status.raftIndex),
        raftAppliedIndex: Number(status.raftAppliedIndex ?? 0),
        dbSizeBytes: Number(status.dbSize),
        dbSizeInUseBytes: Number(status.dbSizeInUse ?? 0),
        version: status.version,
        alarms: status.errors ?? [],
      };
    } catch (err) {
      return {
        endpoint,
        reachable: false,
        error: err instanceof Error ? err.message.slice(0, 200) : String(err),
        name: this.namesByEndpoint.get(endpoint) ?? "",
        memberId: "",
        leaderId: "",
        isLeader: false,
        raftTerm: 0,
        raftIndex: 0,
        raftAppliedIndex: 0,
        dbSizeBytes: 0,
        dbSizeInUseBytes: 0,
        version: "",
        alarms: [],
      };
    }
  }
}

/** etcd's uint64 ids arrive as decimal strings; etcdctl shows them in hex. */
function hex(id: string | undefined): string {
  if (!id || id === "0") return "";
  try {
    return BigInt(id).toString(16);
  } catch {
    return id;
  }
}
