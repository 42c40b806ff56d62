import { readdirSync, readFileSync } from "node:fs";
import type { StreamingSettings } from "./config.js";
import type { BenchHttp } from "./http.js";
import { describeError } from "./load.js";
import type { Progress } from "./progress.js";
import { randomText, type Rng } from "./random.js";
import { cpuPerOp, processMemory, type CpuPerOp } from "./rss.js";
import type { Seeder } from "./seeder.js";
import { StreamPool, type SseStream } from "./sse.js";
import { Recorder, round } from "./stats.js";
import type { Topology } from "./topology.js";

/** File descriptors the bench client keeps free beside its streams (etcd, HTTP, files). */
const FD_HEADROOM = 256;
const POST_CHARS = 140;

/** A process's open-files limit (`ulimit -n`) and how many it has open. */
export interface FdFigures {
  soft?: number;
  hard?: number;
  open?: number;
}

/** What one web replica held at a step. */
export interface ReplicaHolding {
  name: string;
  /** `flock_web_open_streams` on the replica's own /metrics. */
  openStreams?: number;
  /** Its current sessions as the front door's stats count them (streams and any other connection). */
  frontDoorSessions?: number;
  rssMiB?: number;
  peakRssMiB?: number;
  fds?: FdFigures;
}

/** One step: `streams` held at once, and the author's posts timed to each of them. */
export interface StreamStep {
  streams: number;
  /** Where the streams were opened: "front door" or a web replica's name. */
  via: string;
  /** Streams open (and not ended under the client) when the posts were made. */
  open: number;
  openErrors: number;
  openErrorKinds: Record<string, number>;
  /** From sending GET /api/v1/streaming until its first line arrived (ms), over the streams opened at this step. */
  openP50: number;
  openP99: number;
  replicas: ReplicaHolding[];
  backends: { name: string; rssMiB?: number }[];
  /** The front door's public listener: connections now, and its limit (maxconn). */
  frontDoor?: { sessions?: number; limit?: number };
  benchFds?: number;
  posts: number;
  postErrors: number;
  /** Post events received (one per post and open stream when none is missed). */
  events: number;
  /** From the post's 201 (its answer read whole) until its event was read at a stream; events read before the 201 count as 0. */
  ackToEvent: { p50: number; p90: number; p99: number; max: number };
  /** From sending the post until its event was read at a stream. */
  sendToEvent: { p50: number; p99: number };
  /** Events read at a stream before the author's 201 was. */
  beforeAck: number;
  /** (post, stream) pairs without the event within the deadline. */
  missed: number;
  repeated: number;
  malformed: number;
  /** Streams the server (or the network) ended while they were held. */
  dropped: number;
  droppedKinds: Record<string, number>;
  /** CPU ms per event delivered, by role, while the posts were made and relayed. */
  cpuMsPerEvent?: CpuPerOp;
  seconds: number;
  /** What went wrong at this step (empty: it held every stream within the latency bound). */
  problems: string[];
}

export interface StreamSearch {
  via: string;
  start: number;
  cap: number;
  maxP99Ms: number;
  steps: StreamStep[];
  /** Streams each web replica held before the search began (streams closed earlier not yet let go). */
  before: Record<string, number | undefined>;
  /** The most streams one web replica held at a step without a problem, beyond `before` (0: none did). */
  held: number;
  /** Why the search stopped where it did. */
  stopped: string;
}

export interface StreamingResults {
  fds: { benchClient: FdFigures; webs: ({ name: string } & FdFigures)[] };
  steps: StreamStep[];
  search?: StreamSearch;
  /** After the bench closed a phase's streams: how long until the web replicas counted them gone. */
  released: StreamRelease[];
  notes: string[];
}

export interface StreamRelease {
  via: string;
  streams: number;
  /** Seconds from closing the streams until every web replica's flock_web_open_streams was 0 again. */
  seconds?: number;
  /** How long the bench waited for that (BENCH_STREAM_RELEASE_WAIT; a phase after this one starts then). */
  waitedSeconds: number;
  /** What each replica still counted when the bench stopped waiting, if any did. */
  stillOpen?: Record<string, number | undefined>;
}

