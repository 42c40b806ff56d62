import { etcdPeerIdentity, FaultProxy, OPEN_LINK, type Direction, type LinkState } from "./proxy.js";

export interface Latency {
  delayMs: number;
  jitterMs: number;
}

export interface EtcdNetworkPorts {
  /** Member i's real peer port, and the port its proxy listens on (what it advertises to peers). */
  peerPorts: readonly number[];
  peerProxyPorts: readonly number[];
  /** Member i's real client port. */
  clientPorts: readonly number[];
  /** clientProxyPorts[b][i]: where client b (a backend) reaches member i. */
  clientProxyPorts: readonly (readonly number[])[];
}

/**
 * The network between etcd members and their clients, as a set of fault proxies: one in front
 * of each member's peer port (members advertise it, so every raft message between two members
 * crosses the receiver's or the sender's proxy) and one per (client, member) pair in front of
 * the client ports, so one backend can be cut off alone.
 *
 * Links between members are directed: "a→b blocked" drops every byte member a sends to member b
 * — on connections b opened to a's proxy (the answer direction: rafthttp streams) and on those a
 * opened to b's proxy (the request direction: pipelines, snapshots). The proxy learns who opened
 * a peer connection from rafthttp's X-Server-From header, so one-way loss is exactly one-way.
 */
export class EtcdNetwork {
  readonly peerProxies: FaultProxy[];
  readonly clientProxies: FaultProxy[][];
  /** "a>b": what member a sends to member b is dropped. */
  private readonly blocked = new Set<string>();
  /** "c:m": client c and member m cannot reach each other. */
  private readonly clientCut = new Set<string>();
  private peerLatency: Latency | undefined;
  private readonly clientLatency = new Map<number, Latency>();
  /** Member ids in hex by index (from the cluster): how X-Server-From names are mapped to members. */
  private ids: string[] = [];

  constructor(
    private readonly ports: EtcdNetworkPorts,
    random: () => number = Math.random,
  ) {
    const n = ports.peerPorts.length;
    this.peerProxies = ports.peerPorts.map(
      (peerPort, m) =>
        new FaultProxy({
          name: `peer proxy of member ${m}`,
          listenPort: ports.peerProxyPorts[m]!,
          targetPort: peerPort,
          identify: etcdPeerIdentity,
          policy: (initiator, direction) => this.peerLink(m, initiator, direction, n),
          random,
        }),
    );
    this.clientProxies = ports.clientProxyPorts.map((row, c) =>
      row.map(
        (listenPort, m) =>
          new FaultProxy({
            name: `client ${c} → member ${m}`,
            listenPort,
            targetPort: ports.clientPorts[m]!,
            policy: () => this.clientLink(c, m),
            random,
          }),
      ),
    );
  }

  get members(): number {
    return this.ports.peerPorts.length;
  }

  /** Client c's etcd endpoints: its own proxies, one per member. */
  clientEndpoints(c: number): string[] {
    return this.ports.clientProxyPorts[c]!.map((port) => `http://127.0.0.1:${port}`);
  }

  async start(): Promise<void> {
    for (const proxy of this.allProxies()) await proxy.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.allProxies().map((p) => p.stop()));
  }

  /** Tells the network the members' ids (hex), after a start or a member replacement. */
  learnMemberIds(ids: readonly string[]): void {
    // A member that did not answer keeps the id it had (a restart does not change it).
    this.ids = ids.map((id, i) => (id ? id.toLowerCase() : (this.ids[i] ?? "")));
  }

  /** Drops everything `from` sends to `to` (one way). */
  dropOneWay(from: number, to: number): void {
    this.blocked.add(`${from}>${to}`);
    this.changed();
  }

  /** Cuts the cluster in two: no byte crosses between `side` and the other members, either way. */
  split(side: readonly number[]): void {
    for (let a = 0; a < this.members; a++) {
      for (let b = 0; b < this.members; b++) {
        if (side.includes(a) !== side.includes(b)) this.blocked.add(`${a}>${b}`);
      }
    }
    this.changed();
  }

  /** Member `m` alone on one side. */
  isolate(m: number): void {
    this.split([m]);
  }

  /** Client c can no longer reach these members (default: any member). */
  cutClient(c: number, members: readonly number[] = [...Array(this.members).keys()]): void {
    for (const m of members) this.clientCut.add(`${c}:${m}`);
    this.changed();
  }

  /** Client c reaches every member again (its latency, if any, stays). */
  reconnectClient(c: number): void {
    for (const link of [...this.clientCut]) if (link.startsWith(`${c}:`)) this.clientCut.delete(link);
    this.changed();
  }

  slowPeers(latency: Latency): void {
    this.peerLatency = latency;
    this.changed();
  }

  /** Latency on client c's links to every member; undefined takes it away. */
  slowClient(c: number, latency: Latency | undefined): void {
    if (latency) this.clientLatency.set(c, latency);
    else this.clientLatency.delete(c);
    this.changed();
  }

  /** Every link open and fast again; connections that lost bytes are reset. */
  heal(): void {
    this.blocked.clear();
    this.clientCut.clear();
    this.peerLatency = undefined;
    this.clientLatency.clear();
    this.changed();
  }

  /** What is in force, for logs and reports. */
  describe(): string {
    const parts: string[] = [];
    if (this.blocked.size > 0)
      parts.push(`blocked ${[...this.blocked].map((l) => l.replace(">", "→")).join(" ")}`);
    if (this.clientCut.size > 0) parts.push(`clients cut ${[...this.clientCut].join(" ")}`);
    if (this.peerLatency) parts.push(`peers +${this.peerLatency.delayMs}±${this.peerLatency.jitterMs} ms`);
    for (const [c, l] of this.clientLatency) parts.push(`client ${c} +${l.delayMs}±${l.jitterMs} ms`);
    return parts.length > 0 ? parts.join("; ") : "healthy";
  }

  private changed(): void {
    for (const proxy of this.allProxies()) proxy.refresh();
  }

  private allProxies(): FaultProxy[] {
    return [...this.peerProxies, ...this.clientProxies.flat()];
  }

  /**
   * The link state for a byte crossing member m's peer proxy on a connection opened by
   * `initiator`: "up" travels initiator → m, "down" m → initiator. A connection from an unknown
   * initiator (a probe, a lease forward) is cut only when m is cut off from every other member
   * in that direction.
   */
  private peerLink(m: number, initiator: string | undefined, direction: Direction, n: number): LinkState {
    const latency = this.peerLatency ?? OPEN_LINK;
    const other = initiator === undefined ? -1 : this.ids.indexOf(initiator);
    let blackhole: boolean;
    if (other >= 0 && other !== m) {
      blackhole = direction === "up" ? this.blocked.has(`${other}>${m}`) : this.blocked.has(`${m}>${other}`);
    } else {
      const others = [...Array(n).keys()].filter((o) => o !== m);
      blackhole = others.every((o) => this.blocked.has(direction === "up" ? `${o}>${m}` : `${m}>${o}`));
    }
    return { blackhole, delayMs: latency.delayMs, jitterMs: latency.jitterMs };
  }

  private clientLink(c: number, m: number): LinkState {
    const latency = this.clientLatency.get(c) ?? OPEN_LINK;
    return {
      blackhole: this.clientCut.has(`${c}:${m}`),
      delayMs: latency.delayMs,
      jitterMs: latency.jitterMs,
    };
  }
}
