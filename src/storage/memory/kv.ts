import {
  bytesOf,
  CompactedError,
  LeaseNotFoundError,
  type Compare,
  type KeyValue,
  type Kv,
  type Op,
  type RangeRequest,
  type RangeResult,
  type TxnRequest,
  type TxnResult,
  type Watch,
  type WatchEvent,
  type WatchHandler,
} from "../kv.js";

/** One version of a key; a tombstone records its delete. */
interface Version {
  kv: KeyValue;
  deleted: boolean;
}

interface Watcher {
  key: string;
  end: string;
  handler: WatchHandler;
  /** Events waiting for the next delivery turn; delivery is asynchronous, as over a network. */
  pending: WatchEvent[];
  scheduled: boolean;
  cancelled: boolean;
}

interface Lease {
  keys: Set<string>;
  timer: NodeJS.Timeout;
}

/**
 * The store's semantics (kv.ts) inside one process: multi-version keys, one revision counter,
 * history kept until compacted, watches replayed from history and then fed live, leases that
 * expire on a timer. What STORAGE=memory runs on, and what the fast tests use; the contract
 * suite holds it to the same behaviour as etcd.
 */
export class MemoryKv implements Kv {
  private revision = 0;
  private compacted = 0;
  /** Every key that has a version still in history, in key order. */
  private keys: string[] = [];
  private readonly versions = new Map<string, Version[]>();
  /** Events by revision since the compacted revision, for watches that start in the past. */
  private history: { revision: number; events: WatchEvent[] }[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly leases = new Map<string, Lease>();
  private nextLeaseId = 1;
  private closed = false;

  async range(request: RangeRequest): Promise<RangeResult> {
    this.checkOpen();
    return this.read(request);
  }

  async txn(request: TxnRequest): Promise<TxnResult> {
    this.checkOpen();
    const succeeded = (request.compare ?? []).every((c) => this.holds(c));
    const ops = succeeded ? request.success : (request.failure ?? []);
    for (const op of ops) {
      if (op.type === "put" && op.lease !== undefined && !this.leases.has(op.lease))
        throw new LeaseNotFoundError(`lease ${op.lease} not found`);
    }
    const events: WatchEvent[] = [];
    const results: (RangeResult | undefined)[] = [];
    const next = this.revision + 1;
    for (const op of ops) results.push(this.apply(op, next, events));
    if (events.length > 0) this.commit(next, events);
    return { succeeded, revision: this.revision, results };
  }

  watch(key: string, end: string, fromRevision: number, handler: WatchHandler): Watch {
    const watcher: Watcher = { key, end, handler, pending: [], scheduled: false, cancelled: false };
    const start = Math.max(fromRevision, 1);
    if (start <= this.compacted) {
      setImmediate(() => {
        if (!watcher.cancelled) handler.onError(new CompactedError(this.compacted));
      });
      return { cancel: () => (watcher.cancelled = true) };
    }
    for (const entry of this.history) {
      if (entry.revision >= start) watcher.pending.push(...entry.events.filter((e) => inRange(watcher, e)));
    }
    this.watchers.add(watcher);
    this.schedule(watcher);
    return {
      cancel: () => {
        watcher.cancelled = true;
        this.watchers.delete(watcher);
      },
    };
  }

  async grantLease(ttlSeconds: number): Promise<string> {
    this.checkOpen();
    const id = String(this.nextLeaseId++);
    const timer = setTimeout(() => this.expire(id), Math.max(1, ttlSeconds) * 1000);
    timer.unref();
    this.leases.set(id, { keys: new Set(), timer });
    return id;
  }

  async revokeLease(id: string): Promise<void> {
    this.checkOpen();
    this.expire(id);
  }

  async compact(revision: number): Promise<void> {
    this.checkOpen();
    if (revision <= this.compacted) return;
    if (revision > this.revision) throw new Error(`cannot compact ${revision}: store is at ${this.revision}`);
    this.compacted = revision;
    this.history = this.history.filter((entry) => entry.revision > revision);
    const kept: string[] = [];
    for (const key of this.keys) {
      const versions = this.versions.get(key)!;
      // Keep the version visible at `revision` (unless it is a tombstone) and every later one.
      let firstKept = versions.findIndex((v) => v.kv.modRevision > revision);
      if (firstKept === -1) firstKept = versions.length;
      const atCompaction = versions[firstKept - 1];
      const rest = versions.slice(firstKept);
      const trimmed = atCompaction && !atCompaction.deleted ? [atCompaction, ...rest] : rest;
      if (trimmed.length > 0) {
        this.versions.set(key, trimmed);
        kept.push(key);
      } else {
        this.versions.delete(key);
      }
    }
    this.keys = kept;
  }

  /** The current revision (for tests and for the launcher's log lines). */
  get currentRevision(): number {
    return this.revision;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const lease of this.leases.values()) clearTimeout(lease.timer);
    for (const watcher of this.watchers) watcher.cancelled = true;
    this.watchers.clear();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error("store closed");
  }