/**
 * The streaming-client workload: followers of one author each hold a live stream
 * (GET /api/v1/streaming); the author posts through the front door, one post at a time, and
 * each post's `post` event is timed at every stream. Measured at each of `counts` streams
 * through the front door (HAProxy spreads them over the web replicas), then a bounded search
 * (doubling from `search.start` up to `search.cap`) for the most streams one web replica holds
 * before a stream fails, an event is missed, or ack-to-event p99 passes `search.maxP99Ms`.
 * The readers and the author are seeded straight into etcd (names start with the run's tag).
 */
export class StreamingBench {
  private readerTokens: string[] = [];
  private authorToken = "";
  private readonly arrivals = new Map<string, number[]>();
  private waiter: { id: string; want: number; resolve: () => void } | undefined;
  private readonly notes: string[] = [];

  constructor(
    private readonly seeder: Seeder,
    private readonly http: BenchHttp,
    private readonly topology: Topology,
    private readonly settings: StreamingSettings,
    private readonly tag: string,
    private readonly random: Rng,
    private readonly progress: Progress,
  ) {}

  /** Streams the largest step needs (the measured counts and the search's steps). */
  get readersNeeded(): number {
    return Math.max(0, ...this.settings.counts, ...this.searchSteps());
  }

  get enabled(): boolean {
    return this.readersNeeded > 0;
  }

  /** The author and `readersNeeded` followers of theirs, each with a session. */
  async prepare(): Promise<void> {
    const author = `${this.tag}_sauthor`;
    const readers = Array.from({ length: this.readersNeeded }, (_, i) => `${this.tag}_sr${i}`);
    this.authorToken = (await this.seeder.accounts("streaming author", [author], true))[0]!;
    this.readerTokens = await this.seeder.accounts("streaming readers", readers, true);
    await this.seeder.follows(
      "streaming readers",
      readers.map((r) => [r, author] as const),
    );
  }

  async run(): Promise<StreamingResults> {
    const webs = this.topology.webs();
    const results: StreamingResults = {
      fds: {
        benchClient: fdFigures("self"),
        webs: this.webProcesses().map((p) => ({ name: p.name, ...fdFigures(p.pid) })),
      },
      steps: [],
      released: [],
      notes: this.notes,
    };
    if (this.settings.counts.length > 0) {
      const pool = new StreamPool(this.topology.frontUrl, this.readerTokens, this.onPost);
      try {
        for (const n of this.settings.counts) results.steps.push(await this.step(pool, n, "front door"));
      } finally {
        results.released.push(await this.closePool(pool, "front door"));
      }
    }
    const search = this.settings.search;
    const steps = this.searchSteps();
    if (steps.length > 0) {
      const direct = search.via === "web" ? webs[0] : undefined;
      if (search.via === "web" && !direct)
        this.notes.push("no web replica address known: the search went through the front door");
      const via = direct?.name ?? "front door";
      const pool = new StreamPool(direct?.url ?? this.topology.frontUrl, this.readerTokens, this.onPost);
      const before = Object.fromEntries(
        await Promise.all(webs.map(async (w) => [w.name, await openStreams(w.url)] as const)),
      );
      const found: StreamSearch = {
        via,
        start: search.start,
        cap: search.cap,
        maxP99Ms: search.maxP99Ms,
        steps: [],
        before,
        held: 0,
        stopped: "",
      };
      try {
        for (const n of steps) {
          const limit = await this.limitBefore(n, pool, direct?.name);
          if (limit) {
            found.stopped = limit;
            break;
          }
          const step = await this.step(pool, n, via);
          found.steps.push(step);
          if (step.problems.length > 0) {
            found.stopped = `at ${n} streams: ${step.problems.join("; ")}`;
            break;
          }
          found.held = Math.max(found.held, mostHeld(step, direct?.name, before));
        }
        if (found.stopped === "") {
          const next = steps.at(-1)! * 2;
          found.stopped = `the cap: the next step, ${next} streams, is above BENCH_STREAM_CAP=${search.cap}`;
        }
      } finally {
        results.released.push(await this.closePool(pool, via));
      }
      results.search = found;
      this.progress.done(
        `streaming search: one web replica held ${found.held} streams; stopped: ${found.stopped}`,
      );
    }
    return results;
  }

  /** start, 2·start, 4·start, … up to the cap. */
  private searchSteps(): number[] {
    const { start, cap } = this.settings.search;
    const steps: number[] = [];
    for (let n = start; cap > 0 && n <= cap; n *= 2) steps.push(n);
    return steps;
  }

