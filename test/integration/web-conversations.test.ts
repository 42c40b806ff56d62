import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ApiClient } from "../fixtures/api-client.js";
import { HtmlClient } from "../fixtures/html-client.js";
import { startInProcessFlock, type InProcessFlock } from "../fixtures/in-process-flock.js";

const PASSWORD = "password123";

/**
 * The conversation pages as a browser without JavaScript uses them: threads and replies,
 * like/repost/delete buttons (plain forms with a CSRF token), profiles with display names,
 * block and mute, notifications, hashtags and search. Setup goes through the JSON API; what
 * a person does goes through forms.
 */
describe("HTML pages: conversations and reactions", () => {
  let flock: InProcessFlock;
  let api: ApiClient;
  let seq = 0;
  const name = (prefix: string) => `${prefix}_${++seq}`;

  before(async () => {
    flock = await startInProcessFlock({ backends: 2, webs: 2 });
    api = new ApiClient(flock.webUrls[1]!);
  });
  after(() => flock.close());

  /** A user with an API token and a logged-in browser (on web replica 0). */
  async function person(prefix: string) {
    const username = name(prefix);
    const token = await api.newUser(username, PASSWORD);
    const browser = new HtmlClient(flock.webUrls[0]!);
    await browser.get("/login");
    assert.equal((await browser.postForm("/login", { username, password: PASSWORD })).status, 303);
    return { name: username, token, browser };
  }

  it("shows a conversation and takes a reply through the form", async () => {
    const ann = await person("ann");
    const ben = await person("ben");
    const root = (await api.post(ann.token, "Which city next?")).body;
    const answer = (await api.reply(ben.token, root.id, "Lisbon!")).body;

    const page = await ann.browser.get(`/posts/${answer.id}`);
    assert.equal(page.status, 200);
    const html = ann.browser.lastHtml;
    assert.ok(html.indexOf("Which city next?") < html.indexOf("Lisbon!"), "the ancestor comes first");
    assert.match(html, new RegExp(`<label for="reply-text">Reply to @${ben.name}</label>`));
    assert.match(html, new RegExp(`name="inReplyTo" value="${answer.id}"`));

    const replied = await ann.browser.postForm("/posts", { text: "Porto, then.", inReplyTo: answer.id });
    assert.equal(replied.status, 303);
    const location = replied.headers.get("location")!;
    assert.match(location, new RegExp(`^/posts/${answer.id}\\?notice=replied#p-\\d+$`));
    await ann.browser.get(location.split("#")[0]!);
    assert.match(ann.browser.lastHtml, /Reply posted\./);
    assert.match(ann.browser.lastHtml, /Porto, then\./);

    // A bad reply: the conversation again, with the reason and the draft kept, nothing stored.
    const tooLong = await ann.browser.postForm("/posts", { text: "x".repeat(281), inReplyTo: answer.id });
    assert.equal(tooLong.status, 400);
    assert.match(ann.browser.lastHtml, /text must be at most 280 characters/);
    assert.match(ann.browser.lastHtml, /Lisbon!/);
    assert.match(ann.browser.lastHtml, new RegExp(`>${"x".repeat(281)}</textarea>`));
    assert.equal((await api.getPost(answer.id)).body.replies, 1);

    await ann.browser.get("/");
    const gone = await ann.browser.postForm("/posts", { text: "to nothing", inReplyTo: "987654321" });
    assert.equal(gone.status, 404);
    assert.equal((await ann.browser.get("/posts/987654321")).status, 404);
    assert.equal((await ann.browser.get("/posts/abc")).status, 404);
  });

  it("likes and reposts with plain forms, or in place when the script asks for JSON", async () => {
    const author = await person("author");
    const fan = await person("fan");
    const post = (await api.post(author.token, "press the buttons")).body;
    await fan.browser.get(`/posts/${post.id}`);
    assert.match(fan.browser.lastHtml, new RegExp(`action="/posts/${post.id}/like"`));
    assert.match(fan.browser.lastHtml, /class="act like" aria-pressed="false"/);

    const liked = await fan.browser.postForm(`/posts/${post.id}/like`, { back: `/posts/${post.id}` });
    assert.equal(liked.status, 303);
    assert.equal(liked.headers.get("location"), `/posts/${post.id}#p-${post.id}`);
    await fan.browser.get(`/posts/${post.id}`);
    assert.match(fan.browser.lastHtml, new RegExp(`action="/posts/${post.id}/unlike"`));
    assert.match(fan.browser.lastHtml, /class="act like" aria-pressed="true"/);

    // What app.js sends: the same form, Accept: application/json.
    const form = new URLSearchParams({ _csrf: fan.browser.csrfToken(), back: "/" });
    const json = await fetch(`${flock.webUrls[0]}/posts/${post.id}/repost`, {
      method: "POST",
      headers: {
        accept: "application/json",
        "content-type": "application/x-www-form-urlencoded",
        cookie: `flock_session=${fan.browser.cookie("flock_session")}; _csrf=${fan.browser.cookie("_csrf")}`,
      },
      body: form.toString(),
    });
    assert.equal(json.status, 200);
    const answer = (await json.json()) as {
      reposted: boolean;
      reposts: number;
      liked: boolean;
      likes: number;
    };
    assert.deepEqual([answer.reposted, answer.reposts, answer.liked, answer.likes], [true, 1, true, 1]);

    // `back` only ever leads back into the site.
    const _csrf = fan.browser.csrfToken();
    for (const back of [
      "//evil.example/x",
      "https://evil.example",
      "/\\evil.example",
      "javascript:alert(1)",
      "/a b",
    ]) {
      const response = await fan.browser.postForm(`/posts/${post.id}/unlike`, { back, _csrf });
      assert.equal(response.headers.get("location"), `/#p-${post.id}`, back);
    }
    assert.equal((await api.getPost(post.id)).body.likes, 0);

    // Logged out: counts, no buttons.
    const stranger = new HtmlClient(flock.webUrls[1]!);
    await stranger.get(`/posts/${post.id}`);
    assert.doesNotMatch(stranger.lastHtml, /aria-pressed/);
    assert.match(stranger.lastHtml, new RegExp(`href="/posts/${post.id}/reposts"`));
    await stranger.get(`/posts/${post.id}/reposts`);
    assert.match(stranger.lastHtml, new RegExp(`href="/u/${fan.name}"`));
  });

  it("deletes your own post from its page, and refuses someone else's", async () => {
    const ann = await person("ann");
    const ben = await person("ben");
    const root = (await api.post(ann.token, "the root")).body;
    const reply = (await api.reply(ann.token, root.id, "a reply I regret")).body;
    await ben.browser.get(`/posts/${reply.id}`);
    assert.doesNotMatch(ben.browser.lastHtml, /\/delete"/, "no delete button on another's post");
    const refused = await ben.browser.postForm(`/posts/${reply.id}/delete`, {});
    assert.equal(refused.status, 403);

    await ann.browser.get(`/posts/${reply.id}`);
    assert.match(ann.browser.lastHtml, new RegExp(`action="/posts/${reply.id}/delete"`));
    const deleted = await ann.browser.postForm(`/posts/${reply.id}/delete`, { back: `/posts/${reply.id}` });
    assert.equal(deleted.status, 303);
    assert.equal(
      deleted.headers.get("location"),
      `/posts/${root.id}?notice=deleted`,
      "to the post it answered",
    );
    assert.equal((await ann.browser.get(`/posts/${reply.id}`)).status, 404);

    // A deleted parent: the conversation shows where it was.
    const child = (await api.reply(ben.token, root.id, "still here")).body;
    await api.deletePost(ann.token, root.id);
    await ben.browser.get(`/posts/${child.id}`);
    assert.match(ben.browser.lastHtml, /This post was deleted\./);
    assert.match(ben.browser.lastHtml, /still here/);
  });

  it("edits the profile: display name and bio on the profile and beside posts", async () => {
    const me = await person("me");
    await me.browser.get("/settings/profile");
    assert.match(me.browser.lastHtml, /<label for="display-name">Display name<\/label>/);
    const bad = await me.browser.postForm("/settings/profile", { displayName: "x".repeat(51), bio: "kept" });
    assert.equal(bad.status, 400);
    assert.match(me.browser.lastHtml, /display name must be at most 50 characters/);
    assert.match(me.browser.lastHtml, />kept<\/textarea>/);

    const saved = await me.browser.postForm("/settings/profile", {
      displayName: "Marie <b>Curie</b>",
      bio: "Two Nobel prizes.",
    });
    assert.equal(saved.status, 303);
    assert.equal(saved.headers.get("location"), `/u/${me.name}?notice=saved`);
    await api.post(me.token, "radium glows");
    await me.browser.get(`/u/${me.name}`);
    assert.match(me.browser.lastHtml, /Marie &lt;b&gt;Curie&lt;\/b&gt; <span class="handle">@/);
    assert.match(me.browser.lastHtml, /<p class="bio">Two Nobel prizes\.<\/p>/);
    assert.match(me.browser.lastHtml, /<span class="display-name">Marie &lt;b&gt;Curie&lt;\/b&gt;<\/span>/);
    assert.match(me.browser.lastHtml, /href="\/settings\/profile"/);

    await me.browser.get("/settings/profile");
    await me.browser.postForm("/settings/profile", { displayName: "", bio: "" });
    const profile = (await api.user(me.name)).body as unknown as { displayName: unknown; bio: unknown };
    assert.deepEqual([profile.displayName, profile.bio], [null, null]);
    const anonymous = new HtmlClient(flock.webUrls[1]!);
    assert.equal((await anonymous.get("/settings/profile")).status, 303);
  });

  it("lists notifications, marks them read on opening, and counts unread ones in the header", async () => {
    const me = await person("me");
    const fan = await person("fan");
    const mine = (await api.post(me.token, "notice this")).body;
    await api.follow(fan.token, me.name);
    await api.react(fan.token, mine.id, "like");
    await api.reply(fan.token, mine.id, "noticed");

    await me.browser.get("/");
    assert.match(me.browser.lastHtml, /aria-label="Notifications, 3 unread"/);
    const page = await me.browser.get("/notifications");
    assert.equal(page.status, 200);
    const html = me.browser.lastHtml;
    assert.equal(html.match(/class="notification [a-z]+ unread"/g)?.length, 3);
    assert.ok(html.indexOf("replied to your post") < html.indexOf("liked your post"), "newest first");
    assert.ok(html.indexOf("liked your post") < html.indexOf("followed you"));
    assert.match(html, /aria-label="Notifications"/, "read now");
    assert.match(html, /<span class="unread" id="unread-count" hidden>/);
    assert.equal((await api.notifications(me.token)).body.unread, 0);
    await me.browser.get("/notifications");
    assert.doesNotMatch(me.browser.lastHtml, /notification [a-z]+ unread/);
    const anonymous = new HtmlClient(flock.webUrls[0]!);
    assert.equal((await anonymous.get("/notifications")).status, 303);
  });

  it("links mentions and hashtags in posts, escapes everything else, and shows who reposted", async () => {
    const ann = await person("ann");
    const ben = await person("ben");
    const tag = `Cats${seq}`;
    await api.follow(ann.token, ben.name);
    const post = (
      await api.post(ben.token, `<script>alert(1)</script> @${ann.name} @nobody_here #${tag} & #123`)
    ).body;
    const reposter = await person("reposter");
    await api.follow(ann.token, reposter.name);
    await api.react(reposter.token, post.id, "repost");
    await ann.browser.get("/");
    const html = ann.browser.lastHtml;
    assert.ok(!html.includes("<script>alert(1)"), "markup is escaped");
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(html, new RegExp(`<a href="/u/${ann.name}">@${ann.name}</a>`));
    assert.doesNotMatch(html, /href="\/u\/nobody_here"/, "no link for an account that does not exist");
    assert.match(html, new RegExp(`<a href="/tags/${tag.toLowerCase()}">#${tag}</a>`));
    assert.doesNotMatch(html, /href="\/tags\/123"/);
    assert.match(html, new RegExp(`<a href="/u/${reposter.name}">@${reposter.name}</a> reposted`));

    await ann.browser.get(`/tags/${tag}`);
    assert.match(ann.browser.lastHtml, new RegExp(`<h1 class="page-title">#${tag.toLowerCase()}</h1>`));
    assert.match(ann.browser.lastHtml, new RegExp(`data-post-id="${post.id}"`));
    assert.equal((await ann.browser.get("/tags/12345")).status, 404);
    assert.equal((await ann.browser.get("/tags/a%20b")).status, 404);
  });

  it("searches people and posts, with a Load more link for posts", async () => {
    const finder = await person("finder");
    for (let i = 0; i < 3; i++) await api.post(finder.token, `capybara fact ${i}`);
    await finder.browser.get(`/search?q=capybara&limit=2`);
    let html = finder.browser.lastHtml;
    assert.match(html, /capybara fact 2/);
    assert.match(html, /capybara fact 1/);
    assert.doesNotMatch(html, /capybara fact 0/);
    const more = /data-more="search-posts" href="([^"]+)"/.exec(html)?.[1];
    assert.ok(more, "a Load more link");
    await finder.browser.get(more.replaceAll("&amp;", "&"));
    assert.match(finder.browser.lastHtml, /capybara fact 0/);
    await finder.browser.get(`/search?q=${finder.name.slice(0, 6)}`);
    html = finder.browser.lastHtml;
    assert.match(html, new RegExp(`class="person-name" href="/u/${finder.name}"`));
    assert.equal((await finder.browser.get("/search?q=")).status, 200);
  });

  it("blocks and mutes from the profile", async () => {
    const me = await person("me");
    const pest = await person("pest");
    await api.follow(pest.token, me.name);
    await api.post(pest.token, "pest post");
    await me.browser.get(`/u/${pest.name}`);
    assert.match(me.browser.lastHtml, new RegExp(`action="/u/${pest.name}/mute"`));
    const muted = await me.browser.postForm(`/u/${pest.name}/mute`, {});
    assert.equal(muted.headers.get("location"), `/u/${pest.name}?notice=muted`);
    await me.browser.get(`/u/${pest.name}?notice=muted`);
    assert.match(me.browser.lastHtml, /Muted\. Their posts and notifications are hidden from you\./);
    assert.match(me.browser.lastHtml, />Unmute @/);
    assert.match(me.browser.lastHtml, /pest post/, "a mute hides nothing on their profile");

    const blocked = await me.browser.postForm(`/u/${pest.name}/block`, {});
    assert.equal(blocked.headers.get("location"), `/u/${pest.name}?notice=blocked`);
    await me.browser.get(`/u/${pest.name}`);
    assert.match(me.browser.lastHtml, />Unblock @/);
    assert.match(me.browser.lastHtml, /their posts are hidden/);
    assert.doesNotMatch(me.browser.lastHtml, /pest post/);
    assert.doesNotMatch(me.browser.lastHtml, /id="follow-button"/);
    assert.equal((await api.user(me.name)).body.followers, 0, "the block ended their follow");
    await pest.browser.get(`/u/${me.name}`);
    assert.match(pest.browser.lastHtml, /Blocks you/);
    await me.browser.postForm(`/u/${pest.name}/unblock`, {});
    await me.browser.get(`/u/${pest.name}`);
    assert.match(me.browser.lastHtml, /pest post/);
    assert.equal((await me.browser.postForm(`/u/${me.name}/block`, {})).status, 400, "not yourself");
  });

  it("the home page carries the live updates hook for the script", async () => {
    const me = await person("me");
    await me.browser.get("/");
    assert.match(
      me.browser.lastHtml,
      /<div class="live" id="live" data-stream="\/api\/v1\/streaming" hidden>/,
    );
    await me.browser.get("/?cursor=" + encodeURIComponent(Buffer.from("c1:99999999").toString("base64url")));
    assert.doesNotMatch(me.browser.lastHtml, /id="live"/, "not on older pages");
  });
});
