import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { contentHtml } from "./content.js";

const links = {
  account: (name: string) => `https://flock.example/u/${name}`,
  tag: (name: string) => `https://flock.example/tags/${encodeURIComponent(name)}`,
};

describe("contentHtml", () => {
  it("links mentions of existing accounts, hashtags and URLs, and escapes the rest", () => {
    const html = contentHtml(
      "hi @Bob & @nobody\nsee #Flock: https://example.com/a?b=1&c=2.",
      ["bob"],
      ["flock"],
      links,
    );
    assert.equal(
      html,
      '<p>hi <span class="h-card"><a href="https://flock.example/u/bob" class="u-url mention">@<span>Bob</span></a></span> &amp; @nobody<br />' +
        'see <a href="https://flock.example/tags/flock" class="mention hashtag" rel="tag">#<span>Flock</span></a>: ' +
        '<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="nofollow noopener noreferrer">' +
        '<span class="invisible">https://</span><span class="">example.com/a?b=1&amp;c=2</span><span class="invisible"></span></a>.</p>',
    );
  });

  it("never lets markup through, and makes paragraphs of blank lines", () => {
    const html = contentHtml(
      "<script>alert(1)</script> \"x\" 'y'\n\n<img src=x onerror=alert(1)> javascript:alert(1)",
      [],
      [],
      links,
    );
    assert.equal(
      html,
      "<p>&lt;script&gt;alert(1)&lt;/script&gt; &quot;x&quot; &#39;y&#39;</p><p>&lt;img src=x onerror=alert(1)&gt; javascript:alert(1)</p>",
    );
    assert.doesNotMatch(contentHtml('https://a.example/"onmouseover="x', [], [], links), /"onmouseover/);
  });

  it("shortens long URLs for display as Mastodon does", () => {
    const url = "https://www.example.com/" + "a".repeat(40);
    const html = contentHtml(url, [], [], links);
    assert.match(
      html,
      /<span class="invisible">https:\/\/www\.<\/span><span class="ellipsis">example\.com\/a{18}<\/span><span class="invisible">a{22}<\/span>/,
    );
  });
});
