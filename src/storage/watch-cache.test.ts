import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import {
  put,
  text,
  type KeyValue,
  type Kv,
  type RangeRequest,
  type WatchEvent,
  type WatchHandler,
} from "./kv.js";
import { MemoryKv } from "./memory/kv.js";
import { routeOfRange, WatchCache, type Projection } from "./watch-cache.js";

/** A projection that keeps the latest value of every key under its prefix. */
class LatestValues implements Projection {
  constructor(readonly prefixes: readonly string[] = ["d/"]) {}
  values = new Map<string, string>();
  resets = 0;
  reset(): void {
    this.values.clear();
    this.resets++;
  }
  load(kvs: readonly KeyValue[]): void {
    for (const kv of kvs) this.values.set(kv.key, text(kv.value));
  }
  loaded(): void {}
  apply(event: WatchEvent): void {
    if (event.type === "put") this.values.set(event.kv.key, text(event.kv.value));
    else this.values.delete(event.kv.key);
  }
}

/**
 * A store whose watch deliveries a test can hold back or drop, and whose barrier reads it
 * counts: the faults a real watch meets (a slow stream, a member that went quiet).
 */
class ControlledKv implements Kv {
  barrierReads = 0;
  holding = false;
  dropping = false;
  private held: (() => void)[] = [];

  constructor(private readonly inner: MemoryKv) {}

  /** While set, barrier reads are sent but not answered until it resolves. */
  barrierHold: Promise<void> | undefined;

  range(request: RangeRequest) {
    if (request.key === "t/" && request.revision === undefined) {
      this.barrierReads++;
      if (this.barrierHold) return this.barrierHold.then(() => this.inner.range(request));
    }
    return this.inner.range(request);
  }
  txn = (request: Parameters<Kv["txn"]>[0]) => this.inner.txn(request);
  grantLease = (ttl: number) => this.inner.grantLease(ttl);
  revokeLease = (id: string) => this.inner.revokeLease(id);
  compact = (revision: number) => this.inner.compact(revision);
  close = () => this.inner.close();

  watch(key: string, end: string, from: number, handler: WatchHandler) {
    return this.inner.watch(key, end, from, {
      onEvents: (events, revision) => {
        if (this.dropping) return;
        if (this.holding) this.held.push(() => handler.onEvents(events, revision));
        else handler.onEvents(events, revision);
      },
      onError: (err) => handler.onError(err),
    });
  }

  release(): void {
    this.holding = false;
    this.held.splice(0).forEach((deliver) => deliver());
  }
}

/** Lets the memory store's watch deliveries (one event-loop turn away) happen. */
const deliveries = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
/** One turn of the event loop: what a barrier waits for before it is sent. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** The keys every cache in these tests watches: data under d/, the barrier's ticks under t/. */
const LAYOUT = {
  watched: { key: "d/", end: "u" },
  loadRanges: [{ key: "d/", end: "d0" }],
  barrier: { key: "t/", end: "t0" },
};

/** Writes a fact the way services do: the value and the writer's tick in one txn. */
async function write(kv: Kv, key: string, value: string): Promise<number> {
  return (await kv.txn({ success: [put(key, value), put("t/w")] })).revision;
}

