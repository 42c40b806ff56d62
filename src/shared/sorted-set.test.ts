import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { SortedSet, sortedSetFor } from "./sorted-set.js";

/** The obvious, slow implementation the real one must agree with. */
class NaiveModel {
  readonly items = new Set<string>();
  sorted(): string[] {
    return [...this.items].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
  ascendingAfter(after: string | undefined, limit: number): string[] {
    return this.sorted()
      .filter((v) => after === undefined || v > after)
      .slice(0, limit);
  }
  descendingBefore(before: string | undefined, limit: number): string[] {
    return this.sorted()
      .reverse()
      .filter((v) => before === undefined || v < before)
      .slice(0, limit);
  }
  withPrefix(prefix: string, limit: number): string[] {
    return this.sorted()
      .filter((v) => v.startsWith(prefix))
      .slice(0, limit);
  }
}

// A small alphabet so values collide, share prefixes and land between each other.
const value = fc.string({ unit: fc.constantFrom("a", "b", "c", "é", "😀"), maxLength: 4 });
const limit = fc.integer({ min: 0, max: 12 });
const bound = fc.option(value, { nil: undefined });

type Op =
  | { kind: "add" | "delete" | "has"; value: string }
  | { kind: "asc"; after: string | undefined; limit: number }
  | { kind: "desc"; before: string | undefined; limit: number }
  | { kind: "prefix"; prefix: string; limit: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom("add" as const, "delete" as const, "has" as const), value }),
  fc.record({ kind: fc.constant("asc" as const), after: bound, limit }),
  fc.record({ kind: fc.constant("desc" as const), before: bound, limit }),
  fc.record({ kind: fc.constant("prefix" as const), prefix: value, limit }),
);

describe("SortedSet", () => {
  it("starts empty", () => {
    const set = new SortedSet();
    assert.equal(set.size, 0);
    assert.equal(set.has(""), false);
    assert.deepEqual(set.ascendingAfter(undefined, 10), []);
    assert.deepEqual(set.descendingBefore(undefined, 10), []);
  });

  it("add reports whether the value was new, and keeps one copy", () => {
    const set = new SortedSet();
    assert.equal(set.add("b"), true);
    assert.equal(set.add("b"), false);
    assert.equal(set.size, 1);
  });

  it("delete reports whether the value was there", () => {
    const set = new SortedSet();
    set.add("a");
    assert.equal(set.delete("b"), false);
    assert.equal(set.delete("a"), true);
    assert.equal(set.delete("a"), false);
    assert.equal(set.size, 0);
  });

  it("ascendingAfter starts strictly after the bound, even when the bound is absent from the set", () => {
    const set = new SortedSet();
    for (const v of ["a", "c", "e", "g"]) set.add(v);
    assert.deepEqual(set.ascendingAfter("c", 10), ["e", "g"]);
    assert.deepEqual(set.ascendingAfter("d", 10), ["e", "g"]);
    assert.deepEqual(set.ascendingAfter(undefined, 2), ["a", "c"]);
    assert.deepEqual(set.ascendingAfter("g", 10), []);
  });

  it("descendingBefore starts strictly before the bound, newest first", () => {
    const set = new SortedSet();
    for (const v of ["a", "c", "e", "g"]) set.add(v);
    assert.deepEqual(set.descendingBefore("e", 10), ["c", "a"]);
    assert.deepEqual(set.descendingBefore("f", 10), ["e", "c", "a"]);
    assert.deepEqual(set.descendingBefore(undefined, 2), ["g", "e"]);
    assert.deepEqual(set.descendingBefore("a", 10), []);
    assert.deepEqual(set.descendingBefore(undefined, Infinity), ["g", "e", "c", "a"]);
  });

  it("withPrefix returns only values with the prefix, ascending, up to the limit", () => {
    const set = new SortedSet();
    for (const v of ["al", "alice", "alicia", "bob", "a", "alz", "am"]) set.add(v);
    assert.deepEqual(set.withPrefix("ali", 10), ["alice", "alicia"]);
    assert.deepEqual(set.withPrefix("al", 2), ["al", "alice"]);
    assert.deepEqual(set.withPrefix("", 3), ["a", "al", "alice"]);
    assert.deepEqual(set.withPrefix("zz", 10), []);
  });

  it("pages through everything with ascendingAfter, no overlap or gap", () => {
    const set = new SortedSet();
    const all = Array.from({ length: 23 }, (_, i) => `k${String(i).padStart(2, "0")}`);
    for (const v of [...all].reverse()) set.add(v);
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = set.ascendingAfter(after, 5);
      seen.push(...page);
      if (page.length < 5) break;
      after = page[page.length - 1];
    }
    assert.deepEqual(seen, all);
  });

  it("property: behaves like a naive sorted array under any sequence of operations", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const set = new SortedSet();
        const model = new NaiveModel();
        for (const o of ops) {
          switch (o.kind) {
            case "add": {
              const isNew = !model.items.has(o.value);
              model.items.add(o.value);
              assert.equal(set.add(o.value), isNew);
              break;
            }
            case "delete":
              assert.equal(set.delete(o.value), model.items.delete(o.value));
              break;
            case "has":
              assert.equal(set.has(o.value), model.items.has(o.value));
              break;
            case "asc":
              assert.deepEqual(set.ascendingAfter(o.after, o.limit), model.ascendingAfter(o.after, o.limit));
              break;
            case "desc":
              assert.deepEqual(
                set.descendingBefore(o.before, o.limit),
                model.descendingBefore(o.before, o.limit),
              );
              break;
            case "prefix":
              assert.deepEqual(set.withPrefix(o.prefix, o.limit), model.withPrefix(o.prefix, o.limit));
              break;
          }
          assert.equal(set.size, model.items.size);
        }
        assert.deepEqual(set.ascendingAfter(undefined, Infinity), model.sorted());
      }),
      { numRuns: 300 },
    );
  });
});

describe("sortedSetFor", () => {
  it("creates the set on first use and returns the same one after", () => {
    const map = new Map<string, SortedSet>();
    const first = sortedSetFor(map, "k");
    first.add("x");
    assert.equal(map.size, 1);
    assert.equal(sortedSetFor(map, "k"), first);
    assert.equal(sortedSetFor(map, "k").has("x"), true);
    assert.notEqual(sortedSetFor(map, "other"), first);
    assert.equal(map.size, 2);
  });
});
