import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants as fsConstants, existsSync, openSync, closeSync, mkdirSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { delimiter, dirname, join } from "node:path";
import { randomBytes } from "node:crypto";

/**
 * Runs a local etcd cluster as child processes: the launcher (`npm start`, fixed ports,
 * persistent data dir) and the tests (free ports, temp dir, one cluster per test file)
 * both use it. Members listen on loopback only.
 */

export const INSTALL_HINT = "install with `apt-get install -y etcd-server`";
const FALLBACK_ETCD = "/usr/bin/etcd";
/** History older than this is compacted away; without it etcd grows until its quota alarm (NOSPACE). */
const AUTO_COMPACTION_RETENTION = "5m";
/** Above etcd's 2 GiB default so a long demo run has room, below the 8 GiB etcd recommends as a maximum. */
const QUOTA_BACKEND_BYTES = 4 * 1024 ** 3;
const LAYOUT_FILE = "cluster.json";
const HOST = "127.0.0.1";

export interface EtcdClusterOptions {
  /** Holds one data dir per member and the cluster layout; reused (same ports) on a later start. */
  dataDir: string;
  size?: number;
  /** Fixed ports, one per member; free loopback ports are picked when omitted. */
  clientPorts?: number[];
  peerPorts?: number[];
  /**
   * Where peers reach each member, when not on its own peer port: the port of a proxy in front
   * of it (fault injection, as etcd's functional tester does). Members advertise these to each
   * other and listen on `peerPorts`; kept in the layout like the other ports.
   */
  advertisedPeerPorts?: number[];
  /** The backend quota (--quota-backend-bytes) past which etcd raises its NOSPACE alarm. */
  quotaBackendBytes?: number;
  /** Where each member's log goes (`<name>.log`); defaults to `dataDir`. */
  logDir?: string;
  /** How long to wait for the cluster to elect a leader and answer health checks. */
  startTimeoutMs?: number;
  /**
   * Run members in their own process group, so a terminal's Ctrl-C reaches only the caller,
   * which then stops them in order (fast; see stop()). The caller must stop() on every exit path.
   */
  detached?: boolean;
}

export interface EtcdMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly clientUrl: string;
  /** Where the member listens for its peers. */
  readonly peerUrl: string;
  /** Where its peers reach it: peerUrl, or a proxy in front of it. */
  readonly advertisedPeerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** Undefined while the member is not running. */
  readonly pid: number | undefined;
}

/** Persisted beside the member data dirs: a bootstrapped member only works again on the same peer URLs. */
interface ClusterLayout {
  version: 1;
  token: string;
  members: { name: string; clientPort: number; peerPort: number; advertisedPeerPort?: number }[];
  /** Members made so far, replacements included: the next new member is `etcd<made>`. */
  made?: number;
}

