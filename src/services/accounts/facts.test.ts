import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { KEYS } from "../../../test/fixtures/memory-services.js";
import { StoreOutcomeUnknownError } from "../../storage/etcd/errors.js";
import type { Kv, TxnRequest } from "../../storage/kv.js";
import { LeaseBuckets } from "../../storage/lease-buckets.js";
import { MemoryKv } from "../../storage/memory/kv.js";
import { FactWriter } from "../../storage/writer.js";
import { AccountsFacts } from "./facts.js";

const WINDOW_SECONDS = 60;
const KEY = "a:198.51.100.7";

/**
 * A store whose next transaction creating a login-failure counter is applied, and then reported
 * as failed: the answer was lost (etcd3's deadline passed, or the member went away after the
 * commit). This is what "outcome unknown" means.
 */
function lostAnswers(store: MemoryKv, failure: () => Error) {
  const state = { loseNextCreate: false, lost: 0 };
  const kv: Kv = {
    range: (r) => store.range(r),
    txn: async (request: TxnRequest) => {
      const creates = request.success.some((op) => op.type === "put" && op.key.includes("/_s/loginfail/"));
      const answer = await store.txn(request);
      if (
        state.loseNextCreate &&
        creates &&
        (request.compare ?? []).some((c) => c.target === "createRevision")
      ) {
        state.loseNextCreate = false;
        state.lost++;
        throw failure();
      }
      return answer;
    },
    watch: (key, end, from, handler) => store.watch(key, end, from, handler),
    grantLease: (ttl) => store.grantLease(ttl),
    revokeLease: (id) => store.revokeLease(id),
    compact: (revision) => store.compact(revision),
    close: async () => undefined,
  };
  return { kv, state };
}

function setup(t: TestContext, failure: () => Error) {
  const store = new MemoryKv();
  t.after(() => store.close());
  const { kv, state } = lostAnswers(store, failure);
  const facts = new AccountsFacts(
    new FactWriter(kv, KEYS, "a"),
    KEYS,
    new LeaseBuckets(kv, 3600, 3600),
    new LeaseBuckets(kv, 600, 60),
  );
  return { facts, state, store };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/**
 * Issue 13, defect 6: when the txn that creates a login-failure counter had an unknown
 * outcome, the counter's lease was revoked "to clean up", deleting the very counter the txn
 * may have written, so a window of failures reset itself whenever etcd was slow.
 */
describe("AccountsFacts.recordLoginFailure with a lost answer", () => {
  for (const [what, failure] of [
    [
      "a timeout (outcome unknown)",
      () => new StoreOutcomeUnknownError("etcd txn: Error: 4 DEADLINE_EXCEEDED; it may still be applied"),
    ],
    ["an UNAVAILABLE error after the commit", () => new Error("14 UNAVAILABLE: Connection dropped")],
  ] as const) {
    it(`keeps the counter a create wrote before ${what}, and counts on from it`, async (t) => {
      const { facts, state, store } = setup(t, failure);
      state.loseNextCreate = true;
      await assert.rejects(facts.recordLoginFailure(KEY, WINDOW_SECONDS));
      assert.equal(state.lost, 1, "the create was applied and its answer lost");
      await settle();

      assert.equal(await facts.loginFailures(KEY), 1, "the counter is still there");
      const stored = (await store.range({ key: KEYS.loginFailures(KEY) })).kvs[0];
      assert.ok(stored && stored.lease !== "0", "still under its window's lease");
      assert.equal(await facts.recordLoginFailure(KEY, WINDOW_SECONDS), 2);
      assert.equal(await facts.recordLoginFailure(KEY, WINDOW_SECONDS), 3);
      await settle();
      assert.equal(await facts.loginFailures(KEY), 3);
    });
  }

  it("a counter whose window ends goes with its lease", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const { facts } = setup(t, () => new Error("unused"));
    assert.equal(await facts.recordLoginFailure(KEY, WINDOW_SECONDS), 1);
    t.mock.timers.tick(WINDOW_SECONDS * 1000);
    assert.equal(await facts.loginFailures(KEY), 0);
    assert.equal(await facts.recordLoginFailure(KEY, WINDOW_SECONDS), 1, "a new window starts");
  });
});
