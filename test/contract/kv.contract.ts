import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { freshStorageEachTest, type StorageUnderTest } from "../fixtures/storage-under-test.js";
import {
  absent,
  CompactedError,
  del,
  get,
  LeaseNotFoundError,
  prefixEnd,
  put,
  text,
  type Kv,
  type WatchEvent,
} from "../../src/storage/kv.js";

/** Collects a watch's events; `until` waits (with a deadline) for a condition on them. */
function recorder() {
  const events: WatchEvent[] = [];
  const errors: Error[] = [];
  const waiting: (() => void)[] = [];
  const wake = () => waiting.splice(0).forEach((w) => w());
  return {
    events,
    errors,
    handler: {
      onEvents: (batch: WatchEvent[]) => {
        events.push(...batch);
        wake();
      },
      onError: (err: Error) => {
        errors.push(err);
        wake();
      },
    },
    async until(condition: () => boolean, what: string, ms = 5_000): Promise<void> {
      const deadline = Date.now() + ms;
      while (!condition()) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for ${what}`);
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          setTimeout(resolve, Math.min(left, 100)).unref();
        });
      }
    },
  };
}

/**
 * What the read model relies on from the store, run against each implementation (memory,
 * etcd): revisions, compares, ranges at a revision, watches that replay and then follow,
 * compaction, leases.
 */
export function kvContract(
  name: string,
  make: () => Promise<StorageUnderTest<{ kv: Kv; prefix: string }>>,
): void {
  describe(`Kv contract: ${name}`, () => {
    let kv: Kv;
    let p: string;
    freshStorageEachTest(make, (made) => ((kv = made.kv), (p = made.prefix)));

    it("gives each changing txn the next revision; keys keep their create revision", async () => {
      const first = await kv.txn({ success: [put(`${p}a`, "1")] });
      const second = await kv.txn({ success: [put(`${p}b`, "2"), put(`${p}a`, "3")] });
      assert.equal(second.revision, first.revision + 1);
      const [a, b] = (await kv.range({ key: p, end: prefixEnd(p) })).kvs;
      assert.equal(a!.createRevision, first.revision);
      assert.equal(a!.modRevision, second.revision);
      assert.equal(text(a!.value), "3");
      assert.equal(b!.createRevision, second.revision);
    });

    it("runs the success ops when every compare holds, else the failure ops, atomically", async () => {
      const created = await kv.txn({ compare: [absent(`${p}x`)], success: [put(`${p}x`, "one")] });
      assert.equal(created.succeeded, true);
      const again = await kv.txn({
        compare: [absent(`${p}x`)],
        success: [put(`${p}x`, "two"), put(`${p}y`, "never")],
        failure: [get(`${p}x`)],
      });
      assert.equal(again.succeeded, false);
      assert.equal(again.revision, created.revision, "a txn that wrote nothing takes no revision");
      assert.equal(text(again.results[0]!.kvs[0]!.value), "one");
      assert.equal((await kv.range({ key: `${p}y` })).kvs.length, 0);
      const byMod = await kv.txn({
        compare: [{ key: `${p}x`, target: "modRevision", equals: created.revision }],
        success: [del(`${p}x`)],
      });
      assert.equal(byMod.succeeded, true);
      assert.equal((await kv.range({ key: `${p}x` })).kvs.length, 0);
    });

    it("pages a range with a limit and reads it as it was at an earlier revision", async () => {
      for (const k of ["a", "b", "c", "d"]) await kv.txn({ success: [put(`${p}${k}`, k)] });
      const page = await kv.range({ key: p, end: prefixEnd(p), limit: 3 });
      assert.deepEqual(
        page.kvs.map((kv) => kv.key),
        [`${p}a`, `${p}b`, `${p}c`],
      );
      assert.equal(page.more, true);
      const at = page.revision;
      await kv.txn({ success: [del(`${p}a`), put(`${p}e`, "e"), put(`${p}b`, "B")] });
      const then = await kv.range({ key: p, end: prefixEnd(p), revision: at });
      assert.deepEqual(
        then.kvs.map((kv) => `${kv.key.slice(p.length)}=${text(kv.value)}`),
        ["a=a", "b=b", "c=c", "d=d"],
      );
      const keysOnly = await kv.range({ key: p, end: prefixEnd(p), keysOnly: true });
      assert.deepEqual(
        keysOnly.kvs.map((kv) => kv.value.length),
        [0, 0, 0, 0],
      );
    });

    it("watches from a past revision: replays, then follows live, in revision order", async () => {
      const first = await kv.txn({ success: [put(`${p}a`, "1")] });
      await kv.txn({ success: [put(`${p}b`, "2")] });
      await kv.txn({ success: [put(`${p}outside-no`, "x")] });
      const seen = recorder();
      const watch = kv.watch(`${p}`, `${p}o`, first.revision, seen.handler);
      try {
        await seen.until(() => seen.events.length >= 2, "the replay");
        await kv.txn({ success: [del(`${p}a`), put(`${p}c`, "3")] });
        await seen.until(() => seen.events.length >= 4, "the live events");
        assert.deepEqual(
          seen.events.map((e) => `${e.type} ${e.kv.key.slice(p.length)}`),
          ["put a", "put b", "delete a", "put c"],
        );
        const revisions = seen.events.map((e) => e.kv.modRevision);
        assert.deepEqual(
          [...revisions].sort((x, y) => x - y),
          revisions,
        );
        const deleted = seen.events[2]!;
        assert.equal(deleted.prevKv?.createRevision, first.revision, "a delete names what it deleted");
      } finally {
        watch.cancel();
      }
    });

    it("refuses reads and watches below a compaction", async () => {
      const old = await kv.txn({ success: [put(`${p}a`, "1")] });
      const now = await kv.txn({ success: [put(`${p}a`, "2")] });
      await kv.compact(now.revision);
      await assert.rejects(kv.range({ key: `${p}a`, revision: old.revision }), CompactedError);
      assert.equal(text((await kv.range({ key: `${p}a`, revision: now.revision })).kvs[0]!.value), "2");
      const seen = recorder();
      const watch = kv.watch(p, prefixEnd(p), old.revision, seen.handler);
      try {
        await seen.until(() => seen.errors.length > 0, "the compaction error");
        assert.ok(seen.errors[0] instanceof CompactedError);
      } finally {
        watch.cancel();
      }
    });

    it("deletes a lease's keys when it is revoked, with delete events", async () => {
      const lease = await kv.grantLease(60);
      const start = await kv.txn({
        success: [put(`${p}s1`, "a", lease), put(`${p}s2`, "b", lease), put(`${p}k`)],
      });
      const seen = recorder();
      const watch = kv.watch(p, prefixEnd(p), start.revision + 1, seen.handler);
      try {
        await kv.revokeLease(lease);
        await seen.until(() => seen.events.length >= 2, "the lease's deletes");
        assert.deepEqual(seen.events.map((e) => `${e.type} ${e.kv.key.slice(p.length)}`).sort(), [
          "delete s1",
          "delete s2",
        ]);
        assert.deepEqual(
          (await kv.range({ key: p, end: prefixEnd(p) })).kvs.map((kv) => kv.key),
          [`${p}k`],
        );
        await assert.rejects(kv.txn({ success: [put(`${p}s3`, "c", lease)] }), LeaseNotFoundError);
      } finally {
        watch.cancel();
      }
    });
  });
}