/** The etcd binary on PATH, else Debian's /usr/bin/etcd; throws with the install command when neither exists. */
export function findEtcdBinary(): string {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter((d) => d !== "");
  for (const candidate of [...dirs.map((d) => join(d, "etcd")), FALLBACK_ETCD]) {
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  throw new Error(`etcd binary not found on PATH or at ${FALLBACK_ETCD}: ${INSTALL_HINT}`);
}

/** Starts (or, when `dataDir` already holds one, restarts) a cluster and waits until it is healthy. */
export async function startEtcdCluster(options: EtcdClusterOptions): Promise<EtcdCluster> {
  const binary = findEtcdBinary();
  const fixedPorts = options.clientPorts !== undefined || options.peerPorts !== undefined;
  // Free ports are only free until someone else binds them; a fresh cluster on picked ports
  // that loses that race is simply started again on new ones.
  const attempts = fixedPorts || (await readLayout(options.dataDir)) ? 1 : 3;
  for (let attempt = 1; ; attempt++) {
    const layout = await prepareLayout(options);
    const cluster = new EtcdCluster(binary, options, layout);
    try {
      await cluster.startAll(options.startTimeoutMs ?? 30_000);
      return cluster;
    } catch (err) {
      await cluster.stop();
      if (attempt >= attempts) throw err;
      await cluster.forget();
    }
  }
}

export class EtcdCluster {
  private readonly processes: (ChildProcess | undefined)[];
  private readonly exits: (Promise<void> | undefined)[];
  private readonly deliberate = new WeakSet<ChildProcess>();
  /** Members that exited without being asked to, with how: waiting for health fails fast on them. */
  private readonly crashes = new Map<number, string>();
  readonly members: EtcdMember[];

  /** Use startEtcdCluster(); this only describes the members. */
  constructor(
    private readonly binary: string,
    private readonly options: EtcdClusterOptions,
    private readonly layout: ClusterLayout,
  ) {
    const { dataDir, logDir = dataDir } = options;
    const processes: (ChildProcess | undefined)[] = (this.processes = layout.members.map(() => undefined));
    this.exits = layout.members.map(() => undefined);
    this.members = layout.members.map((m, i) => describeMember(m, dataDir, logDir, () => processes[i]?.pid));
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** @internal Spawns every member and waits for a healthy cluster. */
  async startAll(timeoutMs: number): Promise<void> {
    this.members.forEach((_, i) => this.spawnMember(i));
    await this.waitHealthy(timeoutMs);
  }

  /**
   * The usual operator procedure for a lost or broken member, under load: remove member `i`
   * from the cluster (through another member), stop it, delete its data dir, add a new member
   * (a new name, the same ports) and start it empty with `--initial-cluster-state=existing`,
   * so it catches up from the leader. Resolves once the new member has joined (it runs and
   * knows the leader); returns the removed member's name and the new one's. Works on the leader
   * too.
   */
  async replaceMember(i: number, timeoutMs = 30_000): Promise<{ removed: string; added: string }> {
    const old = this.members[i]!;
    const via = this.members.find((m, j) => j !== i && m.pid !== undefined);
    if (!via) throw new Error(`cannot replace ${old.name}: no other member is running`);
    const id = await poll(timeoutMs, `the member id of ${old.name}`, () => this.memberIdOf(old, via));
    // The removed member stops on its own or is stopped here: neither is a crash.
    const child = this.processes[i];
    if (child) this.deliberate.add(child);
    // A remove or add may be applied and still time out: each is checked against the member
    // list before it is sent (again), so a retry never fails on its own earlier success.
    await poll(timeoutMs, `${via.name} to remove ${old.name}`, async () => {
      const list = await memberList(via.clientUrl);
      if (list && !list.some((m) => m.ID === id)) return true;
      await gateway(via.clientUrl, "cluster/member/remove", { ID: id });
      return undefined;
    });
    await this.stopMember(i, 5_000);
    await rm(old.dataDir, { recursive: true, force: true });

    const made = Math.max(this.layout.made ?? this.layout.members.length, this.layout.members.length);
    const entry = { ...this.layout.members[i]!, name: `etcd${made}` };
    const others = this.members.filter((_, j) => j !== i && this.members[j]!.pid !== undefined);
    await poll(timeoutMs, `a member to add ${entry.name}`, async () => {
      for (const member of others) {
        const list = await memberList(member.clientUrl);
        if (!list) continue;
        // Added already: a member on that URL other than the one removed (a member that has not
        // seen the remove yet may still list the old one there: 3.4 answers from its own state).
        if (list.some((m) => m.ID !== id && m.peerURLs?.includes(old.advertisedPeerUrl))) return true;
        if (list.some((m) => m.ID === id)) continue;
        await gateway(member.clientUrl, "cluster/member/add", { peerURLs: [old.advertisedPeerUrl] });
      }
      return undefined;
    });
    this.layout.members[i] = entry;
    this.layout.made = made + 1;
    await writeLayout(this.options.dataDir, this.layout);
    const { dataDir, logDir = dataDir } = this.options;
    const processes = this.processes;
    this.members[i] = describeMember(entry, dataDir, logDir, () => processes[i]?.pid);
    this.spawnMember(i, true);
    // Joined: it runs and knows the leader. Not waitHealthy(): a member catching up replays the
    // raft log, and may raise an alarm while doing so (NOSPACE, when that history once filled
    // the store: defragmentation is not replicated); that is the caller's to see and clear.
    const added = this.members[i]!;
    await poll(timeoutMs, `${entry.name} to join`, async () => {
      if (this.crashes.has(i)) throw new Error(`${entry.name} ${this.crashes.get(i)}; see ${added.logFile}`);
      const status = await memberStatus(added.clientUrl);
      return status && status.leader !== "0" ? true : undefined;
    });
    return { removed: old.name, added: entry.name };
  }

  /** The member ids (hex, as etcd prints them and sends them in X-Server-From), by index; "" when unknown. */
  async memberIds(): Promise<string[]> {
    return Promise.all(
      this.members.map(async (m) => {
        if (m.pid === undefined) return "";
        const status = await memberStatus(m.clientUrl);
        return status ? BigInt(status.memberId).toString(16) : "";
      }),
    );
  }

  /** Index of the current leader, asking the running members (polls through an election). */
  async leaderIndex(timeoutMs = 10_000): Promise<number> {
    return poll(timeoutMs, "a leader", async () => {
      for (const member of this.members) {
        if (member.pid === undefined) continue;
        const status = await memberStatus(member.clientUrl);
        if (!status || status.leader === "0") continue;
        const index = await this.indexOfMemberId(status.leader);
        if (index !== undefined) return index;
      }
      return undefined;
    });
  }

  /** Sends `signal` to member `i` (SIGKILL, SIGTERM, SIGSTOP, SIGCONT…); for SIGKILL, waits for the exit. */
  async kill(i: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.processes[i];
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    if (signal !== "SIGSTOP" && signal !== "SIGCONT") this.deliberate.add(child);
    child.kill(signal);
    if (signal === "SIGKILL") await this.exits[i];
  }

  /** Stops member `i` if it still runs, starts it again on its existing data dir and waits for health. */
  async restart(i: number, timeoutMs = 30_000): Promise<void> {
    await this.stopMember(i, 5_000);
    this.spawnMember(i);
    await this.waitHealthy(timeoutMs);
  }

  /** Resolves once every running member reports healthy (a leader and quorum reads). */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    await poll(timeoutMs, "a healthy etcd cluster", async () => {
      for (const [i, how] of this.crashes) {
        throw new Error(`etcd member ${this.members[i]!.name} ${how}; see ${this.members[i]!.logFile}`);
      }
      const running = this.members.filter((m) => m.pid !== undefined);
      if (running.length === 0) throw new Error("no etcd member is running");
      const healthy = await Promise.all(running.map((m) => isHealthy(m.clientUrl)));
      return healthy.every(Boolean) ? true : undefined;
    });
  }

  /**
   * SIGTERM to each member in turn, SIGKILL to one still running after `graceMs`. One at a
   * time because a leader stopping hands leadership to a follower: when all stop at once it
   * waits for a follower that is going away (seconds), in turn it takes milliseconds.
   * Safe to call twice.
   */
  async stop(graceMs = 10_000): Promise<void> {
    for (let i = 0; i < this.members.length; i++) await this.stopMember(i, graceMs);
    process.off("exit", this.stopOnExit);
  }

  /** @internal Deletes a stopped, freshly made cluster's data (members and layout), to start over. */
  async forget(): Promise<void> {
    await Promise.all(this.members.map((m) => rm(m.dataDir, { recursive: true, force: true })));
    await rm(join(this.options.dataDir, LAYOUT_FILE), { force: true });
  }

  /** Should this process end without stop(), members still shut down instead of holding their ports. */
  private readonly stopOnExit = () => {
    for (const child of this.processes) {
      child?.kill("SIGTERM");
      child?.kill("SIGCONT");
    }
  };

  private async stopMember(i: number, graceMs: number): Promise<void> {
    const child = this.processes[i];
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) {
      this.deliberate.add(child);
      child.kill("SIGTERM");
      // A stopped (SIGSTOP) member only acts on SIGTERM once it runs again.
      child.kill("SIGCONT");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await this.exits[i];
      clearTimeout(timer);
    }
    this.processes[i] = undefined;
  }

  /** The id of `member` (decimal, as the JSON gateway spells it), asked of `member` or else `via`'s member list. */
  private async memberIdOf(member: EtcdMember, via: EtcdMember): Promise<string | undefined> {
    if (member.pid !== undefined) {
      const status = await memberStatus(member.clientUrl);
      if (status) return status.memberId;
    }
    const list = await memberList(via.clientUrl);
    return list?.find((m) => m.name === member.name || m.peerURLs?.includes(member.advertisedPeerUrl))?.ID;
  }

  /** `joining`: a member just added to a running cluster (it starts empty and catches up). */
  private spawnMember(i: number, joining = false): void {
    const member = this.members[i]!;
    const bootstrapped = joining || existsSync(join(member.dataDir, "member"));
    mkdirSync(member.dataDir, { recursive: true, mode: 0o700 });
    mkdirSync(dirname(member.logFile), { recursive: true });
    const log = openSync(member.logFile, "a");
    const child = spawn(this.binary, this.memberArgs(member, bootstrapped), {
      stdio: ["ignore", log, log],
      detached: this.options.detached ?? false,
    });
    closeSync(log);
    this.processes[i] = child;
    process.off("exit", this.stopOnExit).on("exit", this.stopOnExit);
    this.crashes.delete(i);
    this.exits[i] = new Promise((resolve) => {
      const ended = (how: string) => {
        if (this.processes[i] !== child) return resolve();
        this.processes[i] = undefined;
        if (!this.deliberate.has(child)) this.crashes.set(i, how);
        resolve();
      };
      child.once("exit", (code, signal) => ended(`exited (${signal ?? `code ${code}`})`));
      child.once("error", (err) => ended(`could not run: ${err.message}`));
    });
  }

  private memberArgs(member: EtcdMember, bootstrapped: boolean): string[] {
    const initialCluster = this.members.map((m) => `${m.name}=${m.advertisedPeerUrl}`).join(",");
    return [
      `--name=${member.name}`,
      `--data-dir=${member.dataDir}`,
      `--listen-client-urls=${member.clientUrl}`,
      `--advertise-client-urls=${member.clientUrl}`,
      `--listen-peer-urls=${member.peerUrl}`,
      `--initial-advertise-peer-urls=${member.advertisedPeerUrl}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-token=${this.layout.token}`,
      // Only read on the first start; a bootstrapped member rejoins from its data dir.
      `--initial-cluster-state=${bootstrapped ? "existing" : "new"}`,
      "--auto-compaction-mode=periodic",
      `--auto-compaction-retention=${AUTO_COMPACTION_RETENTION}`,
      `--quota-backend-bytes=${this.options.quotaBackendBytes ?? QUOTA_BACKEND_BYTES}`,
      "--logger=zap",
      "--log-outputs=stderr",
      "--log-level=warn",
    ];
  }

  private async indexOfMemberId(memberId: string): Promise<number | undefined> {
    for (let i = 0; i < this.members.length; i++) {
      const member = this.members[i]!;
      if (member.pid === undefined) continue;
      const status = await memberStatus(member.clientUrl);
      if (status?.memberId === memberId) return i;
    }
    return undefined;
  }
}

