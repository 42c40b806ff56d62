import { CompactedError, prefixEnd, type KeyValue, type Kv, type Watch, type WatchEvent } from "./kv.js";

/**
 * One part of a read model: state derived from the facts under some key prefixes.
 * It is soft state: reset and rebuilt from a snapshot whenever the cache must start over.
 */
export interface Projection {
  /** Prefixes of the keys this projection derives its state from. */
  readonly prefixes: readonly string[];
  /** Forgets everything; a load follows. */
  reset(): void;
  /** Keys of one snapshot page, in key order, as they were at the snapshot's revision. */
  load(kvs: readonly KeyValue[]): void;
  /** The snapshot is complete: finish building (sorting, indexes). */
  loaded(revision: number): void;
  /** One change after the snapshot, in revision order. */
  apply(event: WatchEvent): void;
}

/** What service logic needs of a read model: linearizable reads, and waiting for its own writes. */
export interface Freshness {
  /** Resolves once the view reflects every write acknowledged before this call began. */
  fresh(): Promise<void>;
  /** Resolves once the view has applied `revision`. */
  reached(revision: number): Promise<void>;
}

export interface KeyRange {
  key: string;
  end: string;
}

export interface WatchCacheOptions {
  /** The one range the watch covers: every projection's prefixes lie inside it. */
  watched: KeyRange;
  /**
   * What a snapshot reads, in this order (projections that refer to others' facts come
   * later). Smaller ranges keep each read cheap: etcd 3.4 walks a range's whole key span in
   * its index even when a limit cuts the answer short.
   */
  loadRanges: readonly KeyRange[];
  /**
   * Keys every acknowledged write also writes (a "tick" per writer). Their newest revision,
   * read linearizably, is how far the view must get before it may answer a read.
   */
  barrier: KeyRange;
  projections: readonly Projection[];
  /** Keys per snapshot read. */
  pageSize?: number;
  /** Snapshot reads in flight at once. */
  loadConcurrency?: number;
  /**
   * While busy (the last barrier served more than one read), the least time from one barrier
   * read's answer to the next one's start, so that more reads share each. An idle cache sends
   * a barrier at once. Each barrier is a linearizable etcd read costing CPU on this backend and
   * on every member (a ReadIndex round). Of 0, 4, 8 and 16 ms, 8 served the most home feed
   * reads per second at concurrency 16 on the 2-core machine the bench runs on.
   */
  barrierGapMs?: number;
  /** Longest a read waits for the view to catch up before it fails as unavailable. */
  maxWaitMs?: number;
  /** A watch that has not reached a barrier after this long is reconnected (it may be stuck on a lost member). */
  stallMs?: number;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/** The view is behind and did not catch up in time: the read is refused, not served stale. */
export class ViewNotReadyError extends Error {
  override readonly name = "ViewNotReadyError";
}

interface Waiter {
  revision: number;
  /** performance.now() when it began: the wall clock may jump. */
  since: number;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** Changes the cache applied, for listeners (streaming); called after every projection saw them. */
export type AppliedListener = (events: readonly WatchEvent[], revision: number) => void;

/**
 * A consistent, watch-fed read model over the store, as the Kubernetes API server's watch
 * cache is over etcd: load a snapshot at one revision (paged reads at that revision), then
 * follow a watch from the next one. Reads are linearizable: `fresh()` reads the writers'
 * ticks (one linearizable read, shared by every caller that arrives before it is sent: see
 * `barrier()`) and resolves once the watch has applied that revision. A compacted watch
 * rebuilds the whole view; until it has caught up again, nothing is served.
 *
 * Why ticks and not etcd's RequestProgress: etcd before 3.4.24 can send a requested progress
 * notification ahead of events still queued for the same watch (etcd-io/etcd#15220), and
 * Debian ships 3.4.23. A tick key inside the watched range is ordered with every other event
 * of that watch, so "the tick's revision has been applied" means "everything before it has".
 */
export class WatchCache implements Freshness {
  private watch: Watch | undefined;
  private applied = 0;
  private building = true;
  private closed = false;
  private generation = 0;
  private readonly waiters: Waiter[] = [];
  private currentBarrier: Promise<number> | undefined;
  private nextBarrier: Promise<number> | undefined;
  /** performance.now() when the last barrier read answered. */
  private lastBarrierAt = -Infinity;
  /** Reads that shared the last barrier sent, and that wait for the next one. */
  private lastSharers = 0;
  private nextSharers = 0;
  private readonly barrierGapMs: number;
  private readonly listeners = new Set<AppliedListener>();
  private readonly route: (key: string) => readonly Projection[];
  /** Load ranges whose every key goes to the same projections, and those projections. */
  private readonly rangeRoutes = new Map<KeyRange, readonly Projection[]>();
  private readonly pageSize: number;
  private readonly loadConcurrency: number;
  private readonly maxWaitMs: number;
  private readonly stallMs: number;
  private stallTimer: NodeJS.Timeout | undefined;
  private started: Promise<void> | undefined;
  /** Snapshots loaded so far (1 after the first start); rebuilds count too. */
  loads = 0;