  private read(request: RangeRequest): RangeResult {
    const at = request.revision ?? this.revision;
    if (request.revision !== undefined) {
      if (at < this.compacted) throw new CompactedError(this.compacted);
      if (at > this.revision)
        throw new Error(`revision ${at} is in the future (store is at ${this.revision})`);
    }
    const kvs: KeyValue[] = [];
    let more = false;
    const limit = request.limit && request.limit > 0 ? request.limit : Infinity;
    const end = request.end;
    for (let i = lowerBound(this.keys, request.key); i < this.keys.length; i++) {
      const key = this.keys[i]!;
      if (end === undefined ? key !== request.key : key >= end) break;
      const visible = visibleAt(this.versions.get(key)!, at);
      if (!visible) continue;
      if (kvs.length >= limit) {
        more = true;
        break;
      }
      kvs.push(request.keysOnly ? { ...visible.kv, value: new Uint8Array() } : copy(visible.kv));
    }
    return { kvs, more, revision: this.revision };
  }

  private current(key: string): KeyValue | undefined {
    const versions = this.versions.get(key);
    const last = versions?.[versions.length - 1];
    return last && !last.deleted ? last.kv : undefined;
  }

  private holds(compare: Compare): boolean {
    const kv = this.current(compare.key);
    switch (compare.target) {
      case "createRevision":
        return (kv?.createRevision ?? 0) === compare.equals;
      case "modRevision":
        return (kv?.modRevision ?? 0) === compare.equals;
      case "value":
        return kv !== undefined && Buffer.from(kv.value).equals(Buffer.from(bytesOf(compare.equals)));
    }
  }

  private apply(op: Op, revision: number, events: WatchEvent[]): RangeResult | undefined {
    if (op.type === "get") return this.read({ ...op, revision: undefined });
    if (op.type === "put") {
      const existing = this.current(op.key);
      const kv: KeyValue = {
        key: op.key,
        value: Uint8Array.from(bytesOf(op.value)),
        createRevision: existing?.createRevision ?? revision,
        modRevision: revision,
        lease: op.lease ?? "0",
      };
      if (existing && existing.lease !== "0") this.leases.get(existing.lease)?.keys.delete(op.key);
      if (op.lease !== undefined) this.leases.get(op.lease)!.keys.add(op.key);
      this.addVersion(op.key, { kv, deleted: false });
      events.push({ type: "put", kv: copy(kv) });
      return undefined;
    }
    const doomed =
      op.end === undefined
        ? this.current(op.key)
          ? [op.key]
          : []
        : this.read({ key: op.key, end: op.end, keysOnly: true }).kvs.map((kv) => kv.key);
    for (const key of doomed) {
      const existing = this.current(key)!;
      if (existing.lease !== "0") this.leases.get(existing.lease)?.keys.delete(key);
      const tombstone: KeyValue = {
        key,
        value: new Uint8Array(),
        createRevision: 0,
        modRevision: revision,
        lease: "0",
      };
      this.addVersion(key, { kv: tombstone, deleted: true });
      events.push({ type: "delete", kv: copy(tombstone), prevKv: copy(existing) });
    }
    return undefined;
  }

  private addVersion(key: string, version: Version): void {
    let versions = this.versions.get(key);
    if (!versions) {
      versions = [];
      this.versions.set(key, versions);
      this.keys.splice(lowerBound(this.keys, key), 0, key);
    }
    // Two writes to one key in one txn: the later one replaces the earlier (etcd refuses it).
    if (versions[versions.length - 1]?.kv.modRevision === version.kv.modRevision) versions.pop();
    versions.push(version);
  }

  private commit(revision: number, events: WatchEvent[]): void {
    this.revision = revision;
    this.history.push({ revision, events });
    for (const watcher of this.watchers) {
      const mine = events.filter((e) => inRange(watcher, e));
      if (mine.length === 0) continue;
      watcher.pending.push(...mine);
      this.schedule(watcher);
    }
  }

  private schedule(watcher: Watcher): void {
    if (watcher.scheduled || watcher.pending.length === 0) return;
    watcher.scheduled = true;
    setImmediate(() => {
      watcher.scheduled = false;
      if (watcher.cancelled || watcher.pending.length === 0) return;
      const batch = watcher.pending;
      watcher.pending = [];
      watcher.handler.onEvents(batch, batch[batch.length - 1]!.kv.modRevision);
    });
  }

  private expire(id: string): void {
    const lease = this.leases.get(id);
    if (!lease) return;
    clearTimeout(lease.timer);
    this.leases.delete(id);
    if (this.closed || lease.keys.size === 0) return;
    const events: WatchEvent[] = [];
    const next = this.revision + 1;
    for (const key of [...lease.keys].sort()) this.apply({ type: "delete", key }, next, events);
    if (events.length > 0) this.commit(next, events);
  }
}

function inRange(watcher: Watcher, event: WatchEvent): boolean {
  return event.kv.key >= watcher.key && event.kv.key < watcher.end;
}

function visibleAt(versions: Version[], revision: number): Version | undefined {
  for (let i = versions.length - 1; i >= 0; i--) {
    const version = versions[i]!;
    if (version.kv.modRevision <= revision) return version.deleted ? undefined : version;
  }
  return undefined;
}

function copy(kv: KeyValue): KeyValue {
  return { ...kv, value: Uint8Array.from(kv.value) };
}

/** The first index whose key is >= `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
