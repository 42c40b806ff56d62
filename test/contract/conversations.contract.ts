import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import fc from "fast-check";
import { StreamEventKind, type StreamEvent } from "../../src/gen/flock/posts/v1/posts.js";
import type { Services } from "../../src/services/services.js";
import { FlockError } from "../../src/shared/errors.js";
import { backendOn, signUp, type StoreUnderTest } from "../fixtures/store-backends.js";

const code = (expected: status) => (err: unknown) => err instanceof FlockError && err.code === expected;
const texts = (page: { items: { post?: { text: string } }[] }) => page.items.map((i) => i.post!.text);

/** Collects a live stream's events; `until` waits (with a deadline) for a condition on them. */
function streamRecorder() {
  const events: StreamEvent[] = [];
  const heartbeats: StreamEvent[] = [];
  let wake: (() => void) | undefined;
  return {
    events,
    heartbeats,
    send: (event: StreamEvent) => {
      if (event.kind === StreamEventKind.STREAM_EVENT_KIND_HEARTBEAT) heartbeats.push(event);
      else events.push(event);
      wake?.();
    },
    fail: (err: unknown) => {
      throw err;
    },
    /** Waits until `count` events (or with `of: heartbeats`, heartbeats) have arrived. */
    async until(count: number, ms = 5_000, of = events): Promise<void> {
      const deadline = Date.now() + ms;
      while (of.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${of.length} of ${count} arrived`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
    },
  };
}

/**
 * Conversations and reactions over one store, run against each store (memory, etcd): every
 * feature is a fact plus a derived view, so what one backend writes the other shows at once.
 */
export function conversationsContract(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`conversations contract: ${name}`, () => {
    let store: StoreUnderTest;
    let a: Services;
    let b: Services;
    let ann: string;
    let bob: string;
    let cat: string;

    beforeEach(async () => {
      store = await make();
      a = await backendOn(store);
      b = await backendOn(store);
      [ann, bob, cat] = [await signUp(a, "ann"), await signUp(b, "bob"), await signUp(a, "cat")];
    });
    afterEach(async () => {
      await a?.close();
      await b?.close();
      await store.cleanup();
    });

    it("threads replies under their parent, oldest first, with exact counts", async () => {
      const root = await a.posts.createPost(ann, "a question");
      const first = await b.posts.createPost(bob, "@ann an answer", "", "", root.id);
      const second = await a.posts.createPost(cat, "another answer", "", "", root.id);
      const nested = await b.posts.createPost(ann, "thanks", "", "", first.id);
      const thread = await a.posts.getThread(bob, second.id, 10, undefined);
      assert.deepEqual(
        thread.ancestors.map((p) => p.text),
        ["a question"],
      );
      const top = await b.posts.getThread("", root.id, 10, undefined);
      assert.equal(top.post!.replies, 2);
      assert.deepEqual(
        top.replies.map((p) => p.id),
        [first.id, second.id],
      );
      const deep = await a.posts.getThread("", nested.id, 10, undefined);
      assert.deepEqual(
        deep.ancestors.map((p) => p.id),
        [root.id, first.id],
      );
      assert.equal(first.inReplyToAuthor, "ann");
      await assert.rejects(a.posts.createPost(bob, "to nothing", "", "", "999999"), code(status.NOT_FOUND));
    });

    it("shows a reply in a home feed only to those who follow its author and its parent's author or are that author", async () => {
      await a.graph.follow(cat, "bob");
      await a.graph.follow(ann, "bob");
      const dan = await signUp(b, "dan");
      const root = await a.posts.createPost(dan, "by dan");
      const toDan = await b.posts.createPost(bob, "reply to dan", "", "", root.id);
      const ownPost = await a.posts.createPost(cat, "by cat");
      await b.posts.createPost(bob, "reply to cat", "", "", ownPost.id);
      assert.deepEqual(texts(await a.posts.getFeed(cat, 10, undefined)), ["reply to cat"]);
      assert.deepEqual(texts(await b.posts.getFeed(ann, 10, undefined)), []);
      await a.graph.follow(ann, "dan");
      assert.deepEqual(texts(await b.posts.getFeed(ann, 10, undefined)), ["reply to dan", "by dan"]);
      assert.equal(toDan.inReplyTo, root.id);
    });

    it("counts likes exactly, idempotently, and lists who liked", async () => {
      const post = await a.posts.createPost(ann, "like me");
      await b.posts.like(bob, post.id);
      await a.posts.like(bob, post.id);
      const liked = await a.posts.like(cat, post.id);
      assert.equal(liked.likes, 2);
      assert.equal(liked.liked, true);
      assert.deepEqual((await b.posts.listLikes("", post.id, 10, undefined)).usernames, ["cat", "bob"]);
      await b.posts.unlike(bob, post.id);
      await a.posts.unlike(bob, post.id);
      const after = await b.posts.getPost(bob, post.id);
      assert.equal(after.likes, 1);
      assert.equal(after.liked, false);
    });

    it("puts a repost in the reposter's followers' feeds once, as reposted by them", async () => {
      await a.graph.follow(cat, "bob");
      await a.graph.follow(cat, "ann");
      const post = await a.posts.createPost(ann, "worth sharing");
      await b.posts.repost(bob, post.id);
      const feed = await a.posts.getFeed(cat, 10, undefined);
      assert.equal(feed.items.length, 1, "a post appears at most once in a page");
      assert.equal(feed.items[0]!.repostedBy, "bob");
      assert.equal(feed.items[0]!.post!.reposts, 1);
      await a.graph.unfollow(cat, "ann");
      const onlyRepost = await b.posts.getFeed(cat, 10, undefined);
      assert.deepEqual(
        onlyRepost.items.map((i) => [i.post!.text, i.repostedBy]),
        [["worth sharing", "bob"]],
      );
      await a.posts.unrepost(bob, post.id);
      assert.deepEqual(texts(await b.posts.getFeed(cat, 10, undefined)), []);
    });

    it("deletes a post everywhere at once, keeping its replies with the parent shown as deleted", async () => {
      await a.graph.follow(bob, "ann");
      const post = await a.posts.createPost(ann, "soon gone #gone");
      await b.posts.like(bob, post.id);
      await b.posts.repost(cat, post.id);
      const reply = await b.posts.createPost(bob, "a reply that stays", "", "", post.id);
      await assert.rejects(b.posts.deletePost(bob, post.id), code(status.PERMISSION_DENIED));
      await b.posts.deletePost(ann, post.id);
      assert.deepEqual(texts(await a.posts.getFeed(bob, 10, undefined)), []);
      assert.equal(await a.posts.countUserPosts("ann"), 0);
      assert.deepEqual(texts(await a.posts.listTagPosts("", "gone", 10, undefined)), []);
      assert.deepEqual(texts(await a.posts.searchPosts("", "soon", 10, undefined)), []);
      await assert.rejects(a.posts.getPost("", post.id), code(status.NOT_FOUND));
      await assert.rejects(a.posts.like(cat, post.id), code(status.NOT_FOUND));
      const thread = await a.posts.getThread("", reply.id, 10, undefined);
      assert.equal(thread.ancestors[0]!.deleted, true);
      assert.equal(thread.ancestors[0]!.text, "");
      assert.equal(thread.post!.text, "a reply that stays");
      await assert.rejects(b.posts.deletePost(ann, post.id), code(status.NOT_FOUND));
    });

    it("finds posts by hashtag and by words, newest first, paginated", async () => {
      const made: string[] = [];
      const words = ["alpha", "beta", "gamma", "delta", "epsilon"];
      for (const word of words) made.push((await a.posts.createPost(ann, `Cats and #Dogs ${word}`)).id);
      await b.posts.createPost(bob, "only cats here");
      const tagged = await b.posts.listTagPosts("", "DOGS", 3, undefined);
      assert.deepEqual(
        tagged.items.map((i) => i.post!.id),
        made.slice(2).reverse(),
      );
      const rest = await a.posts.listTagPosts("", "dogs", 3, tagged.nextCursor);
      assert.deepEqual(
        rest.items.map((i) => i.post!.id),
        made.slice(0, 2).reverse(),
      );
      assert.equal((await b.posts.searchPosts("", "cats", 100, undefined)).items.length, 6);
      assert.equal((await b.posts.searchPosts("", "cats #dogs", 100, undefined)).items.length, 5);
      assert.equal((await b.posts.searchPosts("", "cats Delta", 100, undefined)).items.length, 1);
      assert.equal((await b.posts.searchPosts("", "nothing-matches-this", 100, undefined)).items.length, 0);
    });

    it("notifies follows, likes, reposts, replies and mentions once each, never of one's own actions", async () => {
      await b.graph.follow(bob, "ann");
      const post = await a.posts.createPost(ann, "hello @bob and @ann and @nobody_here");
      assert.deepEqual(post.mentions, ["bob", "ann"]);
      await b.posts.like(bob, post.id);
      await b.posts.like(bob, post.id);
      await a.posts.like(ann, post.id);
      await a.posts.repost(cat, post.id);
      await b.posts.createPost(bob, "@ann replying and mentioning", "", "", post.id);
      const page = await a.notifications.list(ann, 20, undefined);
      assert.deepEqual(
        page.notifications.map((n) => [n.type, n.from]),
        [
          [4, "bob"],
          [3, "cat"],
          [2, "bob"],
          [1, "bob"],
        ],
      );
      assert.equal(page.unread, 4);
      const forBob = await b.notifications.list(bob, 20, undefined);
      assert.deepEqual(
        forBob.notifications.map((n) => [n.type, n.from]),
        [[5, "ann"]],
      );
      await b.notifications.markRead(ann, page.notifications[1]!.id);
      assert.equal((await a.notifications.list(ann, 20, undefined)).unread, 1);
      await a.posts.unlike(bob, post.id);
      assert.equal(
        (await b.notifications.list(ann, 20, undefined)).notifications.length,
        3,
        "an unlike takes it back",
      );
    });

    it("dismisses one notification or clears them all", async () => {
      await a.graph.follow(bob, "ann");
      await a.graph.follow(cat, "ann");
      const [newest, oldest] = (await b.notifications.list(ann, 10, undefined)).notifications;
      await b.notifications.dismiss(ann, oldest!.id, "");
      assert.deepEqual(
        (await a.notifications.list(ann, 10, undefined)).notifications.map((n) => n.id),
        [newest!.id],
      );
      await a.notifications.dismiss(ann, "", "");
      assert.deepEqual((await b.notifications.list(ann, 10, undefined)).notifications, []);
      await assert.rejects(a.notifications.get(ann, newest!.id), code(status.NOT_FOUND));
    });

    it("makes a block end follows both ways and stop following, replying, liking, reposting and seeing", async () => {
      await a.graph.follow(ann, "bob");
      await b.graph.follow(bob, "ann");
      const post = await a.posts.createPost(ann, "not for bob");
      await a.graph.block(ann, "bob");
      assert.deepEqual(await b.graph.counts("ann"), { followers: 0, following: 0 });
      await assert.rejects(b.graph.follow(bob, "ann"), code(status.PERMISSION_DENIED));
      await assert.rejects(b.posts.createPost(bob, "reply", "", "", post.id), code(status.PERMISSION_DENIED));
      await assert.rejects(b.posts.like(bob, post.id), code(status.PERMISSION_DENIED));
      await assert.rejects(b.posts.repost(bob, post.id), code(status.PERMISSION_DENIED));
      await assert.rejects(b.posts.getPost(bob, post.id), code(status.NOT_FOUND));
      assert.deepEqual(texts(await b.posts.listUserPosts(bob, "ann", 10, undefined)), []);
      assert.deepEqual(texts(await b.posts.listUserPosts("", "ann", 10, undefined)), ["not for bob"]);
      // A blocked account's posts never reach the blocker, reposted or not.
      await a.graph.follow(ann, "cat");
      const bobs = await b.posts.createPost(bob, "by bob");
      await a.posts.repost(cat, bobs.id);
      assert.deepEqual(texts(await a.posts.getFeed(ann, 10, undefined)), []);
      const [rel] = await a.graph.relationships(bob, ["ann"]);
      assert.deepEqual(rel, {
        username: "ann",
        following: false,
        followedBy: false,
        blocking: false,
        blockedBy: true,
        muting: false,
      });
      await a.graph.unblock(ann, "bob");
      await b.graph.follow(bob, "ann");
    });

    it("makes a mute hide an account from the feed and notifications only", async () => {
      await a.graph.follow(ann, "bob");
      await b.posts.createPost(bob, "muted soon");
      await a.graph.mute(ann, "bob");
      assert.deepEqual(texts(await b.posts.getFeed(ann, 10, undefined)), []);
      assert.equal((await b.graph.counts("ann")).following, 1, "still following");
      const own = await a.posts.createPost(ann, "liked by a muted account");
      await b.posts.like(bob, own.id);
      assert.deepEqual((await a.notifications.list(ann, 10, undefined)).notifications, []);
      assert.deepEqual(texts(await a.posts.listUserPosts(ann, "bob", 10, undefined)), ["muted soon"]);
      await b.graph.unmute(ann, "bob");
      assert.deepEqual(texts(await a.posts.getFeed(ann, 10, undefined)), ["muted soon"]);
      assert.equal((await a.notifications.list(ann, 10, undefined)).notifications.length, 1);
    });

    it("updates a profile everywhere at once, with the post text rules", async () => {
      const account = await a.accounts.updateProfile(ann, "  Ann Example ", "hello there");
      assert.equal(account.displayName, "Ann Example");
      assert.equal((await b.accounts.getAccount("ann")).bio, "hello there");
      const post = await b.posts.createPost(ann, "with a name");
      assert.equal(post.authorDisplayName, "Ann Example");
      await assert.rejects(a.accounts.updateProfile(ann, "x".repeat(51), ""), code(status.INVALID_ARGUMENT));
      await assert.rejects(a.accounts.updateProfile(ann, "line\nbreak", ""), code(status.INVALID_ARGUMENT));
      await assert.rejects(
        a.accounts.updateProfile(ann, "ok", "b".repeat(161)),
        code(status.INVALID_ARGUMENT),
      );
      assert.equal(
        (await b.accounts.getAccount("ann")).displayName,
        "Ann Example",
        "refused changes store nothing",
      );
    });

    it("resumes streams on a backend started after a delete with that delete, for followers of the author and of a reposter", async () => {
      await a.graph.follow(bob, "ann");
      await b.graph.follow(cat, "bob");
      const bobLive = streamRecorder();
      const catLive = streamRecorder();
      const bobStream = await a.notifications.subscribe(bob, "", bobLive.send, bobLive.fail);
      const catStream = await a.notifications.subscribe(cat, "", catLive.send, catLive.fail);
      const post = await a.posts.createPost(ann, "soon gone");
      await b.posts.repost(bob, post.id);
      await bobLive.until(1); // ann's post
      await catLive.until(1); // bob's repost of it (cat does not follow ann)
      bobStream.close();
      catStream.close();
      // Away from the streams, the post is deleted; then a backend starts (a snapshot after it).
      await a.posts.deletePost(ann, post.id);
      const fresh = await backendOn(store);
      try {
        for (const [reader, live] of [
          [bob, bobLive],
          [cat, catLive],
        ] as const) {
          const resumed = streamRecorder();
          const subscription = await fresh.notifications.subscribe(
            reader,
            live.events.at(-1)!.revision,
            resumed.send,
            resumed.fail,
          );
          // A heartbeat is queued behind the replay: once it is here, the replay is all here.
          subscription.heartbeat();
          try {
            await resumed.until(1, 5_000, resumed.heartbeats);
          } finally {
            subscription.close();
          }
          assert.deepEqual(
            resumed.events.map((e) => [e.kind, e.deletedId]),
            [[StreamEventKind.STREAM_EVENT_KIND_DELETE, post.id]],
            `${reader}'s resumed stream`,
          );
        }
      } finally {
        await fresh.close();
      }
    });

    it("streams a reader's events in commit order, and resumes after a revision with none missed or repeated", async () => {
      await a.graph.follow(bob, "ann");
      const live = streamRecorder();
      const { close } = await b.notifications.subscribe(bob, "", live.send, live.fail);
      const first = await a.posts.createPost(ann, "first");
      await a.posts.like(ann, (await b.posts.createPost(bob, "by bob")).id);
      const second = await a.posts.createPost(ann, "second");
      await a.posts.deletePost(ann, first.id);
      await live.until(4);
      close();
      const kinds = live.events.map((e) => e.kind);
      assert.deepEqual(kinds, [
        StreamEventKind.STREAM_EVENT_KIND_POST,
        StreamEventKind.STREAM_EVENT_KIND_NOTIFICATION,
        StreamEventKind.STREAM_EVENT_KIND_POST,
        StreamEventKind.STREAM_EVENT_KIND_DELETE,
      ]);
      const revisions = live.events.map((e) => Number(e.revision));
      assert.deepEqual(
        [...revisions].sort((x, y) => x - y),
        revisions,
      );
      assert.equal(live.events[2]!.item!.post!.id, second.id);
      assert.equal(live.events[3]!.deletedId, first.id);

      // Resuming after the first event, on the other backend, replays the rest exactly.
      const resumed = streamRecorder();
      const { close: closeResumed } = await a.notifications.subscribe(
        bob,
        live.events[0]!.revision,
        resumed.send,
        resumed.fail,
      );
      const third = await b.posts.createPost(ann, "third");
      await resumed.until(4);
      closeResumed();
      assert.deepEqual(
        resumed.events.map((e) => e.revision),
        [...live.events.slice(1).map((e) => e.revision), third.id],
        "everything after the first event, then the new post",
      );
    });

    it("derives the same views by following the watch as by loading a fresh snapshot", async () => {
      const users = ["ann", "bob", "cat"];
      const tokens = new Map([
        ["ann", ann],
        ["bob", bob],
        ["cat", cat],
      ]);
      const posts: string[] = [];
      const action = fc.record({
        kind: fc.constantFrom(
          "follow",
          "block",
          "mute",
          "post",
          "reply",
          "like",
          "repost",
          "delete",
          "unreact",
        ),
        who: fc.constantFrom(...users),
        whom: fc.constantFrom(...users),
        pick: fc.nat(),
        tag: fc.constantFrom("#cats", "#dogs", "@ann", "@bob", "words"),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(action, { maxLength: 25 }), async (actions) => {
          for (const act of actions) {
            const token = tokens.get(act.who)!;
            const via = act.pick % 2 ? a : b;
            const target = posts.length > 0 ? posts[act.pick % posts.length]! : undefined;
            try {
              if (act.kind === "follow") await via.graph.follow(token, act.whom);
              else if (act.kind === "block") await via.graph.block(token, act.whom);
              else if (act.kind === "mute") await via.graph.mute(token, act.whom);
              else if (act.kind === "post")
                posts.push((await via.posts.createPost(token, `post ${act.tag}`)).id);
              else if (!target) continue;
              else if (act.kind === "reply")
                posts.push((await via.posts.createPost(token, `reply ${act.tag}`, "", "", target)).id);
              else if (act.kind === "like") await via.posts.like(token, target);
              else if (act.kind === "repost") await via.posts.repost(token, target);
              else if (act.kind === "delete") await via.posts.deletePost(token, target);
              else await via.posts.unlike(token, target);
            } catch (err) {
              // Refusals are part of the game (yourself, blocked, not yours, gone); nothing else is.
              const expected = [status.INVALID_ARGUMENT, status.PERMISSION_DENIED, status.NOT_FOUND];
              if (!(err instanceof FlockError && expected.includes(err.code))) throw err;
            }
          }
          const fresh = await backendOn(store);
          try {
            await a.model.cache.fresh();
            for (const part of ["accounts", "graph", "posts", "notifications"] as const) {
              assert.deepEqual(a.model[part].digest(), fresh.model[part].digest(), `${part} differ`);
            }
          } finally {
            await fresh.close();
          }
        }),
        { numRuns: name === "memory" ? 25 : 5 },
      );
    });
  });
}