  private readonly onPost = (stream: SseStream, id: string, at: number): void => {
    if (stream.seen.has(id)) {
      stream.repeated++;
      return;
    }
    stream.seen.add(id);
    let list = this.arrivals.get(id);
    if (!list) this.arrivals.set(id, (list = []));
    list.push(at);
    const waiter = this.waiter;
    if (waiter && waiter.id === id && list.length >= waiter.want) waiter.resolve();
  };

  private webProcesses() {
    return this.topology.processes().filter((p) => p.role === "web");
  }

  /**
   * A limit the next step would run into before Flock does: the bench client's or the web
   * replica's open-files limit, or the front door's connection limit. Undefined: go on.
   */
  private async limitBefore(
    n: number,
    pool: StreamPool,
    web: string | undefined,
  ): Promise<string | undefined> {
    const more = Math.max(0, n - pool.streams.length);
    const self = fdFigures("self");
    if (self.soft !== undefined && (self.open ?? 0) + more + FD_HEADROOM > self.soft) {
      return `the bench client's open-files limit: ${n} streams need about ${(self.open ?? 0) + more + FD_HEADROOM} descriptors, ulimit -n is ${self.soft}`;
    }
    const proc = this.webProcesses().find((p) => p.name === web);
    if (proc) {
      const f = fdFigures(proc.pid);
      if (f.soft !== undefined && (f.open ?? 0) + more + FD_HEADROOM > f.soft) {
        return `${web}'s open-files limit: ${n} streams need about ${(f.open ?? 0) + more + FD_HEADROOM} descriptors, its limit is ${f.soft}`;
      }
    }
    const frontLimit = web ? undefined : (await frontDoorStats(this.topology.adminUrl))?.front?.limit;
    if (frontLimit !== undefined && n > frontLimit) {
      return `the front door's connection limit (maxconn ${frontLimit} on its public listener) is below ${n} streams`;
    }
    return undefined;
  }

  /** Grows the pool to `n` streams, makes the author's posts, and records what each stream got. */
  private async step(pool: StreamPool, n: number, via: string): Promise<StreamStep> {
    const started = performance.now();
    const opened = await pool.grow(n, this.settings.openConcurrency, this.settings.openTimeoutMs, (done) =>
      this.progress.update(`streams via ${via}: opening ${pool.streams.length}/${n} (${done} this step)`),
    );
    const live = pool.live;
    const posting = await cpuPerOp(this.topology.processes(), () => this.postAndTime(pool, via, n));
    const holding = await this.holding();
    const dropped = pool.streams.filter((s) => s.ended !== undefined);
    const droppedKinds: Record<string, number> = {};
    for (const s of dropped) droppedKinds[s.ended!] = (droppedKinds[s.ended!] ?? 0) + 1;
    const step: StreamStep = {
      streams: n,
      via,
      open: live.length,
      openErrors: opened.errors,
      openErrorKinds: opened.errorKinds,
      openP50: opened.p50,
      openP99: opened.p99,
      ...holding,
      benchFds: fdFigures("self").open,
      posts: posting.posts,
      postErrors: posting.postErrors,
      events: posting.ops,
      ackToEvent: posting.ackToEvent,
      sendToEvent: posting.sendToEvent,
      beforeAck: posting.beforeAck,
      missed: posting.missed,
      repeated: pool.streams.reduce((sum, s) => sum + s.repeated, 0),
      malformed: pool.streams.reduce((sum, s) => sum + s.malformed, 0),
      dropped: dropped.length,
      droppedKinds,
      cpuMsPerEvent: posting.cpuMsPerOp,
      seconds: round((performance.now() - started) / 1000, 1),
      problems: [],
    };
    step.problems = problemsOf(step, this.settings.search.maxP99Ms, this.settings.eventDeadlineMs);
    const per = step.replicas.map((r) => `${r.name} ${r.openStreams ?? "?"}`).join(", ");
    this.progress.done(
      `streams ${n} via ${via}: ${step.open} open (${per}); ack-to-event p50 ${step.ackToEvent.p50} ms  p99 ${step.ackToEvent.p99} ms; ` +
        `missed ${step.missed}, dropped ${step.dropped}, open errors ${step.openErrors}`,
    );
    return step;
  }