/** The layout to start: the one saved in `dataDir`, or a new one written there. */
async function prepareLayout(options: EtcdClusterOptions): Promise<ClusterLayout> {
  const saved = await readLayout(options.dataDir);
  if (saved) {
    checkSavedLayoutMatches(saved, options);
    return saved;
  }
  const size = options.size ?? 3;
  const [clientPorts, peerPorts] = await Promise.all([
    options.clientPorts ?? freePorts(size),
    options.peerPorts ?? freePorts(size),
  ]);
  if (clientPorts.length !== size || peerPorts.length !== size) {
    throw new Error(`etcd cluster of ${size} needs ${size} client and ${size} peer ports`);
  }
  const advertised = options.advertisedPeerPorts;
  if (advertised !== undefined && advertised.length !== size) {
    throw new Error(`etcd cluster of ${size} needs ${size} advertised peer ports`);
  }
  const layout: ClusterLayout = {
    version: 1,
    token: `flock-${randomBytes(6).toString("hex")}`,
    members: clientPorts.map((clientPort, i) => ({
      name: `etcd${i}`,
      clientPort,
      peerPort: peerPorts[i]!,
      ...(advertised ? { advertisedPeerPort: advertised[i]! } : {}),
    })),
    made: size,
  };
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  await writeLayout(options.dataDir, layout);
  return layout;
}

