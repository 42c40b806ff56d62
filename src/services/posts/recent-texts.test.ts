import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { RecentTexts, textCost } from "./recent-texts.js";

describe("RecentTexts", () => {
  it("lets go of the least recently read text first when over its budget", () => {
    const recent = new RecentTexts(3 * textCost("abcd"));
    recent.remember(1, "one!");
    recent.remember(2, "two!");
    recent.remember(3, "thre");
    assert.equal(recent.get(1), "one!"); // 2 is now the least recently read
    recent.remember(4, "four");
    assert.equal(recent.get(2), undefined);
    assert.deepEqual(
      [1, 3, 4].map((id) => recent.get(id)),
      ["one!", "thre", "four"],
    );
    assert.equal(recent.bytes, 3 * textCost("abcd"));
  });

  it("forgets a text on demand and replaces one remembered again", () => {
    const recent = new RecentTexts(1000);
    recent.remember(1, "first");
    recent.remember(1, "second");
    assert.equal(recent.get(1), "second");
    assert.equal(recent.bytes, textCost("second"));
    recent.forget(1);
    recent.forget(7);
    assert.equal(recent.get(1), undefined);
    assert.equal(recent.bytes, 0);
    assert.equal(recent.size, 0);
  });

  it("does not hold a text larger than its whole budget", () => {
    const recent = new RecentTexts(textCost("short"));
    recent.remember(1, "short");
    recent.remember(2, "much longer than the budget");
    assert.equal(recent.get(2), undefined);
    assert.equal(recent.get(1), "short");
  });

  it("never holds more than its budget, and holds what a plain LRU would", () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("remember" as const),
        id: fc.nat(20),
        text: fc.string({ maxLength: 30 }),
      }),
      fc.record({ kind: fc.constant("get" as const), id: fc.nat(20) }),
      fc.record({ kind: fc.constant("forget" as const), id: fc.nat(20) }),
    );
    fc.assert(
      fc.property(fc.nat(400), fc.array(op, { maxLength: 60 }), (budget, ops) => {
        const recent = new RecentTexts(budget);
        // The model: ids in read order, least recent first.
        let model: { id: number; text: string }[] = [];
        const used = () => model.reduce((sum, e) => sum + textCost(e.text), 0);
        for (const o of ops) {
          if (o.kind === "get") {
            const hit = model.find((e) => e.id === o.id);
            assert.equal(recent.get(o.id), hit?.text);
            if (hit) model = [...model.filter((e) => e !== hit), hit];
          } else {
            model = model.filter((e) => e.id !== o.id);
            if (o.kind === "remember") {
              recent.remember(o.id, o.text);
              if (textCost(o.text) <= budget) model.push({ id: o.id, text: o.text });
              while (used() > budget) model.shift();
            } else recent.forget(o.id);
          }
          assert.ok(recent.bytes <= budget);
          assert.equal(recent.bytes, used());
          assert.equal(recent.size, model.length);
        }
      }),
    );
  });
});
