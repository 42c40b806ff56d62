import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { codeName, splitMethodPath } from "./metrics.js";
import { RateCounter } from "./rate.js";

describe("ops helpers", () => {
  it("RateCounter averages whole seconds over its window and forgets older ones", () => {
    let now = 1_000_000;
    const rate = new RateCounter(10, () => now);
    for (let s = 0; s < 10; s++) {
      rate.add(5);
      now += 1000;
    }
    assert.equal(rate.perSecond(), 5);
    rate.add(100); // the current second does not count yet
    assert.equal(rate.perSecond(), 5);
    now += 30_000;
    assert.equal(rate.perSecond(), 0);
    assert.equal(rate.total, 150);
  });

  it("labels gRPC calls by service, method and code name", () => {
    assert.deepEqual(splitMethodPath("/flock.posts.v1.PostsService/CreatePost"), [
      "PostsService",
      "CreatePost",
    ]);
    assert.deepEqual(splitMethodPath("nonsense"), ["unknown", "unknown"]);
    assert.equal(codeName(0), "OK");
    assert.equal(codeName(14), "UNAVAILABLE");
    assert.equal(codeName(99), "99");
  });
});
