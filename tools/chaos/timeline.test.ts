import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Op } from "./history.js";
import { perSecond } from "./timeline.js";

describe("the chaos timeline", () => {
  it("buckets a long run's whole history by second (more operations than the stack has room for arguments)", () => {
    const ops: Op[] = Array.from({ length: 300_000 }, (_, id) => ({
      id,
      process: id % 24,
      type: "feed",
      user: `u${id % 24}`,
      invokedAt: id * 10,
      completedAt: id * 10 + 5,
      outcome: "ok",
      status: 200,
    }));
    const stats = perSecond(ops);
    assert.equal(stats.length, 3001);
    assert.equal(stats[0]!.ok, 100);
    assert.equal(
      stats.reduce((sum, s) => sum + s.ok, 0),
      300_000,
    );
  });
});
