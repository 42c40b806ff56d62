import assert from "node:assert/strict";
import { prefixEnd } from "../../src/storage/kv.js";
import { Keys } from "../../src/storage/keys.js";
import { after, before, describe, it } from "node:test";
import { ApiClient } from "../fixtures/api-client.js";
import { startInProcessFlock, type InProcessFlock } from "../fixtures/in-process-flock.js";

/** The JSON API end to end: real HTTP into two web replicas, real gRPC into two backends. */
describe("JSON API", () => {
  let flock: InProcessFlock;
  let a: ApiClient;
  let b: ApiClient;
  let seq = 0;
  const name = (prefix: string) => `${prefix}_${++seq}`;

  before(async () => {
    flock = await startInProcessFlock({ backends: 2, webs: 2 });
    a = new ApiClient(flock.webUrls[0]!);
    b = new ApiClient(flock.webUrls[1]!);
  });
  after(() => flock.close());

  describe("accounts and sessions", () => {
    it("creates an account, case-folded, and refuses the name again with 409", async () => {
      const username = name("Alice").toUpperCase();
      const created = await a.signup(username, "password123");
      assert.equal(created.status, 201);
      assert.deepEqual(created.body, { username: username.toLowerCase() });
      const again = await b.signup(username.toLowerCase(), "another password");
      assert.equal(again.status, 409);
      assert.equal((again.body as { error: { code: string } }).error.code, "already_exists");
    });

    it("logs in with the right password only, with the same answer for unknown users", async () => {
      const username = name("bob");
      await a.signup(username, "password123");
      const ok = await a.login(username, "password123");
      assert.equal(ok.status, 201);
      assert.match(ok.body.token, /^[A-Za-z0-9_-]{43}$/);
      const wrong = await a.login(username, "password124");
      const unknown = await a.login(name("nobody"), "password123");
      assert.equal(wrong.status, 401);
      assert.equal(unknown.status, 401);
      assert.deepEqual(wrong.body, unknown.body);
    });

    it("a session made through one web replica works through the other", async () => {
      const username = name("carol");
      const token = await a.newUser(username);
      const posted = await b.post(token, "hello from replica b");
      assert.equal(posted.status, 201);
      assert.equal(posted.body.author, username);
    });

    it("logout revokes the token on every replica", async () => {
      const token = await a.newUser(name("dave"));
      assert.equal((await b.feed(token)).status, 200);
      assert.equal((await b.logout(token)).status, 204);
      assert.equal((await a.feed(token)).status, 401);
      assert.equal((await b.post(token, "after logout")).status, 401);
      assert.equal((await a.logout(token)).status, 401);
    });

    it("refuses missing, malformed and forged tokens", async () => {
      for (const token of ["", "x", "A".repeat(43), "../../etc/passwd"]) {
        const feed = await a.feed(token);
        assert.equal(feed.status, 401, `token ${JSON.stringify(token)}`);
        assert.equal((feed.body as unknown as { error: { code: string } }).error.code, "unauthenticated");
      }
    });
  });

  describe("following", () => {
    it("follow and unfollow are idempotent and reflected in counts", async () => {
      const [x, y] = [name("xavier"), name("yolanda")];
      const tx = await a.newUser(x);
      await a.newUser(y);
      assert.equal((await a.follow(tx, y)).status, 204);
      assert.equal((await b.follow(tx, y)).status, 204);
      assert.deepEqual((await a.user(y)).body, {
        username: y,
        displayName: null,
        bio: null,
        followers: 1,
        following: 0,
        posts: 0,
      });
      assert.equal((await a.user(x)).body.following, 1);
      assert.equal((await b.unfollow(tx, y)).status, 204);
      assert.equal((await a.unfollow(tx, y)).status, 204);
      assert.equal((await a.user(y)).body.followers, 0);
    });

    it("following an unknown user is 404 and yourself is 400", async () => {
      const me = name("solo");
      const token = await a.newUser(me);
      assert.equal((await a.follow(token, name("ghost"))).status, 404);
      assert.equal((await a.follow(token, me)).status, 400);
      assert.equal((await a.follow(token, "no!")).status, 400);
      assert.equal((await a.user(me)).body.following, 0);
    });
  });

  describe("posts and feed", () => {
    it("a feed holds only followed authors, newest first, and follows unfollows at once", async () => {
      const [reader, author, stranger] = [name("reader"), name("author"), name("stranger")];
      const tr = await a.newUser(reader);
      const ta = await a.newUser(author);
      const ts = await a.newUser(stranger);
      await a.post(ta, "old post before follow");
      await a.follow(tr, author);
      const first = await b.post(ta, "first");
      const second = await a.post(ta, "  second  ");
      await a.post(ts, "from a stranger");
      await a.post(tr, "my own post");
      assert.equal(second.body.text, "second");

      const feed = await b.feed(tr);
      assert.equal(feed.status, 200);
      assert.deepEqual(
        feed.body.posts.map((p) => p.text),
        ["second", "first", "old post before follow"],
      );
      assert.ok(feed.body.posts.every((p) => p.author === author));
      assert.equal(feed.body.posts[1]!.id, first.body.id);

      await a.unfollow(tr, author);
      assert.deepEqual((await b.feed(tr)).body.posts, []);
    });

    it("pages never overlap or skip while new posts arrive", async () => {
      const [reader, author] = [name("pager"), name("prolific")];
      const tr = await a.newUser(reader);
      const ta = await a.newUser(author);
      await a.follow(tr, author);
      for (let i = 0; i < 7; i++) await a.post(ta, `post ${i}`);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
        const page = await b.feed(tr, query);
        assert.equal(page.status, 200);
        seen.push(...page.body.posts.map((p) => p.text));
        await a.post(ta, `interloper after ${seen.length}`);
        cursor = page.body.nextCursor;
      } while (cursor);
      assert.deepEqual(seen, ["post 6", "post 5", "post 4", "post 3", "post 2", "post 1", "post 0"]);
    });

    it("a user's posts page paginates and 404s for unknown users", async () => {
      const author = name("writer");
      const token = await a.newUser(author);
      for (let i = 0; i < 5; i++) await a.post(token, `w${i}`);
      const first = await a.userPosts(author, "?limit=2");
      assert.deepEqual(
        first.body.posts.map((p) => p.text),
        ["w4", "w3"],
      );
      const second = await b.userPosts(author, `?limit=10&cursor=${first.body.nextCursor}`);
      assert.deepEqual(
        second.body.posts.map((p) => p.text),
        ["w2", "w1", "w0"],
      );
      assert.equal(second.body.nextCursor, null);
      assert.equal((await a.userPosts(name("nobody"))).status, 404);
      assert.equal((await a.user(author)).body.posts, 5);
    });

    it("an Idempotency-Key makes a retried post land once", async () => {
      const author = name("retrier");
      const token = await a.newUser(author);
      const one = await a.post(token, "only once", "key-123");
      const two = await b.post(token, "only once", "key-123");
      assert.equal(one.status, 201);
      assert.equal(two.body.id, one.body.id);
      assert.equal((await a.user(author)).body.posts, 1);
    });
  });

  describe("bad input gets a clear 4xx and stores nothing", () => {
    it("rejects each broken sign-up rule", async () => {
      const cases: [unknown, number][] = [
        [{ username: "ab", password: "password123" }, 400],
        [{ username: "a".repeat(33), password: "password123" }, 400],
        [{ username: "bad name", password: "password123" }, 400],
        [{ username: "émile", password: "password123" }, 400],
        [{ username: name("shortpw"), password: "1234567" }, 400],
        [{ username: name("longpw"), password: "x".repeat(257) }, 400],
        [{ username: name("ctrlpw"), password: "pass\u0000word123" }, 400],
        [{ username: 42, password: "password123" }, 400],
        [{ password: "password123" }, 400],
        [["array"], 400],
        ["just a string", 400],
      ];
      const accountsBefore = await countAccounts(flock);
      for (const [json, status] of cases) {
        const response = await a.request("POST", "/api/v1/accounts", { json });
        assert.equal(response.status, status, JSON.stringify(json));
        assert.equal(typeof (response.body as { error: { message: string } }).error.message, "string");
      }
      assert.equal(await countAccounts(flock), accountsBefore);
    });

    it("rejects bad posts and stores none of them", async () => {
      const author = name("poster");
      const token = await a.newUser(author);
      for (const text of ["", "   ", "x".repeat(281), "bad\u0007bell", 12, null]) {
        const response = await a.request("POST", "/api/v1/posts", { token, json: { text } });
        assert.equal(response.status, 400, JSON.stringify(text));
      }
      const exactly = await a.post(token, "🐦".repeat(280));
      assert.equal(exactly.status, 201, "280 code points are allowed even when they are 560 UTF-16 units");
      assert.equal((await a.user(author)).body.posts, 1);
    });

    it("answers malformed JSON, huge bodies and wrong content types with 4xx", async () => {
      const token = await a.newUser(name("fuzz"));
      const raw = (body: string, type: string) =>
        fetch(`${flock.webUrls[0]}/api/v1/posts`, {
          method: "POST",
          headers: { "content-type": type, authorization: `Bearer ${token}` },
          body,
        });
      assert.equal((await raw("{not json", "application/json")).status, 400);
      assert.equal(
        (await raw(JSON.stringify({ text: "x".repeat(100_000) }), "application/json")).status,
        413,
      );
      assert.equal((await raw("text=hi", "text/plain")).status, 415);
      const badLimit = await a.feed(token, "?limit=1000");
      assert.equal(badLimit.status, 400);
      const badCursor = await a.feed(token, "?cursor=not-a-cursor");
      assert.equal(badCursor.status, 400);
      const unknownRoute = await a.request("GET", "/api/v1/nothing-here");
      assert.equal(unknownRoute.status, 404);
    });
  });
});

async function countAccounts(flock: InProcessFlock): Promise<number> {
  const accounts = new Keys("flock/").accounts;
  return (await flock.store.range({ key: accounts, end: prefixEnd(accounts), keysOnly: true })).kvs.length;
}
