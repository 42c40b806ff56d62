import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ApiClient, type PageBody, type PostBody } from "../fixtures/api-client.js";
import { startInProcessFlock, type InProcessFlock } from "../fixtures/in-process-flock.js";
import { snapshot } from "../security/hostile.js";

type Person = { name: string; token: string };
type ErrorBody = { error: { code: string; message: string } };
type Profile = {
  username: string;
  displayName: string | null;
  bio: string | null;
  followers: number;
  following: number;
  posts: number;
};

/**
 * Conversations and reactions through the JSON API, end to end: two web replicas over two
 * backends (each with its own read model), every write through one replica and every read
 * through the other, so each answer also shows the write is there at once on every replica.
 */
describe("JSON API: conversations and reactions", () => {
  let flock: InProcessFlock;
  let a: ApiClient;
  let b: ApiClient;
  let seq = 0;
  const name = (prefix: string) => `${prefix}_${++seq}`;
  const texts = (page: { posts: PostBody[] }) => page.posts.map((p) => p.text);

  /** Fresh users, each with a token. */
  async function users<const P extends readonly string[]>(
    ...prefixes: P
  ): Promise<{ [K in keyof P]: Person }> {
    const out: Person[] = [];
    for (const prefix of prefixes) {
      const username = name(prefix);
      out.push({ name: username, token: await a.newUser(username) });
    }
    return out as { [K in keyof P]: Person };
  }

  before(async () => {
    flock = await startInProcessFlock({ backends: 2, webs: 2 });
    a = new ApiClient(flock.webUrls[0]!);
    b = new ApiClient(flock.webUrls[1]!);
  });
  after(() => flock.close());

  describe("replies and threads", () => {
    it("answers a reply with its parent, counts it, and 404s an unknown parent storing nothing", async () => {
      const [ann, ben] = await users("ann", "ben");
      const root = (await a.post(ann.token, "what should I read next?")).body;
      const reply = await b.reply(ben.token, root.id, "Middlemarch, obviously");
      assert.equal(reply.status, 201);
      assert.equal(reply.body.inReplyTo, root.id);
      assert.equal(reply.body.inReplyToAuthor, ann.name);
      assert.equal((await a.getPost(root.id)).body.replies, 1);

      const before = await snapshot(flock);
      const unknown = await a.reply(ben.token, "999999999", "into the void");
      assert.equal(unknown.status, 404);
      assert.equal((unknown.body as unknown as ErrorBody).error.code, "not_found");
      for (const inReplyTo of ["abc", "0", "-1", "1.5", 42, true, ["1"]]) {
        const bad = await a.request("POST", "/api/v1/posts", {
          token: ben.token,
          json: { text: "bad parent", inReplyTo },
        });
        assert.equal(bad.status, 400, JSON.stringify(inReplyTo));
      }
      assert.deepEqual(await snapshot(flock), before, "nothing stored");
    });

    it("shows a thread: ancestors oldest first, replies oldest first in pages", async () => {
      const [ann, ben, cat] = await users("ann", "ben", "cat");
      const root = (await a.post(ann.token, "root")).body;
      const middle = (await b.reply(ben.token, root.id, "middle")).body;
      const leaf = (await a.reply(cat.token, middle.id, "leaf")).body;
      const replies: string[] = [];
      for (let i = 0; i < 5; i++) replies.push((await a.reply(cat.token, leaf.id, `r${i}`)).body.id);

      const thread = await b.thread(leaf.id, "?limit=2");
      assert.equal(thread.status, 200);
      assert.deepEqual(
        thread.body.ancestors.map((p) => ("text" in p ? p.text : "deleted")),
        ["root", "middle"],
      );
      assert.equal(thread.body.post.id, leaf.id);
      assert.deepEqual(
        thread.body.replies.map((p) => p.text),
        ["r0", "r1"],
      );
      const seen = thread.body.replies.map((p) => p.id);
      let cursor = thread.body.nextCursor;
      while (cursor) {
        const page = await a.thread(leaf.id, `?limit=2&cursor=${encodeURIComponent(cursor)}`);
        seen.push(...page.body.replies.map((p) => p.id));
        cursor = page.body.nextCursor;
      }
      assert.deepEqual(seen, replies, "every reply once, oldest first");
      assert.equal((await a.thread("424242424")).status, 404);
      assert.equal((await a.thread("not-an-id")).status, 404);
      assert.equal((await a.thread(leaf.id, "?limit=0")).status, 400);
      assert.equal((await a.thread(leaf.id, "?cursor=bogus")).status, 400);
    });

    it("a reply shows in a home feed only when the reader follows both, or it answers the reader", async () => {
      const [reader, friend, stranger] = await users("reader", "friend", "stranger");
      await a.follow(reader.token, friend.name);
      const toStranger = (await a.post(stranger.token, "stranger's post")).body;
      const toReader = (await a.post(reader.token, "reader's post")).body;
      const toFriend = (await a.post(friend.token, "friend's own post")).body;
      await b.reply(friend.token, toStranger.id, "reply to a stranger");
      await b.reply(friend.token, toReader.id, "reply to the reader");
      await b.reply(friend.token, toFriend.id, "reply to self");
      assert.deepEqual(texts((await a.feed(reader.token)).body), [
        "reply to self",
        "reply to the reader",
        "friend's own post",
      ]);
      await a.follow(reader.token, stranger.name);
      assert.ok(
        texts((await b.feed(reader.token)).body).includes("reply to a stranger"),
        "now both are followed",
      );
    });
  });

  describe("delete", () => {
    it("is 204 for your own post, 403 for someone else's, 404 for an unknown one", async () => {
      const [ann, ben] = await users("ann", "ben");
      const post = (await a.post(ann.token, "mine")).body;
      assert.equal((await b.deletePost(ben.token, post.id)).status, 403);
      assert.equal((await a.getPost(post.id)).status, 200, "still there");
      assert.equal((await b.deletePost(ann.token, post.id)).status, 204);
      assert.equal((await a.deletePost(ann.token, post.id)).status, 404, "already gone");
      assert.equal((await a.deletePost(ann.token, "31337313")).status, 404);
      assert.equal((await a.request("DELETE", `/api/v1/posts/${post.id}`)).status, 401);
    });

    it("is gone from every feed, profile, thread, tag, search and count at once; replies stay", async () => {
      const [author, fan, replier] = await users("author", "fan", "replier");
      await a.follow(fan.token, author.name);
      await a.follow(fan.token, replier.name);
      const word = `zebra${seq}`;
      const doomed = (await a.post(author.token, `a post about #${word} and ${word}s`)).body;
      const kept = (await a.post(author.token, "a post that stays")).body;
      const reply = (await a.reply(replier.token, doomed.id, "a reply that stays")).body;
      await a.react(fan.token, doomed.id, "like");
      await a.react(fan.token, doomed.id, "repost");
      assert.ok(texts((await b.feed(fan.token)).body).includes(doomed.text));

      assert.equal((await a.deletePost(author.token, doomed.id)).status, 204);
      // Read through the other replica, at once: no "eventually".
      const feed = (await b.feed(fan.token)).body;
      assert.ok(!feed.posts.some((p) => p.id === doomed.id), "not in the feed, nor as a repost");
      assert.ok(
        feed.posts.some((p) => p.id === reply.id),
        "its reply is",
      );
      assert.ok(!(await b.userPosts(author.name)).body.posts.some((p) => p.id === doomed.id));
      assert.ok(!(await b.userPosts(fan.name)).body.posts.some((p) => p.id === doomed.id), "the repost too");
      assert.equal((await b.getPost(doomed.id)).status, 404);
      assert.equal((await b.thread(doomed.id)).status, 404);
      assert.equal((await b.request("GET", `/api/v1/posts/${doomed.id}/likes`)).status, 404);
      assert.deepEqual((await b.request<PageBody>("GET", `/api/v1/tags/${word}/posts`)).body.posts, []);
      assert.deepEqual((await b.request<PageBody>("GET", `/api/v1/search?q=${word}`)).body.posts, []);
      assert.equal((await b.user(author.name)).body.posts, 1);
      assert.equal((await b.getPost(kept.id)).status, 200);

      const thread = (await b.thread(reply.id)).body;
      assert.deepEqual(thread.ancestors, [{ id: doomed.id, deleted: true }], "the parent shows as deleted");
      assert.equal(thread.post.inReplyTo, doomed.id);
      assert.equal(thread.post.inReplyToAuthor, null);
      assert.equal((await b.reply(fan.token, doomed.id, "too late")).status, 404);
    });
  });

  describe("likes and reposts", () => {
    it("are idempotent, counted exactly, listed, and shown as the viewer's own", async () => {
      const [author, x, y, z] = await users("author", "x", "y", "z");
      const post = (await a.post(author.token, "like me")).body;
      for (const [client, fan] of [
        [a, x],
        [b, x],
        [a, y],
        [b, z],
        [a, z],
      ] as const) {
        assert.equal((await client.react(fan.token, post.id, "like")).status, 204);
      }
      assert.equal((await b.react(y.token, post.id, "repost")).status, 204);
      assert.equal((await a.react(y.token, post.id, "repost")).status, 204);
      const seen = (await b.getPost(post.id, x.token)).body;
      assert.equal(seen.likes, 3);
      assert.equal(seen.reposts, 1);
      assert.equal(seen.liked, true);
      assert.equal(seen.reposted, false);
      assert.equal((await b.getPost(post.id)).body.liked, false, "nobody asks: nothing is the viewer's");
      const likes = await a.request<{ usernames: string[]; nextCursor: string | null }>(
        "GET",
        `/api/v1/posts/${post.id}/likes?limit=2`,
      );
      assert.deepEqual(likes.body.usernames, [z.name, y.name], "newest first");
      const rest = await b.request<{ usernames: string[]; nextCursor: string | null }>(
        "GET",
        `/api/v1/posts/${post.id}/likes?limit=2&cursor=${encodeURIComponent(likes.body.nextCursor!)}`,
      );
      assert.deepEqual(rest.body, { usernames: [x.name], nextCursor: null });
      assert.deepEqual((await a.request("GET", `/api/v1/posts/${post.id}/reposts`)).body, {
        usernames: [y.name],
        nextCursor: null,
      });

      assert.equal((await a.react(x.token, post.id, "like", false)).status, 204);
      assert.equal((await b.react(x.token, post.id, "like", false)).status, 204);
      assert.equal((await a.react(y.token, post.id, "repost", false)).status, 204);
      const now = (await b.getPost(post.id, x.token)).body;
      assert.deepEqual([now.likes, now.reposts, now.liked], [2, 0, false]);
      assert.equal((await a.react(x.token, "77777777", "like")).status, 404);
      assert.equal((await a.react("", post.id, "like")).status, 401);
      assert.equal((await a.request("GET", "/api/v1/posts/77777777/reposts")).status, 404);
    });

    it("a bodyless PUT with Content-Type: application/json is fine", async () => {
      const [author, fan] = await users("author", "fan");
      const post = (await a.post(author.token, "typed headers")).body;
      const response = await fetch(`${flock.webUrls[0]}/api/v1/posts/${post.id}/like`, {
        method: "PUT",
        headers: { authorization: `Bearer ${fan.token}`, "content-type": "application/json" },
      });
      assert.equal(response.status, 204);
      assert.equal((await b.getPost(post.id)).body.likes, 1);
    });

    it("followers see a repost once, as reposted by; a post is at most once in a page", async () => {
      const [author, reposter, reader] = await users("author", "reposter", "reader");
      await a.follow(reader.token, reposter.name);
      const post = (await a.post(author.token, "worth sharing")).body;
      await b.react(reposter.token, post.id, "repost");
      const feed = (await b.feed(reader.token)).body.posts;
      assert.equal(feed.length, 1);
      assert.equal(feed[0]!.id, post.id);
      assert.equal(feed[0]!.repostedBy, reposter.name);
      assert.match(feed[0]!.repostedAt ?? "", /^\d{4}-\d\d-\d\dT/);
      const profile = (await a.userPosts(reposter.name)).body.posts;
      assert.deepEqual(
        profile.map((p) => [p.id, p.repostedBy]),
        [[post.id, reposter.name]],
      );

      // Following the author too: the post itself and a repost of it, yet once in the page.
      await a.follow(reader.token, author.name);
      const [other] = await users("other");
      await a.follow(reader.token, other.name);
      await a.react(other.token, post.id, "repost");
      const both = (await b.feed(reader.token)).body.posts;
      assert.equal(both.filter((p) => p.id === post.id).length, 1);
    });
  });

  describe("profiles", () => {
    it("sets the display name and bio, keeps a field left out, clears one sent as null", async () => {
      const [me] = await users("me");
      const patch = (json: unknown, client = a) =>
        client.request<Profile>("PATCH", "/api/v1/me", { token: me.token, json });
      const set = await patch({ displayName: "  Émilie 🐦  ", bio: "Reads a lot.\nWrites less." });
      assert.equal(set.status, 200);
      assert.deepEqual(set.body, {
        username: me.name,
        displayName: "Émilie 🐦",
        bio: "Reads a lot.\nWrites less.",
        followers: 0,
        following: 0,
        posts: 0,
      });
      assert.equal((await patch({ bio: "Only the bio" }, b)).body.displayName, "Émilie 🐦");
      assert.equal((await patch({ displayName: "Em" }, a)).body.bio, "Only the bio");
      const cleared = await patch({ displayName: null, bio: "" }, b);
      assert.deepEqual([cleared.body.displayName, cleared.body.bio], [null, null]);
      await patch({ displayName: "Em again" });
      const profile = (await b.user(me.name)).body as unknown as Profile;
      assert.equal(profile.displayName, "Em again");
      const post = (await a.post(me.token, "signed")).body;
      assert.equal(post.displayName, "Em again");
      assert.deepEqual((await b.request<Profile>("GET", "/api/v1/me", { token: me.token })).body, {
        ...profile,
        posts: 1,
      });
      assert.equal((await b.request("GET", "/api/v1/me")).status, 401);
    });

    it("refuses a bad display name or bio with 400 and stores nothing", async () => {
      const [me] = await users("me");
      const before = await snapshot(flock);
      for (const json of [
        { displayName: "" },
        { displayName: "   " },
        { displayName: "x".repeat(51) },
        { displayName: "two\nlines" },
        { displayName: "bell\u0007" },
        { displayName: 42 },
        { bio: "x".repeat(161) },
        { bio: "\ud800" },
        { bio: ["a"] },
        [],
        "bio",
      ]) {
        const response = await a.request("PATCH", "/api/v1/me", { token: me.token, json });
        assert.equal(response.status, 400, JSON.stringify(json));
      }
      assert.equal((await a.request("PATCH", "/api/v1/me", { json: { bio: "x" } })).status, 401);
      assert.deepEqual(await snapshot(flock), before);
      const fifty = await a.request<Profile>("PATCH", "/api/v1/me", {
        token: me.token,
        json: { displayName: "🐦".repeat(50), bio: "é".repeat(160) },
      });
      assert.equal(fifty.status, 200, "50 and 160 code points fit");
    });
  });

  describe("hashtags and search", () => {
    it("lists a tag's posts newest first, case-folded, paginated; a name that cannot be a tag is 404", async () => {
      const [ann, ben] = await users("ann", "ben");
      const tag = `Birds${seq}`;
      await a.post(ann.token, `first #${tag}`);
      await b.post(ben.token, `second #${tag.toLowerCase()}`);
      await a.post(ann.token, `third #${tag.toUpperCase()} and #other`);
      await a.post(ann.token, `not tagged ${tag}`);
      const page = await b.request<PageBody>("GET", `/api/v1/tags/${tag.toLowerCase()}/posts?limit=2`);
      assert.deepEqual(texts(page.body), [
        `third #${tag.toUpperCase()} and #other`,
        `second #${tag.toLowerCase()}`,
      ]);
      assert.deepEqual(page.body.posts[0]!.tags, [tag.toLowerCase(), "other"]);
      const next = await a.request<PageBody>(
        "GET",
        `/api/v1/tags/${encodeURIComponent(`#${tag}`)}/posts?cursor=${encodeURIComponent(page.body.nextCursor!)}`,
      );
      assert.deepEqual(texts(next.body), [`first #${tag}`]);
      assert.equal(next.body.nextCursor, null);
      for (const bad of ["123", "a-b", "%20", "x".repeat(65)]) {
        assert.equal((await a.request("GET", `/api/v1/tags/${bad}/posts`)).status, 404, bad);
      }
    });

    it("finds people by prefix and posts by every word, newest first, in pages", async () => {
      const prefix = `seek${seq}`;
      const [seeker, other] = await users(prefix, prefix);
      await a.post(seeker.token, `quokka sightings near ${prefix}`);
      await b.post(other.token, "a QUOKKA and a wombat");
      await a.post(other.token, "just a wombat");
      const first = await b.request<{ users: string[]; posts: PostBody[]; nextCursor: string | null }>(
        "GET",
        `/api/v1/search?q=${encodeURIComponent(`@${prefix.toUpperCase()}`)}`,
      );
      assert.deepEqual(first.body.users, [seeker.name, other.name]);
      const words = await a.request<{ users: string[]; posts: PostBody[]; nextCursor: string | null }>(
        "GET",
        "/api/v1/search?q=quokka&limit=1",
      );
      assert.deepEqual(words.body.users, []);
      assert.deepEqual(texts(words.body), ["a QUOKKA and a wombat"]);
      const more = await b.request<{ users: string[]; posts: PostBody[]; nextCursor: string | null }>(
        "GET",
        `/api/v1/search?q=quokka&limit=1&cursor=${encodeURIComponent(words.body.nextCursor!)}`,
      );
      assert.deepEqual(texts(more.body), [`quokka sightings near ${prefix}`]);
      assert.deepEqual(texts((await a.request<PageBody>("GET", "/api/v1/search?q=wombat%20quokka")).body), [
        "a QUOKKA and a wombat",
      ]);
      for (const query of ["", "?q=", "?q=%20%20", `?q=${"x".repeat(201)}`, "?q=a&q=b", "?q=x&limit=0"]) {
        assert.equal((await a.request("GET", `/api/v1/search${query}`)).status, 400, query);
      }
    });
  });

  describe("notifications", () => {
    it("notifies follows, likes, reposts, replies and mentions once each, none for your own actions", async () => {
      const [me, fan] = await users("me", "fan");
      const mine = (await a.post(me.token, "notify me")).body;
      await a.react(me.token, mine.id, "like"); // your own: nothing
      await a.reply(me.token, mine.id, `talking to myself @${me.name}`); // nothing either
      await b.follow(fan.token, me.name);
      await b.follow(fan.token, me.name);
      await a.react(fan.token, mine.id, "like");
      await b.react(fan.token, mine.id, "like");
      await a.react(fan.token, mine.id, "repost");
      const reply = (await b.reply(fan.token, mine.id, `nice one @${me.name}`)).body;
      const mention = (await a.post(fan.token, `hello @${me.name.toUpperCase()}`)).body;

      const page = await b.notifications(me.token);
      assert.equal(page.status, 200);
      assert.deepEqual(
        page.body.notifications.map((n) => [n.type, n.from, n.post?.id ?? null]),
        [
          ["mention", fan.name, mention.id],
          ["reply", fan.name, reply.id], // a reply that also mentions is a reply, once
          ["repost", fan.name, mine.id],
          ["like", fan.name, mine.id],
          ["follow", fan.name, null],
        ],
      );
      assert.ok(!("post" in page.body.notifications[4]!), "a follow is about no post");
      assert.equal(page.body.unread, 5);
      assert.equal(page.body.nextCursor, null);
      assert.deepEqual((await a.notifications(fan.token)).body, {
        notifications: [],
        unread: 0,
        nextCursor: null,
      });

      const twoPages = await a.notifications(me.token, "?limit=3");
      const rest = await b.notifications(
        me.token,
        `?cursor=${encodeURIComponent(twoPages.body.nextCursor!)}`,
      );
      assert.deepEqual(
        [...twoPages.body.notifications, ...rest.body.notifications].map((n) => n.id),
        page.body.notifications.map((n) => n.id),
      );
    });

    it("marks read up to an id: the unread count drops, and the mark never moves back", async () => {
      const [me, x, y] = await users("me", "x", "y");
      await a.follow(x.token, me.name);
      await a.follow(y.token, me.name);
      const [newest, older] = (await b.notifications(me.token)).body.notifications;
      const read = (upTo: unknown) =>
        a.request<{ unread: number }>("POST", "/api/v1/notifications/read", {
          token: me.token,
          json: { upTo },
        });
      const first = await read(older!.id);
      assert.equal(first.status, 200);
      assert.deepEqual(first.body, { unread: 1 });
      assert.deepEqual((await read(newest!.id)).body, { unread: 0 });
      assert.deepEqual((await read(older!.id)).body, { unread: 0 }, "never down");
      assert.equal((await b.notifications(me.token)).body.unread, 0);
      for (const upTo of [undefined, "", "abc", "-1", {}, "1".repeat(17)]) {
        assert.equal((await read(upTo)).status, 400, JSON.stringify(upTo));
      }
      assert.equal(
        (await a.request("POST", "/api/v1/notifications/read", { json: { upTo: "1" } })).status,
        401,
      );
      assert.equal((await a.request("GET", "/api/v1/notifications")).status, 401);
    });
  });

  describe("blocks and mutes", () => {
    it("a block ends follows both ways and stops following, replying, liking, reposting and seeing", async () => {
      const [blocker, blocked] = await users("blocker", "blocked");
      await a.follow(blocker.token, blocked.name);
      await a.follow(blocked.token, blocker.name);
      const post = (await a.post(blocker.token, "not for you")).body;
      assert.equal((await b.relate(blocker.token, "blocks", blocked.name)).status, 204);
      assert.equal((await a.relate(blocker.token, "blocks", blocked.name)).status, 204, "idempotent");

      const profile = (name: string) => b.user(name).then((r) => r.body);
      assert.deepEqual(
        [(await profile(blocker.name)).followers, (await profile(blocker.name)).following],
        [0, 0],
      );
      assert.equal((await a.follow(blocked.token, blocker.name)).status, 403);
      assert.equal((await b.reply(blocked.token, post.id, "let me in")).status, 403);
      assert.equal((await a.react(blocked.token, post.id, "like")).status, 403);
      assert.equal((await b.react(blocked.token, post.id, "repost")).status, 403);
      assert.equal((await a.getPost(post.id, blocked.token)).status, 404);
      assert.equal((await a.thread(post.id, "", blocked.token)).status, 404);
      assert.deepEqual(
        (await b.request<PageBody>("GET", `/api/v1/users/${blocker.name}/posts`, { token: blocked.token }))
          .body.posts,
        [],
      );
      assert.equal((await a.getPost(post.id)).status, 200, "logged out, the post is public");
      assert.deepEqual((await a.request("GET", "/api/v1/blocks", { token: blocker.token })).body, {
        usernames: [blocked.name],
        nextCursor: null,
      });

      assert.equal((await a.relate(blocker.token, "blocks", blocked.name, false)).status, 204);
      assert.equal((await b.relate(blocker.token, "blocks", blocked.name, false)).status, 204);
      assert.equal((await a.getPost(post.id, blocked.token)).status, 200);
      assert.equal((await a.follow(blocked.token, blocker.name)).status, 204, "following again is allowed");
      assert.equal((await a.relate(blocker.token, "blocks", name("ghost"))).status, 404);
      assert.equal((await a.relate(blocker.token, "blocks", blocker.name)).status, 400);
      assert.equal((await a.relate(blocker.token, "blocks", "no!")).status, 400);
      assert.equal((await a.relate("", "blocks", blocked.name)).status, 401);
    });

    it("a mute hides an account from the feed and notifications only", async () => {
      const [me, loud] = await users("me", "loud");
      await a.follow(me.token, loud.name);
      const mine = (await a.post(me.token, "my post")).body;
      await a.post(loud.token, "LOUD POST");
      assert.equal((await b.relate(me.token, "mutes", loud.name)).status, 204);
      await a.react(loud.token, mine.id, "like");
      await a.post(loud.token, `hey @${me.name}`);
      assert.deepEqual((await b.feed(me.token)).body.posts, [], "not in the feed");
      assert.deepEqual((await b.notifications(me.token)).body.notifications, [], "no notifications");
      assert.equal((await b.user(me.name)).body.following, 1, "still followed");
      assert.equal((await b.userPosts(loud.name)).body.posts.length, 2, "their profile shows everything");
      assert.equal((await b.getPost(mine.id)).body.likes, 1, "the like counts");
      assert.deepEqual((await a.request("GET", "/api/v1/mutes", { token: me.token })).body, {
        usernames: [loud.name],
        nextCursor: null,
      });
      assert.equal((await a.relate(me.token, "mutes", loud.name, false)).status, 204);
      assert.deepEqual(texts((await b.feed(me.token)).body), [`hey @${me.name}`, "LOUD POST"]);
      assert.equal((await b.notifications(me.token)).body.notifications.length, 2, "like and mention");
    });
  });
});
