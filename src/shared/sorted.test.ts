import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { firstIndexWhere, lowerBoundById } from "./sorted.js";

describe("binary searches over sorted lists", () => {
  it("firstIndexWhere and lowerBoundById find the first index at or past the point, as a scan does", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 100 })),
        fc.integer({ min: -1, max: 101 }),
        (raw, id) => {
          const list = [...raw].sort((a, b) => a - b).map((n) => ({ id: n }));
          const scanned = list.findIndex((entry) => entry.id >= id);
          const expected = scanned < 0 ? list.length : scanned;
          assert.equal(lowerBoundById(list, id), expected);
          assert.equal(
            firstIndexWhere(list.length, (i) => list[i]!.id >= id),
            expected,
          );
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
