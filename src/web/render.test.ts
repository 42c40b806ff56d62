import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  assetUrl,
  avatarHue,
  charactersLeft,
  entryKey,
  excerpt,
  safeBack,
  segments,
  timeAgo,
  withNotice,
} from "./render.js";

describe("page helpers", () => {
  it("links @mentions and leaves everything else as plain text", () => {
    assert.deepEqual(segments("hi @Bob, meet @carol_2!"), [
      { text: "hi " },
      { text: "@Bob", mention: "bob" },
      { text: ", meet " },
      { text: "@carol_2", mention: "carol_2" },
      { text: "!" },
    ]);
    assert.deepEqual(segments("@alice"), [{ text: "@alice", mention: "alice" }]);
    // Not mentions: an e-mail address, a too-short name, a name running into more letters than allowed.
    assert.deepEqual(segments("mail a@bob.com"), [{ text: "mail a@bob.com" }]);
    assert.deepEqual(segments("@ab"), [{ text: "@ab" }]);
    assert.deepEqual(segments(`@${"x".repeat(33)}`), [{ text: `@${"x".repeat(33)}` }]);
    assert.deepEqual(segments('@bob"><script>'), [{ text: "@bob", mention: "bob" }, { text: '"><script>' }]);
    assert.deepEqual(segments(""), []);
  });

  it("links #hashtags, and only the mentions and tags the backend found when it says which", () => {
    assert.deepEqual(segments("#Cats & #dogs, not a#b, &#35; or #123"), [
      { text: "#Cats", tag: "cats" },
      { text: " & " },
      { text: "#dogs", tag: "dogs" },
      { text: ", not a#b, &#35; or #123" },
    ]);
    assert.deepEqual(segments("@ann and @ghost_x #on #off", ["ann"], ["on"]), [
      { text: "@ann", mention: "ann" },
      { text: " and @ghost_x " },
      { text: "#on", tag: "on" },
      { text: " #off" },
    ]);
    assert.deepEqual(segments("#Ｃａｔｓ"), [{ text: "#Ｃａｔｓ", tag: "cats" }], "NFKC, like the backend");
  });

  it("sends a form back only to a path on this site", () => {
    assert.equal(safeBack("/posts/12?cursor=abc#x"), "/posts/12?cursor=abc");
    for (const bad of [
      "//evil.example",
      "/\\evil.example",
      "https://evil.example",
      "/a b",
      "/\u0000",
      "",
      12,
      undefined,
    ]) {
      assert.equal(safeBack(bad), "/", JSON.stringify(bad));
    }
    assert.equal(safeBack(`/${"a".repeat(600)}`), "/");
    assert.equal(withNotice("/u/ann?cursor=c&notice=old", "muted"), "/u/ann?cursor=c&notice=muted");
    assert.equal(withNotice("/", undefined, "p-12"), "/#p-12");
    assert.equal(entryKey({ id: "12", repostedBy: "bob" }), "12-r-bob");
    assert.equal(entryKey({ id: "12", repostedBy: null }), "12");
    assert.equal(excerpt("🐦".repeat(200), 10), `${"🐦".repeat(9)}…`);
  });

  it("counts characters left like the server: code points of the trimmed NFC text", () => {
    assert.equal(charactersLeft(""), 280);
    assert.equal(charactersLeft("  hello  "), 275);
    assert.equal(charactersLeft("\u{1F426}".repeat(280)), 0);
    assert.equal(charactersLeft("e\u0301"), 279, "é composed by NFC");
  });

  it("says how long ago, then the date", () => {
    const now = Date.parse("2025-06-15T12:00:00Z");
    assert.equal(timeAgo("2025-06-15T11:59:58Z", now), "now");
    assert.equal(timeAgo("2025-06-15T11:59:18Z", now), "42s");
    assert.equal(timeAgo("2025-06-15T11:57:00Z", now), "3m");
    assert.equal(timeAgo("2025-06-15T10:00:00Z", now), "2h");
    assert.equal(timeAgo("2025-06-10T12:00:00Z", now), "5d");
    assert.equal(timeAgo("2025-03-04T12:00:00Z", now), "Mar 4");
    assert.equal(timeAgo("2023-03-04T12:00:00Z", now), "Mar 4, 2023");
    assert.equal(timeAgo("2025-06-15T12:00:09Z", now), "now", "a clock a little ahead");
  });

  it("gives every name a stable avatar colour and every asset a content version", () => {
    assert.equal(avatarHue("alice"), avatarHue("alice"));
    assert.ok([..."abcdefghijklmnop"].every((c) => avatarHue(c) >= 0 && avatarHue(c) < 8));
    assert.match(assetUrl("app.css"), /^\/static\/app\.css\?v=[0-9a-f]{10}$/);
    assert.equal(assetUrl("missing.css"), "/static/missing.css");
  });
});
