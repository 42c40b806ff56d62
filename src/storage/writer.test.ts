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
});
