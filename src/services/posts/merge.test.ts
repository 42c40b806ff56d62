import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { mergeNewestFirst, mergeOldestFirst } from "./merge.js";

interface Item {
  id: number;
  post?: { id: number };
}

/**
 * Timelines as the view holds them: ascending ids, unique across lists (an id is a commit
 * revision) and interleaved between them; some entries are reposts of a post that may also
 * be in another list, or reposted twice.
 */
const timelines = fc
  .array(
    fc.record({
      list: fc.integer({ min: 0, max: 5 }),
      repostOf: fc.option(fc.integer({ min: 101, max: 160 }), { nil: undefined }),
    }),
    { maxLength: 60 },
  )
  .map((items) => {
    const lists: Item[][] = [[], [], [], [], [], []];
    items.forEach(({ list, repostOf }, i) => {
      const id = 101 + i;
      lists[list]!.push(repostOf === undefined ? { id } : { id, post: { id: repostOf } });
    });
    return lists;
  });

/** The plain answer: every entry in range, newest first, each post once, the filter applied. */
function reference(
  lists: Item[][],
  newest: boolean,
  after: number,
  before: number,
  limit: number,
  keep: (e: Item) => boolean,
) {
  const all = lists
    .flat()
    .filter((e) => e.id > after && e.id < before)
    .sort((a, b) => (newest ? b.id - a.id : a.id - b.id));
  const seen = new Set<number>();
  const accepted: Item[] = [];
  for (const entry of all) {
    const post = entry.post?.id ?? entry.id;
    if (seen.has(post) || !keep(entry)) continue;
    seen.add(post);
    accepted.push(entry);
  }
  const entries = accepted.slice(0, limit);
  return { entries: newest ? entries : entries.reverse(), more: accepted.length > limit };
}

describe("feed merges", () => {
  it("mergeNewestFirst and mergeOldestFirst answer what a sort of every entry answers", () => {
    fc.assert(
      fc.property(
        timelines,
        fc.integer({ min: 100, max: 162 }),
        fc.integer({ min: 100, max: 162 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 1, max: 4 }),
        (lists, a, b, limit, modulus) => {
          const keep = (e: Item) => e.id % modulus !== 1;
          const before = Math.max(a, b) === 162 ? Infinity : Math.max(a, b);
          const after = Math.min(a, b);
          assert.deepEqual(
            mergeNewestFirst(lists, before, limit, keep),
            reference(lists, true, -Infinity, before, limit, keep),
          );
          assert.deepEqual(
            mergeOldestFirst(lists, after, before, limit, keep),
            reference(lists, false, after, before, limit, keep),
          );
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
