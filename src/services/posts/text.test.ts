import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isTag, parseMentions, parseTags, searchTerms } from "./text.js";

describe("searchTerms", () => {
  it("gives each word once, case-folded, 2 to 40 characters (the word index relies on once)", () => {
    assert.deepEqual(searchTerms("Cats, cats and CATS: a cat's life", false), ["cats", "and", "cat", "life"]);
    assert.deepEqual(searchTerms(`ok ${"x".repeat(40)} ${"y".repeat(41)}`, false), ["ok", "x".repeat(40)]);
    assert.deepEqual(searchTerms("", false), []);
  });

  it("folds non-ASCII text with NFKC, each word once", () => {
    assert.deepEqual(searchTerms("Ｃａｆé café CAFÉ Ünïcode", false), ["café", "ünïcode"]);
  });

  it("keeps #tags as tags in a query, and as words in a text", () => {
    assert.deepEqual(searchTerms("#Cats cats", true), ["#cats", "cats"]);
    assert.deepEqual(searchTerms("#Cats cats", false), ["cats"]);
  });
});

describe("mentions and tags", () => {
  it("finds @names (not e-mail addresses) and #tags (not digits only), each once", () => {
    assert.deepEqual(parseMentions("hi @Alice and @bob, mail me@example.org, @alice again"), [
      "alice",
      "bob",
    ]);
    assert.deepEqual(parseTags("#Rust #rust #2024 &#39; #Ｔｅｓｔ"), ["rust", "test"]);
    assert.equal(isTag("cats_2"), true);
    assert.equal(isTag("2024"), false);
  });
});