describe("WatchCache: a snapshot, then a watch, read linearizably", () => {
  let store: MemoryKv;
  let kv: ControlledKv;
  let view: LatestValues;
  let cache: WatchCache;

  beforeEach(async () => {
    store = new MemoryKv();
    kv = new ControlledKv(store);
    view = new LatestValues();
    await write(store, "d/before", "1");
    cache = new WatchCache(kv, {
      ...LAYOUT,
      projections: [view],
      pageSize: 2,
      maxWaitMs: 3_000,
      stallMs: 200,
    });
    await cache.start();
  });
  afterEach(async () => {
    await cache.close();
    await store.close();
  });

  it("loads the snapshot in pages, then reflects every write acknowledged before a read", async () => {
    assert.equal(view.values.get("d/before"), "1");
    for (let i = 0; i < 5; i++) await write(store, `d/k${i}`, String(i));
    await cache.fresh();
    assert.equal(view.values.size, 6);
    assert.equal(cache.ready, true);
  });

  it("does not answer a read before the watch has applied what the barrier saw", async () => {
    kv.holding = true;
    await write(store, "d/late", "x");
    let answered = false;
    const reading = cache.fresh().then(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(answered, false, "served before the write reached the view");
    kv.release();
    await reading;
    assert.equal(view.values.get("d/late"), "x");
  });

  it("shares one barrier read among the reads that arrive before it is sent", async () => {
    const before = kv.barrierReads;
    await Promise.all(Array.from({ length: 50 }, () => cache.fresh()));
    assert.equal(kv.barrierReads - before, 1, "50 reads in one turn of the event loop");
  });

  it("gives a read that arrives while a barrier is in flight the next one, sent after it", async () => {
    let release = () => {};
    kv.barrierHold = new Promise<void>((resolve) => (release = resolve));
    const before = kv.barrierReads;
    const reads: Promise<void>[] = [];
    try {
      reads.push(cache.fresh());
      await turn();
      assert.equal(kv.barrierReads - before, 1, "the first barrier is in flight");
      for (let i = 0; i < 10; i++) reads.push(cache.fresh());
      await turn();
      await turn();
      assert.equal(kv.barrierReads - before, 1, "no second barrier while the first is in flight");
      kv.barrierHold = undefined;
      release();
      await Promise.all(reads);
      assert.equal(kv.barrierReads - before, 2, "the later reads shared one barrier of their own");
    } finally {
      kv.barrierHold = undefined;
      release();
      await Promise.allSettled(reads);
    }
  });

  it("while busy, holds the next barrier back for the gap so that more reads share it", async () => {
    const gapped = new WatchCache(kv, {
      ...LAYOUT,
      projections: [new LatestValues()],
      barrierGapMs: 300,
    });
    const reads: Promise<void>[] = [];
    try {
      await gapped.start();
      const before = kv.barrierReads;
      await gapped.fresh();
      assert.equal(kv.barrierReads - before, 1, "idle: the barrier goes at once");
      await Promise.all(Array.from({ length: 5 }, () => gapped.fresh()));
      assert.equal(kv.barrierReads - before, 2, "still idle before this one: sent at once");
      reads.push(gapped.fresh());
      await turn();
      await turn();
      assert.equal(kv.barrierReads - before, 2, "busy now: the next barrier waits for the gap");
      for (let i = 0; i < 5; i++) reads.push(gapped.fresh());
      await Promise.all(reads);
      assert.equal(kv.barrierReads - before, 3, "the reads that came during the gap shared it");
    } finally {
      await Promise.allSettled(reads);
      await gapped.close();
    }
  });

  it("rebuilds from a fresh snapshot when the watch falls behind a compaction, serving nothing stale", async () => {
    kv.dropping = true;
    await write(store, "d/lost", "gone from the watch");
    const now = await write(store, "d/also", "y");
    await store.compact(now);
    await deliveries();
    kv.dropping = false;
    // The stall check reconnects the watch from where it was: compacted, so it rebuilds.
    await cache.fresh();
    assert.equal(view.values.get("d/lost"), "gone from the watch");
    assert.equal(view.values.get("d/also"), "y");
    assert.equal(cache.loads, 2);
    assert.ok(view.resets >= 2);
  });

  it("reconnects a watch that went quiet and catches up", async () => {
    kv.dropping = true;
    await write(store, "d/quiet", "q");
    await deliveries();
    kv.dropping = false;
    await cache.fresh();
    assert.equal(view.values.get("d/quiet"), "q");
    assert.equal(cache.loads, 1, "caught up by resuming, not by reloading");
  });

  it("reconnects a watch that went quiet also when the wall clock jumps backwards meanwhile", async () => {
    kv.dropping = true;
    await write(store, "d/quiet", "q");
    await deliveries();
    kv.dropping = false;
    const realNow = Date.now;
    const reading = cache.fresh();
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Stepped back ten minutes while the read waits (NTP, a VM resumed, libfaketime).
    Date.now = () => realNow() - 10 * 60_000;
    try {
      await reading;
    } finally {
      Date.now = realNow;
    }
    assert.equal(view.values.get("d/quiet"), "q");
  });

  it("fails a read as unavailable when the view cannot catch up in time", async () => {
    kv.holding = true;
    await write(store, "d/stuck", "s");
    const slow = new WatchCache(kv, {
      ...LAYOUT,
      projections: [new LatestValues()],
      maxWaitMs: 100,
      stallMs: 10_000,
    });
    try {
      await slow.start();
      await write(store, "d/stuck2", "s");
      await assert.rejects(slow.fresh(), { name: "ViewNotReadyError" });
    } finally {
      await slow.close();
      kv.release();
    }
  });
});

describe("WatchCache: snapshot pages go to the projections of their keys", () => {
  const all = new LatestValues(["d/"]);
  const nested = new LatestValues(["d/x/", "e/"]);

  it("hands a range inside one set of prefixes whole, and leaves mixed ranges to routing key by key", () => {
    assert.deepEqual(routeOfRange({ key: "d/a", end: "d/b" }, [all, nested]), [all]);
    assert.deepEqual(routeOfRange({ key: "d/x/0", end: "d/x/1" }, [all, nested]), [all, nested]);
    assert.deepEqual(routeOfRange({ key: "e/", end: "e0" }, [all, nested]), [nested]);
    assert.deepEqual(routeOfRange({ key: "f/", end: "g" }, [all, nested]), []);
    // "d/x/" begins inside these: their keys do not all go to the same projections.
    assert.equal(routeOfRange({ key: "d/", end: "d0" }, [all, nested]), undefined);
    assert.equal(routeOfRange({ key: "d/w", end: "d/y" }, [all, nested]), undefined);
    assert.equal(routeOfRange({ key: "d/x/5", end: "d0" }, [all, nested]), undefined);
  });

  it("loads the same whether a range is handed whole or routed key by key", async () => {
    const store = new MemoryKv();
    for (const key of ["d/a", "d/x/1", "d/x/2", "d/z", "e/1", "f/1"]) await write(store, key, key);
    const load = async (loadRanges: { key: string; end: string }[]) => {
      const views = [new LatestValues(["d/"]), new LatestValues(["d/x/", "e/"])];
      const cache = new WatchCache(store, {
        ...LAYOUT,
        loadRanges,
        projections: views,
        pageSize: 2,
      });
      await cache.start();
      await cache.close();
      return views.map((view) => [...view.values.keys()].sort());
    };
    try {
      const expected = [
        ["d/a", "d/x/1", "d/x/2", "d/z"],
        ["d/x/1", "d/x/2", "e/1"],
      ];
      // One mixed range (routed key by key), then ranges each inside one set of prefixes.
      assert.deepEqual(await load([{ key: "d/", end: "f" }]), expected);
      assert.deepEqual(
        await load([
          { key: "d/", end: "d/x/" },
          { key: "d/x/", end: "d/x0" },
          { key: "d/x0", end: "d0" },
          { key: "e/", end: "e0" },
        ]),
        expected,
      );
    } finally {
      await store.close();
    }
  });
});