async function writeLayout(dataDir: string, layout: ClusterLayout): Promise<void> {
  await writeFile(join(dataDir, LAYOUT_FILE), JSON.stringify(layout, null, 2) + "\n");
}

function describeMember(
  m: ClusterLayout["members"][number],
  dataDir: string,
  logDir: string,
  pid: () => number | undefined,
): EtcdMember {
  return {
    name: m.name,
    clientPort: m.clientPort,
    peerPort: m.peerPort,
    clientUrl: `http://${HOST}:${m.clientPort}`,
    peerUrl: `http://${HOST}:${m.peerPort}`,
    advertisedPeerUrl: `http://${HOST}:${m.advertisedPeerPort ?? m.peerPort}`,
    dataDir: join(dataDir, m.name),
    logFile: join(logDir, `${m.name}.log`),
    get pid() {
      return pid();
    },
  };
}

async function readLayout(dataDir: string): Promise<ClusterLayout | undefined> {
  let text: string;
  try {
    text = await readFile(join(dataDir, LAYOUT_FILE), "utf8");
  } catch {
    return undefined;
  }
  const layout = JSON.parse(text) as ClusterLayout;
  if (layout.version !== 1 || !Array.isArray(layout.members)) {
    throw new Error(`${join(dataDir, LAYOUT_FILE)} is not a cluster layout this version understands`);
  }
  return layout;
}