  constructor(
    private readonly kv: Kv,
    private readonly options: WatchCacheOptions,
  ) {
    this.route = router(options.projections);
    for (const range of options.loadRanges) {
      const projections = routeOfRange(range, options.projections);
      if (projections) this.rangeRoutes.set(range, projections);
    }
    this.pageSize = options.pageSize ?? 2_000;
    this.loadConcurrency = options.loadConcurrency ?? 4;
    this.maxWaitMs = options.maxWaitMs ?? 4_000;
    this.stallMs = options.stallMs ?? 2_000;
    this.barrierGapMs = options.barrierGapMs ?? 8;
  }

  /** Loads the first snapshot and starts the watch; resolves once the view serves reads. */
  start(): Promise<void> {
    this.started ??= this.rebuild();
    return this.started;
  }

  /** True while the view is complete (not loading, not rebuilding). */
  get ready(): boolean {
    return !this.building && !this.closed;
  }

  /** The revision of the last change applied. */
  get revision(): number {
    return this.applied;
  }

  /** Resolves once the view reflects every write acknowledged before this call began. */
  async fresh(): Promise<void> {
    await this.reached(await this.barrier());
  }

  /** Resolves once the view has applied `revision` (a write waits for its own before answering). */
  reached(revision: number): Promise<void> {
    if (this.closed) return Promise.reject(new ViewNotReadyError("the read model is closed"));
    if (!this.building && this.applied >= revision) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        revision,
        since: performance.now(),
        resolve,
        reject,
        timer: setTimeout(() => {
          this.dropWaiter(waiter);
          reject(
            new ViewNotReadyError(
              `the read model did not reach revision ${revision} within ${this.maxWaitMs} ms (at ${this.applied})`,
            ),
          );
        }, this.maxWaitMs),
      };
      this.waiters.push(waiter);
      this.armStallCheck();
    });
  }

  /** Calls `listener` after each batch of changes is applied (not for snapshot loads). */
  onApplied(listener: AppliedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watch?.cancel();
    clearTimeout(this.stallTimer);
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new ViewNotReadyError("the read model is closed"));
    }
  }

  /**
   * The newest tick revision, by one linearizable read, shared by every caller that arrives
   * before it is sent. It is sent once the I/O callbacks of this turn of the event loop have
   * run (requests that came in one socket read then share it), not while another is in flight
   * (a caller arriving then waits for the next one, as the one in flight may have been answered
   * before the caller's own predecessors' writes were acknowledged), and while busy not sooner
   * than `barrierGapMs` after the last one answered.
   */
  private barrier(): Promise<number> {
    this.nextSharers++;
    this.nextBarrier ??= Promise.all([
      this.currentBarrier?.catch(() => undefined),
      new Promise<void>((resolve) => setImmediate(resolve)),
    ])
      .then(() => {
        // Busy (the last barrier served several reads): let more reads join this one.
        const busy = this.lastSharers > 1;
        const wait = this.lastBarrierAt + this.barrierGapMs - performance.now();
        return busy && wait > 0 ? new Promise<void>((resolve) => setTimeout(resolve, wait)) : undefined;
      })
      .then(() => {
        this.nextBarrier = undefined;
        this.lastSharers = this.nextSharers;
        this.nextSharers = 0;
        return this.startBarrier();
      });
    return this.nextBarrier;
  }

  private startBarrier(): Promise<number> {
    const { key, end } = this.options.barrier;
    const read = this.kv
      .range({ key, end })
      .then((answer) => answer.kvs.reduce((max, kv) => Math.max(max, kv.modRevision), 0));
    this.currentBarrier = read;
    const clear = () => {
      this.lastBarrierAt = performance.now();
      if (this.currentBarrier === read) this.currentBarrier = undefined;
    };
    read.then(clear, clear);
    return read;
  }

  /** Loads a snapshot into fresh projections, then watches from the revision after it. */
  private async rebuild(): Promise<void> {
    const generation = ++this.generation;
    this.building = true;
    this.watch?.cancel();
    this.watch = undefined;
    for (;;) {
      if (this.closed || generation !== this.generation) return;
      try {
        const revision = await this.loadSnapshot();
        if (this.closed || generation !== this.generation) return;
        this.applied = revision;
        this.building = false;
        this.loads++;
        this.startWatch(revision + 1, generation);
        this.wakeWaiters();
        this.options.log?.info({ revision, loads: this.loads }, "read model loaded");
        return;
      } catch (err) {
        // A compaction during the load, or the store away: start over after a pause.
        this.options.log?.warn({ err: String(err) }, "read model load failed; retrying");
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  private async loadSnapshot(): Promise<number> {
    const { projections, loadRanges } = this.options;
    for (const projection of projections) projection.reset();
    // The first read fixes the revision; every later page reads the store as it was then.
    const first = await this.kv.range({ key: this.options.barrier.key, end: this.options.barrier.end });
    const revision = first.revision;
    await loadInOrder(
      loadRanges,
      this.loadConcurrency,
      (range) => this.readRange(range, revision),
      (kvs, range) => {
        // Most ranges lie inside one projection's prefix: their pages go there whole.
        const whole = this.rangeRoutes.get(range);
        if (whole) for (const projection of whole) projection.load(kvs);
        else for (const group of groupByProjection(kvs, this.route)) group.projection.load(group.kvs);
      },
    );
    for (const projection of projections) projection.loaded(revision);
    return revision;
  }

  private async readRange(range: KeyRange, revision: number): Promise<KeyValue[]> {
    const all: KeyValue[] = [];
    let from = range.key;
    for (;;) {
      const page = await this.kv.range({ key: from, end: range.end, limit: this.pageSize, revision });
      all.push(...page.kvs);
      if (!page.more || page.kvs.length === 0) return all;
      from = page.kvs[page.kvs.length - 1]!.key + "\0";
    }
  }

  private startWatch(fromRevision: number, generation: number): void {
    const { key, end } = this.options.watched;
    this.watch = this.kv.watch(key, end, fromRevision, {
      onEvents: (events, revision) => {
        if (generation !== this.generation || this.closed) return;
        for (const event of events)
          for (const projection of this.route(event.kv.key)) projection.apply(event);
        this.applied = revision;
        this.wakeWaiters();
        for (const listener of this.listeners) listener(events, revision);
      },
      onError: (err) => {
        if (generation !== this.generation || this.closed) return;
        this.options.log?.warn(
          { err: String(err), compacted: err instanceof CompactedError, at: this.applied },
          "read model watch ended; rebuilding",
        );
        this.started = this.rebuild();
      },
    });
  }

  private wakeWaiters(): void {
    if (this.building) return;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i]!;
      if (waiter.revision <= this.applied) {
        this.waiters.splice(i, 1);
        clearTimeout(waiter.timer);
        waiter.resolve();
      }
    }
  }

  private dropWaiter(waiter: Waiter): void {
    const at = this.waiters.indexOf(waiter);
    if (at >= 0) this.waiters.splice(at, 1);
  }

  /**
   * A watch on a member that lost touch with the cluster can go quiet without an error.
   * When a read has waited `stallMs` for a revision the store already reported, the watch
   * is reconnected (to whichever member answers) from where it was.
   */
  private armStallCheck(): void {
    if (this.stallTimer || this.closed) return;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      const now = performance.now();
      const stuck = this.waiters.some((w) => now - w.since >= this.stallMs);
      if (stuck && !this.building && this.watch) {
        this.options.log?.warn({ at: this.applied }, "read model watch is behind; reconnecting it");
        this.watch.cancel();
        this.startWatch(this.applied + 1, this.generation);
      }
      if (this.waiters.length > 0) this.armStallCheck();
    }, this.stallMs);
    this.stallTimer.unref();
  }
}

