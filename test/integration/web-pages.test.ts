import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { HtmlClient } from "../fixtures/html-client.js";
import { startInProcessFlock, type InProcessFlock } from "../fixtures/in-process-flock.js";

/** The HTML pages end to end, as a browser without JavaScript uses them: cookies, forms, CSRF. */
describe("HTML pages", () => {
  let flock: InProcessFlock;
  let seq = 0;
  const name = (prefix: string) => `${prefix}_${++seq}`;

  before(async () => {
    flock = await startInProcessFlock({ backends: 2, webs: 2 });
  });
  after(() => flock.close());

  async function signedUp(username: string, replica = 0): Promise<HtmlClient> {
    const browser = new HtmlClient(flock.webUrls[replica]!);
    await browser.get("/signup");
    const response = await browser.postForm("/signup", { username, password: "password123" });
    assert.equal(response.status, 303);
    assert.equal(response.headers.get("location"), "/?notice=welcome");
    return browser;
  }

  it("shows the landing page with login and signup forms when logged out", async () => {
    const browser = new HtmlClient(flock.webUrls[0]!);
    const response = await browser.get("/");
    assert.equal(response.status, 200);
    assert.match(browser.lastHtml, /action="\/login"/);
    assert.match(browser.lastHtml, /action="\/signup"/);
    assert.match(response.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
  });

  it("signs up, sets an HttpOnly SameSite=Lax session cookie, and shows the feed", async () => {
    const browser = new HtmlClient(flock.webUrls[0]!);
    await browser.get("/signup");
    const response = await browser.postForm("/signup", { username: name("Web"), password: "password123" });
    const setCookie = response.headers.getSetCookie().find((c) => c.startsWith("flock_session="));
    assert.ok(setCookie, "a session cookie is set");
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Lax/i);
    const home = await browser.get("/?notice=welcome");
    assert.equal(home.status, 200);
    assert.match(browser.lastHtml, /Your feed/);
    assert.match(browser.lastHtml, /Welcome to Flock/);
  });

  it("follows, posts, reads the feed and unfollows through forms, across replicas", async () => {
    const [alice, bob] = [name("alice"), name("bob")];
    const a = await signedUp(alice, 0);
    const b = await signedUp(bob, 1);

    await a.get(`/u/${bob}`);
    assert.match(a.lastHtml, /Follow<\/button>/);
    const followed = await a.postForm(`/u/${bob}/follow`, {});
    assert.equal(followed.status, 303);

    await b.get("/");
    const posted = await b.postForm("/posts", { text: "<script>alert('x')</script> hi & bye" });
    assert.equal(posted.status, 303);

    a.useBaseUrl(flock.webUrls[1]!);
    await a.get("/");
    assert.match(a.lastHtml, /&lt;script&gt;alert\(&#39;x&#39;\)&lt;\/script&gt; hi &amp; bye/);
    assert.doesNotMatch(a.lastHtml, /<script>alert/);

    await a.get(`/u/${bob}`);
    assert.match(a.lastHtml, /Unfollow<\/button>/);
    assert.match(a.lastHtml, /<strong>1<\/strong> followers/);
    await a.postForm(`/u/${bob}/unfollow`, {});
    await a.get("/");
    assert.doesNotMatch(a.lastHtml, /hi &amp; bye/);
    assert.match(a.lastHtml, /Follow someone to fill it/);
  });

  it("refuses state-changing forms without a valid CSRF token", async () => {
    const author = name("csrf");
    const browser = await signedUp(author);
    await browser.get("/");
    const missing = await browser.postForm("/posts", { text: "forged" }, false);
    assert.equal(missing.status, 403);
    const wrong = await browser.postForm("/posts", { text: "forged", _csrf: "abc" });
    assert.equal(wrong.status, 403);
    const stranger = new HtmlClient(flock.webUrls[0]!);
    const noCookie = await stranger.postForm("/login", {
      username: author,
      password: "password123",
      _csrf: "x",
    });
    assert.equal(noCookie.status, 403);
    await browser.get(`/u/${author}`);
    assert.match(browser.lastHtml, /<strong>0<\/strong> posts/);
  });

  it("shows readable errors for bad sign-ups, logins and posts", async () => {
    const browser = new HtmlClient(flock.webUrls[0]!);
    await browser.get("/signup");
    const bad = await browser.postForm("/signup", { username: "no", password: "password123" });
    assert.equal(bad.status, 400);
    assert.match(browser.lastHtml, /role="alert">username must be 3–32 characters/);

    const taken = name("taken");
    await signedUp(taken);
    await browser.get("/signup");
    assert.equal(
      (await browser.postForm("/signup", { username: taken, password: "password123" })).status,
      409,
    );

    await browser.get("/login");
    const wrong = await browser.postForm("/login", { username: taken, password: "wrong password" });
    assert.equal(wrong.status, 401);
    assert.match(browser.lastHtml, /wrong username or password/);

    const author = await signedUp(name("long"));
    await author.get("/");
    const tooLong = await author.postForm("/posts", { text: "y".repeat(281) });
    assert.equal(tooLong.status, 400);
    assert.match(author.lastHtml, /at most 280 characters/);
  });

  it("logs out, revoking the session everywhere, and logs in again", async () => {
    const username = name("cycle");
    const browser = await signedUp(username);
    const oldToken = browser.cookie("flock_session")!;
    await browser.get("/");
    const out = await browser.postForm("/logout", {});
    assert.equal(out.status, 303);
    assert.equal(browser.cookie("flock_session"), undefined);

    const replay = new HtmlClient(flock.webUrls[1]!);
    const feed = await fetch(`${flock.webUrls[1]}/api/v1/feed`, {
      headers: { authorization: `Bearer ${oldToken}` },
    });
    assert.equal(feed.status, 401, "the old token no longer works anywhere");

    await replay.get("/login");
    const login = await replay.postForm("/login", { username, password: "password123" });
    assert.equal(login.status, 303);
    await replay.get("/");
    assert.match(replay.lastHtml, new RegExp(`@${username}`));
  });

  it("answers unknown profiles and pages with 404", async () => {
    const browser = new HtmlClient(flock.webUrls[0]!);
    assert.equal((await browser.get(`/u/${name("ghost")}`)).status, 404);
    assert.equal((await browser.get("/u/..%2F..%2Fetc")).status, 404);
    assert.equal((await browser.get("/nope")).status, 404);
  });

  it("paginates the feed with a Load more link", async () => {
    const [reader, author] = [name("pgreader"), name("pgauthor")];
    const r = await signedUp(reader);
    const w = await signedUp(author);
    await r.get(`/u/${author}`);
    await r.postForm(`/u/${author}/follow`, {});
    for (let i = 0; i < 25; i++) {
      await w.get("/");
      await w.postForm("/posts", { text: `numbered ${i}` });
    }
    await r.get("/");
    assert.match(r.lastHtml, /numbered 24/);
    assert.doesNotMatch(r.lastHtml, /numbered 4</);
    const more = /href="(\/\?cursor=[^"]+)"/.exec(r.lastHtml);
    assert.ok(more, "a Load more link");
    await r.get(more[1]!.replaceAll("&amp;", "&"));
    assert.match(r.lastHtml, /numbered 4</);
    assert.match(r.lastHtml, /numbered 0</);
    assert.doesNotMatch(r.lastHtml, /numbered 5</);
  });
});
