import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { followedThroughout } from "./checker.js";
import { FollowPair } from "./follow-pair.js";
import type { Op, Outcome } from "./history.js";

const GRACE_MS = 50;

/** The checks as plain scans over the pair's ops: what the index must answer, however it gets there. */
function lastAckedBefore(pair: readonly Op[], t: number): Op | undefined {
  let last: Op | undefined;
  for (const o of pair)
    if (o.outcome === "ok" && o.completedAt < t && (!last || o.completedAt > last.completedAt)) last = o;
  return last;
}
function mayHaveApplied(pair: readonly Op[], type: Op["type"], after: number, until: number): boolean {
  return pair.some(
    (o) =>
      o.type === type &&
      o.outcome !== "failed" &&
      o.invokedAt < until &&
      (o.outcome === "ok" ? o.completedAt : o.completedAt + GRACE_MS) > after,
  );
}
const scan = {
  followedDuring(pair: readonly Op[], since: number, until: number): boolean {
    const last = lastAckedBefore(pair, since);
    return last?.type === "follow" && !mayHaveApplied(pair, "unfollow", last.invokedAt, until);
  },
  unfollowedDuring(pair: readonly Op[], since: number, until: number): boolean {
    const last = lastAckedBefore(pair, since);
    return last?.type === "unfollow" && !mayHaveApplied(pair, "follow", last.invokedAt, until);
  },
};

/** Follows and unfollows of one pair, overlapping in time, with every outcome (ties included). */
const pairOps = fc
  .array(
    fc.record({
      follow: fc.boolean(),
      at: fc.integer({ min: 0, max: 400 }),
      took: fc.integer({ min: 0, max: 80 }),
      outcome: fc.constantFrom<Outcome>("ok", "ok", "failed", "unknown"),
    }),
    { maxLength: 30 },
  )
  .map((specs) =>
    specs.map((s, id): Op => ({
      id,
      process: 0,
      type: s.follow ? "follow" : "unfollow",
      user: "a",
      target: "b",
      invokedAt: s.at,
      completedAt: s.at + s.took,
      outcome: s.outcome,
      status: s.outcome === "ok" ? 204 : s.outcome === "failed" ? 403 : 503,
    })),
  );

describe("FollowPair", () => {
  it("answers followed / unfollowed during a window exactly as a scan over the pair's ops", () => {
    fc.assert(
      fc.property(
        pairOps,
        fc.integer({ min: -10, max: 520 }),
        fc.integer({ min: 0, max: 200 }),
        (ops, since, span) => {
          const pair = new FollowPair(ops, GRACE_MS);
          const until = since + span;
          assert.equal(pair.followedDuring(since, until), scan.followedDuring(ops, since, until));
          assert.equal(pair.unfollowedDuring(since, until), scan.unfollowedDuring(ops, since, until));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("followed until +∞ is the end-state check's followedThroughout", () => {
    fc.assert(
      fc.property(pairOps, fc.integer({ min: -10, max: 520 }), (ops, since) => {
        const pair = new FollowPair(ops, GRACE_MS);
        assert.equal(
          pair.followedDuring(since, Number.POSITIVE_INFINITY),
          followedThroughout(ops, since, GRACE_MS),
        );
      }),
      { numRuns: 2_000 },
    );
  });

  it("no post sent before followedOnlySince was followed throughout a read ending at `until`", () => {
    fc.assert(
      fc.property(pairOps, fc.integer({ min: 0, max: 520 }), (ops, until) => {
        const pair = new FollowPair(ops, GRACE_MS);
        const floor = pair.followedOnlySince(until);
        for (let sent = -10; sent < Math.min(floor, until); sent += 7)
          assert.equal(scan.followedDuring(ops, sent, until), false, `a post sent at ${sent}`);
      }),
      { numRuns: 1_000 },
    );
  });
});