/**
 * The projections that derive state from each key (any whose prefix matches), in the order
 * they were given: one fact may feed several views (a follow: the graph and notifications).
 */
function router(projections: readonly Projection[]): (key: string) => readonly Projection[] {
  const none: readonly Projection[] = [];
  return (key) => {
    let matched: Projection[] | undefined;
    for (const projection of projections) {
      if (projection.prefixes.some((prefix) => key.startsWith(prefix))) (matched ??= []).push(projection);
    }
    return matched ?? none;
  };
}

/**
 * The projections every key in `range` goes to, or undefined when keys in it may go to
 * different ones (a prefix begins or ends inside the range): those are routed key by key.
 */
export function routeOfRange(
  range: KeyRange,
  projections: readonly Projection[],
): readonly Projection[] | undefined {
  const all: Projection[] = [];
  for (const projection of projections) {
    let takesAll = false;
    for (const prefix of projection.prefixes) {
      const end = prefixEnd(prefix);
      if (range.key.startsWith(prefix) && range.end <= end) takesAll = true;
      else if (end > range.key && prefix < range.end) return undefined;
    }
    if (takesAll) all.push(projection);
  }
  return all;
}

/** A snapshot page split into runs of keys bound for the same projections, order kept. */
function groupByProjection(
  kvs: readonly KeyValue[],
  route: (key: string) => readonly Projection[],
): { projection: Projection; kvs: KeyValue[] }[] {
  const groups: { projection: Projection; kvs: KeyValue[] }[] = [];
  const open = new Map<Projection, { projection: Projection; kvs: KeyValue[] }>();
  for (const kv of kvs) {
    for (const projection of route(kv.key)) {
      let group = open.get(projection);
      if (!group) {
        group = { projection, kvs: [] };
        open.set(projection, group);
        groups.push(group);
      }
      group.kvs.push(kv);
    }
  }
  return groups;
}