/** Bootstrapped members only rejoin on their original peer URLs, so a changed port cannot be honoured. */
function checkSavedLayoutMatches(saved: ClusterLayout, options: EtcdClusterOptions): void {
  const same = (wanted: number[] | undefined, have: number[]) =>
    wanted === undefined || (wanted.length === have.length && wanted.every((p, i) => p === have[i]));
  const size = options.size ?? saved.members.length;
  if (
    size !== saved.members.length ||
    !same(
      options.clientPorts,
      saved.members.map((m) => m.clientPort),
    ) ||
    !same(
      options.peerPorts,
      saved.members.map((m) => m.peerPort),
    ) ||
    !same(
      options.advertisedPeerPorts,
      saved.members.map((m) => m.advertisedPeerPort ?? m.peerPort),
    )
  ) {
    throw new Error(
      `${options.dataDir} holds an etcd cluster with a different size or ports (see ${LAYOUT_FILE}); ` +
        "use the same settings or another data dir",
    );
  }
}

/**
 * Ports tests and tools pick: below Linux's ephemeral range (32768–60999), which the kernel
 * hands out to outgoing connections, so a port picked here is not taken by one of those
 * between being picked and being listened on.
 */
export const PICKED_PORTS = { low: 10_000, high: 32_000 } as const;

/**
 * Distinct free loopback ports, picked at random in PICKED_PORTS: each is checked by binding
 * it (taken ones are skipped), all are held at once (so none repeats), then released.
 */
export async function freePorts(count: number): Promise<number[]> {
  const { low, high } = PICKED_PORTS;
  const held: Server[] = [];
  try {
    for (let tries = 0; held.length < count; tries++) {
      if (tries > 100 + count * 20) throw new Error(`no ${count} free ports between ${low} and ${high}`);
      const port = low + Math.floor(Math.random() * (high - low));
      const server = await listenOn(port);
      if (server) held.push(server);
    }
    return held.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/** A server listening on `port`, or undefined when the port is taken (or already held here). */
function listenOn(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, HOST, () => resolve(server));
  });
}

/** etcd's /health goes through Raft, so "true" means this member sees a leader and a quorum. */
async function isHealthy(clientUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1_000) });
    const body = (await response.json()) as { health?: string };
    return body.health === "true";
  } catch {
    return false;
  }
}

/** One call of etcd's JSON gateway (`/v3/<path>`); true when it answered 200. */
async function gateway(clientUrl: string, path: string, body: object): Promise<boolean> {
  return (await gatewayJson(clientUrl, path, body)) !== undefined;
}

async function gatewayJson<T>(clientUrl: string, path: string, body: object): Promise<T | undefined> {
  try {
    const response = await fetch(`${clientUrl}/v3/${path}`, {
      method: "POST",
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(3_000),
    });
    if (!response.ok) return undefined;
    return (await response.json()) as T;
  } catch {
    return undefined;
  }
}

interface ListedMember {
  ID?: string;
  name?: string;
  peerURLs?: string[];
}

/** The cluster's members as `clientUrl` knows them (a linearizable read in etcd 3.4); undefined if no answer. */
async function memberList(clientUrl: string): Promise<ListedMember[] | undefined> {
  const answer = await gatewayJson<{ members?: ListedMember[] }>(clientUrl, "cluster/member/list", {});
  return answer ? (answer.members ?? []) : undefined;
}

async function memberStatus(clientUrl: string): Promise<{ memberId: string; leader: string } | undefined> {
  try {
    const response = await fetch(`${clientUrl}/v3/maintenance/status`, {
      method: "POST",
      body: "{}",
      signal: AbortSignal.timeout(1_000),
    });
    const body = (await response.json()) as { header?: { member_id?: string }; leader?: string };
    if (!body.header?.member_id || !body.leader) return undefined;
    return { memberId: body.header.member_id, leader: body.leader };
  } catch {
    return undefined;
  }
}

/** Calls `check` until it returns a value, backing off briefly; fails once `timeoutMs` has passed. */
async function poll<T>(timeoutMs: number, what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    const result = await check();
    if (result !== undefined) return result;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
