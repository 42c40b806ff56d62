import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { lastUnknownAt, newestAcknowledgedPost, type Op } from "./history.js";

/** A long run's history: 300,000 operations, more than a call's arguments can hold. */
const ops: Op[] = Array.from({ length: 300_000 }, (_, id) => ({
  id,
  process: id % 24,
  type: id % 3 === 0 ? "post" : id % 3 === 1 ? "reply" : "feed",
  user: `u${id % 24}`,
  invokedAt: id * 10,
  completedAt: id * 10 + 5,
  outcome: id % 7 === 0 ? "unknown" : "ok",
  status: 200,
  ...(id % 3 !== 2 && id % 7 !== 0 ? { postId: String(1000 + id) } : {}),
}));

describe("run history summaries", () => {
  it("finds the last unknown outcome of a long run's whole history", () => {
    const lastUnknown = ops.findLast((o) => o.outcome === "unknown")!;
    assert.equal(lastUnknownAt(ops), lastUnknown.completedAt);
    assert.equal(lastUnknownAt([]), 0);
  });

  it("finds the newest acknowledged post or reply of a long run's whole history", () => {
    const newest = ops.findLast((o) => o.type !== "feed" && o.outcome === "ok")!;
    assert.equal(newestAcknowledgedPost(ops), 1000 + newest.id);
    assert.equal(newestAcknowledgedPost(ops.filter((o) => o.type === "feed")), 0);
  });
});