/**
 * Reads `ranges` with up to `concurrency` reads in flight, and hands each range's keys to
 * `deliver` in the order of `ranges` (a range is read only when it is at most `concurrency`
 * ahead of the one being delivered, so memory stays bounded).
 */
async function loadInOrder<R, T>(
  ranges: readonly R[],
  concurrency: number,
  read: (range: R) => Promise<T>,
  deliver: (result: T, range: R) => void,
): Promise<void> {
  const inFlight: Promise<T>[] = [];
  let next = 0;
  const fill = () => {
    while (next < ranges.length && inFlight.length < concurrency) {
      const reading = read(ranges[next++]!);
      // Awaited below in order; a failure of a later read must not go unhandled meanwhile.
      reading.catch(() => undefined);
      inFlight.push(reading);
    }
  };
  fill();
  for (let delivered = 0; inFlight.length > 0; delivered++) {
    const result = await inFlight.shift()!;
    fill();
    deliver(result, ranges[delivered]!);
  }
}

/**
 * Splits the keys under `prefix` into one range per first character that may follow it
 * (in `alphabet`, sorted), so that each snapshot read walks only its own part of the index.
 */
export function splitByNextChar(prefix: string, alphabet: string): KeyRange[] {
  const chars = [...new Set(alphabet)].sort();
  const ranges: KeyRange[] = [];
  let start = prefix;
  for (const char of chars.slice(1)) {
    ranges.push({ key: start, end: prefix + char });
    start = prefix + char;
  }
  ranges.push({ key: start, end: prefixEnd(prefix) });
  return ranges;
}