  /** The author's posts, one at a time; each waits until every open stream has its event, or the deadline. */
  private async postAndTime(pool: StreamPool, via: string, n: number) {
    const ack = new Recorder();
    const send = new Recorder();
    let posts = 0;
    let postErrors = 0;
    let beforeAck = 0;
    let missed = 0;
    let events = 0;
    for (let i = 0; i < this.settings.posts; i++) {
      const live = pool.live;
      const t0 = performance.now();
      const answer = await this.http
        .request("POST", "/api/v1/posts", this.authorToken, { text: randomText(this.random, POST_CHARS) })
        .catch((err: unknown) => ({ status: 0, body: describeError(err) }));
      const acked = performance.now();
      if (answer.status !== 201) {
        postErrors++;
        continue;
      }
      posts++;
      const id = (JSON.parse(answer.body) as { id: string }).id;
      const list = this.arrivals.get(id) ?? [];
      if (list.length < live.length) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.settings.eventDeadlineMs);
          this.waiter = {
            id,
            want: live.length,
            resolve: () => {
              clearTimeout(timer);
              resolve();
            },
          };
          // Every event may have come in before the waiter was set.
          if ((this.arrivals.get(id)?.length ?? 0) >= live.length) this.waiter.resolve();
        });
        this.waiter = undefined;
      }
      const arrived = this.arrivals.get(id) ?? [];
      this.arrivals.delete(id);
      for (const at of arrived) {
        if (at < acked) beforeAck++;
        ack.record(Math.max(0, at - acked));
        send.record(at - t0);
      }
      events += arrived.length;
      missed += live.filter((s) => !s.seen.has(id)).length;
      this.progress.update(
        `streams ${n} via ${via}: post ${i + 1}/${this.settings.posts}, ${arrived.length}/${live.length} events`,
      );
    }
    this.arrivals.clear();
    const a = ack.summary(0);
    const s = send.summary(0);
    return {
      ops: events,
      posts,
      postErrors,
      beforeAck,
      missed,
      ackToEvent: { p50: a.p50, p90: a.p90, p99: a.p99, max: a.max },
      sendToEvent: { p50: s.p50, p99: s.p99 },
    };
  }

  /** Open streams per web replica (its metrics and the front door's stats), their memory and descriptors. */
  private async holding(): Promise<Pick<StreamStep, "replicas" | "backends" | "frontDoor">> {
    const processes = this.topology.processes();
    const memory = await processMemory(processes.filter((p) => p.role === "web" || p.role === "backend"));
    const stats = await frontDoorStats(this.topology.adminUrl);
    const webs = this.topology.webs();
    const names = webs.length > 0 ? webs.map((w) => w.name) : this.webProcesses().map((p) => p.name);
    const replicas = await Promise.all(
      names.map(async (name): Promise<ReplicaHolding> => {
        const url = webs.find((w) => w.name === name)?.url;
        const m = memory.find((p) => p.name === name);
        return {
          name,
          openStreams: url ? await openStreams(url) : undefined,
          frontDoorSessions: stats?.servers.get(name),
          rssMiB: m?.rssMiB,
          peakRssMiB: m?.peakRssMiB,
          fds: m ? fdFigures(m.pid) : undefined,
        };
      }),
    );
    return {
      replicas,
      backends: memory.filter((p) => p.role === "backend").map((p) => ({ name: p.name, rssMiB: p.rssMiB })),
      frontDoor: stats?.front,
    };
  }

  /**
   * Closes every stream of the pool and waits (up to `releaseWaitMs`) until the web replicas
   * count none open, timing how long that took.
   */
  private async closePool(pool: StreamPool, via: string): Promise<StreamRelease> {
    const streams = pool.live.length;
    pool.close();
    const closed = performance.now();
    const waitMs = this.settings.releaseWaitMs;
    const webs = this.topology.webs();
    const release: StreamRelease = { via, streams, waitedSeconds: waitMs / 1000 };
    if (webs.length === 0) return release;
    let left: (number | undefined)[] = [];
    for (;;) {
      left = await Promise.all(webs.map((w) => openStreams(w.url)));
      const now = performance.now();
      if (left.every((n) => n === undefined || n === 0)) {
        release.seconds = round((now - closed) / 1000, 1);
        break;
      }
      if (now - closed >= waitMs) {
        release.stillOpen = Object.fromEntries(webs.map((w, i) => [w.name, left[i]]));
        break;
      }
      this.progress.update(`streams via ${via} closed; the web replicas still count ${left.join(", ")}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    this.progress.done(
      `${streams} streams via ${via} closed: ` +
        (release.seconds !== undefined
          ? `the web replicas counted them gone after ${release.seconds} s`
          : `after ${release.waitedSeconds} s the web replicas still counted ${left.join(", ")}`),
    );
    return release;
  }
}

function problemsOf(step: StreamStep, maxP99Ms: number, deadlineMs: number): string[] {
  const kinds = (k: Record<string, number>) =>
    Object.entries(k)
      .map(([kind, n]) => `${n} ${kind}`)
      .join(", ");
  const problems: string[] = [];
  if (step.openErrors > 0)
    problems.push(`${step.openErrors} streams did not open (${kinds(step.openErrorKinds)})`);
  if (step.postErrors > 0) problems.push(`${step.postErrors} of the author's posts failed`);
  if (step.missed > 0)
    problems.push(`${step.missed} events missed (not at their stream ${deadlineMs / 1000} s after the 201)`);
  if (step.repeated > 0) problems.push(`${step.repeated} events repeated`);
  if (step.malformed > 0) problems.push(`${step.malformed} post events without a post's JSON`);
  if (step.dropped > 0)
    problems.push(`${step.dropped} streams ended while held (${kinds(step.droppedKinds)})`);
  if (step.events > 0 && step.ackToEvent.p99 > maxP99Ms) {
    problems.push(`ack-to-event p99 ${step.ackToEvent.p99} ms is above ${maxP99Ms} ms`);
  }
  return problems;
}

/**
 * The most streams one replica held at a step beyond what it held before the search: the
 * replica the streams went to, or the fullest.
 */
function mostHeld(
  step: StreamStep,
  web: string | undefined,
  before: Record<string, number | undefined>,
): number {
  const held = (r: ReplicaHolding) => (r.openStreams ?? 0) - (before[r.name] ?? 0);
  if (web !== undefined) {
    const replica = step.replicas.find((r) => r.name === web);
    return replica?.openStreams === undefined ? step.open : held(replica);
  }
  return Math.max(0, ...step.replicas.map(held));
}

/** `flock_web_open_streams` from a web replica's /metrics; undefined when it does not answer. */
async function openStreams(webUrl: string): Promise<number | undefined> {
  try {
    const response = await fetch(`${webUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) return undefined;
    const match = /^flock_web_open_streams(?:\{[^}]*\})? (\S+)$/m.exec(await response.text());
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The front door's current sessions per web replica, and on its public listener with its limit (HAProxy's /stats;csv). */
async function frontDoorStats(
  adminUrl: string | undefined,
): Promise<{ servers: Map<string, number>; front?: { sessions?: number; limit?: number } } | undefined> {
  if (!adminUrl) return undefined;
  try {
    const response = await fetch(`${adminUrl}/stats;csv`, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) return undefined;
    const [header, ...rows] = (await response.text()).trim().split("\n");
    const columns = (header ?? "").replace(/^# /, "").split(",");
    const at = (name: string) => columns.indexOf(name);
    const num = (cell: string | undefined) => (cell === undefined || cell === "" ? undefined : Number(cell));
    const servers = new Map<string, number>();
    let front: { sessions?: number; limit?: number } | undefined;
    for (const cells of rows.map((r) => r.split(","))) {
      const [px, sv] = [cells[at("pxname")], cells[at("svname")]];
      if (px === "web" && /^web-\d+$/.test(sv ?? "")) servers.set(sv!, num(cells[at("scur")]) ?? 0);
      if (px === "public" && sv === "FRONTEND")
        front = { sessions: num(cells[at("scur")]), limit: num(cells[at("slim")]) };
    }
    return { servers, front };
  } catch {
    return undefined;
  }
}

/** A process's open-files limit and open descriptors, from /proc (Linux; by pid, or "self"). */
export function fdFigures(pid: number | "self"): FdFigures {
  const figures: FdFigures = {};
  try {
    const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
    const limit = (raw: string | undefined) =>
      raw === undefined || raw === "unlimited" ? undefined : Number(raw);
    figures.soft = limit(match?.[1]);
    figures.hard = limit(match?.[2]);
  } catch {
    // not Linux, or the process is gone
  }
  try {
    figures.open = readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    // not ours to read
  }
  return figures;
}
