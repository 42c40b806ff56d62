import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isPostId, newPostId, POST_ID_PATTERN, postIdTime } from "./ids.js";

const MAX_MS = 9_999_999_999_999; // the largest 13-digit millisecond timestamp

describe("post ids", () => {
  it("have 13 digits of time then 12 hex digits", () => {
    const id = newPostId(1_700_000_000_123);
    assert.match(id, POST_ID_PATTERN);
    assert.equal(id.length, 25);
    assert.ok(id.startsWith("1700000000123"));
  });

  it("pad small timestamps so they still sort as strings", () => {
    const id = newPostId(42);
    assert.ok(id.startsWith("0000000000042"));
    assert.ok(newPostId(42) < newPostId(1_000));
  });

  it("give back the time they were made at", () => {
    assert.equal(postIdTime(newPostId(1_700_000_000_123)), 1_700_000_000_123);
    assert.equal(postIdTime(newPostId(7)), 7);
  });

  it("are unique within one millisecond", () => {
    const ids = new Set(Array.from({ length: 5000 }, () => newPostId(1_700_000_000_000)));
    assert.equal(ids.size, 5000);
  });

  it("property: an id made later sorts after one made earlier", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_MS }), fc.integer({ min: 0, max: MAX_MS }), (a, b) => {
        fc.pre(a !== b);
        const [earlier, later] = a < b ? [a, b] : [b, a];
        return newPostId(earlier) < newPostId(later);
      }),
    );
  });

  it("sorting ids sorts by time", () => {
    const times = [5, 1_700_000_000_001, 99, 1_700_000_000_000, 1_000_000];
    const sorted = times.map((t) => newPostId(t)).sort();
    assert.deepEqual(
      sorted.map(postIdTime),
      [...times].sort((a, b) => a - b),
    );
  });

  it("isPostId accepts new ids and rejects anything else", () => {
    assert.equal(isPostId(newPostId(Date.now())), true);
    const good = "1700000000000abcdef012345";
    assert.equal(isPostId(good), true);
    for (const bad of [
      "",
      good.slice(1), // too short
      good + "0", // too long
      "1700000000000ABCDEF012345", // uppercase hex
      "1700000000000abcdefg12345", // not hex
      "170000000000aabcdef012345", // letter in the time part
      ` ${good}`,
      `${good}\n`,
    ]) {
      assert.equal(isPostId(bad), false, JSON.stringify(bad));
    }
  });
});
