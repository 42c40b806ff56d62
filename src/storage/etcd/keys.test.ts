import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { newPostId } from "../../shared/ids.js";
import { KeyLayout, newestFirst, postIdOfTimelineKey } from "./keys.js";

const postId = fc
  .tuple(fc.integer({ min: 0, max: 9_999_999_999_999 }), fc.nat())
  .map(([ms]) => newPostId(ms));

describe("newestFirst timeline keys", () => {
  it("reverses the order of post ids, keeping their length", () => {
    fc.assert(
      fc.property(postId, postId, (a, b) => {
        const [ra, rb] = [newestFirst(a), newestFirst(b)];
        assert.equal(ra.length, a.length);
        if (a < b) assert.ok(ra > rb, `${a} < ${b} but ${ra} <= ${rb}`);
        if (a === b) assert.equal(ra, rb);
      }),
    );
  });

  it("is its own inverse, so a timeline key gives back its post id", () => {
    const keys = new KeyLayout("flock/");
    fc.assert(
      fc.property(postId, (id) => {
        assert.equal(newestFirst(newestFirst(id)), id);
        assert.equal(postIdOfTimelineKey(keys.feedEntry("reader", id)), id);
        assert.equal(postIdOfTimelineKey(keys.authorPost("author", id)), id);
      }),
    );
  });

  it("puts the newest post first in an ascending scan", () => {
    const ids = [1_000, 2_000, 3_000].map((ms) => newPostId(1_700_000_000_000 + ms));
    const sorted = ids.map(newestFirst).sort().map(newestFirst);
    assert.deepEqual(sorted, [...ids].reverse());
  });
});
