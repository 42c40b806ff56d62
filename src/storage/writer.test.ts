import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { del, put, type Kv, type TxnRequest } from "./kv.js";
import { Keys } from "./keys.js";
import { MemoryKv } from "./memory/kv.js";
import { FactWriter } from "./writer.js";

/**
 * A store that, like etcd behind a retrying client, may apply a transaction twice: each txn is
 * kept, and `deliverLate()` applies every kept one again (a frozen member waking up with the
 * first copy in its socket).
 */
class DuplicatingKv extends MemoryKv {
  private readonly copies: TxnRequest[] = [];
  override async txn(request: TxnRequest) {
    this.copies.push(request);
    return super.txn(request);
  }
  async deliverLate(): Promise<void> {
    for (const copy of this.copies.splice(0)) await super.txn(copy);
  }
}

const keys = new Keys("flock/");
const follow = keys.follow("ann", "bob");

describe("FactWriter", () => {
  it("applies a transaction once, however late a copy of it arrives", async () => {
    const kv = new DuplicatingKv();
    try {
      const writer = new FactWriter(kv, keys, "g");
      const followed = await writer.txn({ success: [put(follow, "1")] });
      await writer.txn({ success: [del(follow)] });
      await kv.deliverLate();
      assert.equal((await kv.range({ key: follow })).kvs.length, 0, "the late follow did not follow again");
      // A copy of an applied txn answers as the first did: at its revision.
      const again = await writer.txn({ success: [put(follow, "1")] });
      assert.equal(again.succeeded, true);
      assert.ok(again.revision > followed.revision);
    } finally {
      await kv.close();
    }
  });

  it("answers a re-sent transaction whose first copy landed as succeeded, at that copy's revision", async () => {
    const kv = new MemoryKv();
    try {
      // A client that sends every txn twice in a row, as a retry after a lost answer does.
      let first = 0;
      const twice: Kv = {
        range: (r) => kv.range(r),
        txn: async (request) => {
          const landed = await kv.txn(request);
          first ||= landed.revision;
          return kv.txn(request);
        },
        watch: (k, e, f, h) => kv.watch(k, e, f, h),
        grantLease: (ttl) => kv.grantLease(ttl),
        revokeLease: (id) => kv.revokeLease(id),
        compact: (r) => kv.compact(r),
        close: async () => undefined,
      };
      const answer = await new FactWriter(twice, keys, "p").txn({ success: [put(keys.post("abc"), "x")] });
      assert.equal(answer.succeeded, true);
      assert.equal(answer.revision, first);
      const stored = await kv.range({ key: keys.post("abc") });
      assert.equal(stored.kvs[0]!.modRevision, first, "written once");
    } finally {
      await kv.close();
    }
  });

  it("puts the marks of one minute under one lease, and the next minute's under another", async (t) => {
    t.mock.timers.enable({ apis: ["Date"], now: 10 * 60_000 });
    const kv = new MemoryKv();
    try {
      const writer = new FactWriter(kv, keys, "g");
      const markLeases = async () =>
        (await kv.range({ key: keys.appliedMark("g", ""), end: keys.appliedMark("g", "~") })).kvs.map(
          (mark) => mark.lease,
        );
      await writer.txn({ success: [put(keys.follow("ann", "bob"), "1")] });
      t.mock.timers.setTime(10 * 60_000 + 59_000);
      await writer.txn({ success: [put(keys.follow("ann", "cat"), "1")] });
      const [first, second] = await markLeases();
      assert.equal(first, second, "one lease within a minute");
      t.mock.timers.setTime(11 * 60_000);
      await writer.txn({ success: [put(keys.follow("ann", "dan"), "1")] });
      const leases = new Set(await markLeases());
      assert.equal(leases.size, 2, "a new lease for the next minute");
      assert.ok(!leases.has("0"));
    } finally {
      await kv.close();
    }
  });
});
