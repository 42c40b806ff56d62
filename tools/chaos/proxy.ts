import { createServer, connect, type Server, type Socket } from "node:net";

/**
 * A TCP fault proxy, like the one etcd's functional tester puts in front of each member's
 * peer port: it forwards connections from `listenPort` to `targetPort` and, chunk by chunk,
 * lets a policy decide whether the bytes get through and how late. It needs no kernel feature
 * (no iptables, no tc), so partitions, one-way loss and slow links run anywhere.
 *
 * Directions are those of a connection: "up" carries what its initiator sends to the target,
 * "down" what the target answers. The policy is asked again at delivery time, so a change
 * (block, heal, slow down) applies at once, also to connections already open and to bytes
 * already queued.
 */
export type Direction = "up" | "down";

export interface LinkState {
  /** Bytes are dropped: the connection stays open, nothing arrives (a partition). */
  blackhole: boolean;
  /** Added one-way latency, and a uniform jitter of ± jitterMs around it. */
  delayMs: number;
  jitterMs: number;
}

export const OPEN_LINK: LinkState = Object.freeze({ blackhole: false, delayMs: 0, jitterMs: 0 });

/**
 * Decides each chunk's fate from who opened the connection (`initiator`, as `identify` named
 * it; undefined when unknown) and the direction it travels.
 */
export type ProxyPolicy = (initiator: string | undefined, direction: Direction) => LinkState;

/** Returned by `identify` while the first bytes do not tell yet. */
export const NEED_MORE = Symbol("need more bytes");

export interface FaultProxyOptions {
  name: string;
  listenPort: number;
  targetPort: number;
  host?: string;
  policy: ProxyPolicy;
  /**
   * Names the initiator of a connection from its first bytes (e.g. etcd's X-Server-From
   * header); NEED_MORE to wait for more. Without it every initiator is undefined.
   */
  identify?: (head: Buffer) => string | undefined | typeof NEED_MORE;
  /** [0, 1) source for the jitter (tests pass a fixed one). */
  random?: () => number;
}

/** Bytes waited on before identification gives up and calls the initiator unknown. */
const IDENTIFY_LIMIT = 16 * 1024;
/** A direction whose queue holds more than this stops reading its source until it drains. */
const HIGH_WATER = 1024 * 1024;

export interface ProxyStats {
  connections: number;
  bytesForwarded: number;
  bytesDropped: number;
}

export class FaultProxy {
  private server: Server | undefined;
  private readonly connections = new Set<ProxiedConnection>();
  readonly stats: ProxyStats = { connections: 0, bytesForwarded: 0, bytesDropped: 0 };

  constructor(readonly options: FaultProxyOptions) {}

  get listenPort(): number {
    return this.options.listenPort;
  }

  async start(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.listenPort, this.options.host ?? "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
  }

  /**
   * To call after the policy changed: connections that lost bytes while blackholed carry a
   * broken stream, so once their link is open again they are reset (as the peers' own timeouts
   * would do with a real partition), and both ends reconnect cleanly.
   */
  refresh(): void {
    for (const connection of this.connections) connection.resetIfHealed();
  }

  /** Resets every open connection (both ends see a closed socket). */
  resetAll(): void {
    for (const connection of this.connections) connection.destroy();
  }

  openConnections(): number {
    return this.connections.size;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.resetAll();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  private accept(socket: Socket): void {
    if (!this.server) {
      socket.destroy();
      return;
    }
    this.stats.connections++;
    const upstream = connect({ host: this.options.host ?? "127.0.0.1", port: this.options.targetPort });
    const connection = new ProxiedConnection(socket, upstream, this.options, this.stats, () =>
      this.connections.delete(connection),
    );
    this.connections.add(connection);
  }
}

interface Chunk {
  data: Buffer;
  at: number;
}

/** One accepted connection and its connection to the target, with a delivery queue per direction. */
class ProxiedConnection {
  private initiator: string | undefined;
  private identified: boolean;
  private head: Buffer[] = [];
  private headBytes = 0;
  private damaged = false;
  private closed = false;
  private readonly lanes: Record<Direction, Lane>;

  constructor(
    private readonly client: Socket,
    private readonly target: Socket,
    private readonly options: FaultProxyOptions,
    private readonly stats: ProxyStats,
    private readonly onClose: () => void,
  ) {
    this.identified = options.identify === undefined;
    this.lanes = {
      up: new Lane(client, target, "up", this),
      down: new Lane(target, client, "down", this),
    };
    for (const socket of [client, target]) {
      socket.setNoDelay(true);
      socket.on("error", () => this.destroy());
      socket.on("close", () => this.destroy());
    }
    client.on("data", (data: Buffer) => this.fromClient(data));
    target.on("data", (data: Buffer) => this.lanes.down.push(data));
    client.on("end", () => this.lanes.up.endWhenDrained());
    target.on("end", () => this.lanes.down.endWhenDrained());
  }

  /** The link state for one direction, now. */
  state(direction: Direction): LinkState {
    return this.options.policy(this.initiator, direction);
  }

  random(): number {
    return (this.options.random ?? Math.random)();
  }

  forwarded(bytes: number): void {
    this.stats.bytesForwarded += bytes;
  }

  dropped(bytes: number): void {
    this.stats.bytesDropped += bytes;
    this.damaged = true;
  }

  resetIfHealed(): void {
    if (this.damaged && !this.state("up").blackhole && !this.state("down").blackhole) this.destroy();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.lanes.up.clear();
    this.lanes.down.clear();
    this.client.destroy();
    this.target.destroy();
    this.onClose();
  }

  private fromClient(data: Buffer): void {
    if (this.identified) {
      this.lanes.up.push(data);
      return;
    }
    this.head.push(data);
    this.headBytes += data.length;
    const head = Buffer.concat(this.head);
    const who = this.options.identify!(head);
    if (who === NEED_MORE && this.headBytes < IDENTIFY_LIMIT) return;
    this.initiator = who === NEED_MORE ? undefined : who;
    this.identified = true;
    this.head = [];
    this.lanes.up.push(head);
  }
}

/** One direction of a connection: chunks in order, each delivered at its time unless blackholed then. */
class Lane {
  private readonly queue: Chunk[] = [];
  private queuedBytes = 0;
  private lastAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private ending = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly direction: Direction,
    private readonly connection: ProxiedConnection,
  ) {}

  push(data: Buffer): void {
    const { delayMs, jitterMs } = this.connection.state(this.direction);
    const now = performance.now();
    const jitter = jitterMs > 0 ? (this.connection.random() * 2 - 1) * jitterMs : 0;
    // Order is kept: a chunk never overtakes the one before it, whatever its jitter.
    const at = Math.max(this.lastAt, now + Math.max(0, delayMs + jitter));
    this.lastAt = at;
    this.queue.push({ data, at });
    this.queuedBytes += data.length;
    if (this.queuedBytes > HIGH_WATER) this.from.pause();
    this.pump();
  }

  endWhenDrained(): void {
    this.ending = true;
    this.pump();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      const chunk = this.queue.shift()!;
      this.queuedBytes -= chunk.data.length;
      // Asked again now: a partition that began while the chunk waited drops it.
      if (this.connection.state(this.direction).blackhole) {
        this.connection.dropped(chunk.data.length);
      } else if (!this.to.destroyed) {
        this.connection.forwarded(chunk.data.length);
        this.to.write(chunk.data);
      }
    }
    if (this.queuedBytes <= HIGH_WATER && this.from.isPaused()) this.from.resume();
    if (this.queue.length > 0) {
      this.timer = setTimeout(() => this.pump(), Math.max(0, this.queue[0]!.at - now));
    } else if (this.ending && !this.to.destroyed) {
      this.to.end();
    }
  }
}

/**
 * etcd's peers (rafthttp) name themselves in every request: `X-Server-From: <member id in
 * hex>`. A connection's first request head tells who opened it; a head without that header
 * (a probe, a lease forward) is from an unknown initiator.
 */
export function etcdPeerIdentity(head: Buffer): string | undefined | typeof NEED_MORE {
  const end = head.indexOf("\r\n\r\n");
  if (end < 0) return NEED_MORE;
  const match = /\r\nx-server-from:\s*([0-9a-f]+)\s*\r\n/i.exec(head.subarray(0, end + 2).toString("latin1"));
  return match ? match[1]!.toLowerCase() : undefined;
}
