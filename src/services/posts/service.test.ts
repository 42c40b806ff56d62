import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { FakeClock } from "../../../test/fixtures/fake-clock.js";
import { encodeCursor } from "../../shared/cursor.js";
import { FlockError } from "../../shared/errors.js";
import { AccountsService, DEFAULT_ACCOUNTS_OPTIONS } from "../accounts/service.js";
import { MemoryAccountsStorage } from "../accounts/storage/memory.js";
import { StoredFollowGraph } from "../graph/follow-graph.js";
import { GraphService } from "../graph/service.js";
import { MemoryGraphStorage } from "../graph/storage/memory.js";
import { DEFAULT_POSTS_OPTIONS, PostsService, type PostPage, type PostsOptions } from "./service.js";
import type { PostRecord } from "./storage.js";
import { MemoryPostsStorage } from "./storage/memory.js";

const flockError = (code: status) => (err: unknown) => {
  assert.ok(err instanceof FlockError, `expected a FlockError, got ${String(err)}`);
  assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code]}: ${err.message}`);
  return true;
};
const INVALID = flockError(status.INVALID_ARGUMENT);
const UNAUTHENTICATED = flockError(status.UNAUTHENTICATED);

/** The three services wired as src/backend/context.ts wires them, all in memory, on one fake clock. */
function setup(postsOptions: Partial<PostsOptions> = {}) {
  const clock = new FakeClock();
  const accountsStore = new MemoryAccountsStorage(clock);
  const graphStore = new MemoryGraphStorage();
  const postsStore = new MemoryPostsStorage();
  // Password hashing is not under test here: the cheapest scrypt keeps many signups fast.
  const accounts = new AccountsService(
    accountsStore,
    { ...DEFAULT_ACCOUNTS_OPTIONS, scrypt: { logN: 4, r: 1, p: 1 } },
    clock,
  );
  const posts = new PostsService(
    postsStore,
    { auth: accounts, graph: new StoredFollowGraph(graphStore) },
    { ...DEFAULT_POSTS_OPTIONS, ...postsOptions },
    clock,
  );
  const graph = new GraphService(graphStore, { auth: accounts, accounts, feed: posts }, clock);

  /** Signs up and logs in; returns the session token. */
  const user = async (name: string) => {
    await accounts.createAccount(name, "password123");
    return (await accounts.login(name, "password123", "127.0.0.1")).token;
  };
  /** Posts one millisecond after the previous post, so ids order as posts were made. */
  const post = async (token: string, text: string, idempotencyKey?: string) => {
    clock.advance(1);
    return posts.createPost(token, text, idempotencyKey);
  };
  const feedIds = async (token: string) =>
    (await posts.getFeed(token, 100, undefined)).posts.map((p) => p.id);
  return { clock, accounts, graph, posts, graphStore, postsStore, user, post, feedIds };
}

async function collectPages(
  read: (cursor: string | undefined) => Promise<PostPage>,
  between?: () => Promise<void>,
) {
  const pages: PostRecord[][] = [];
  let cursor: string | undefined;
  do {
    const page = await read(cursor);
    pages.push(page.posts);
    cursor = page.nextCursor;
    await between?.();
  } while (cursor !== "" && pages.length < 1000);
  return pages;
}

const ids = (posts: readonly PostRecord[]) => posts.map((p) => p.id);
const newestFirst = (posts: readonly PostRecord[]) => [...ids(posts)].sort().reverse();

describe("PostsService.createPost", () => {
  it("stores the trimmed text with its author and time", async () => {
    const { posts, user, clock } = setup();
    const alice = await user("alice");
    const created = await posts.createPost(alice, "  hello, world!\n ");
    assert.equal(created.text, "hello, world!");
    assert.equal(created.author, "alice");
    assert.equal(created.createdAtMs, clock.now());
    assert.deepEqual((await posts.listUserPosts("alice", 10, undefined)).posts, [created]);
  });

  it("keeps newlines and 280 astral characters", async () => {
    const { posts, user } = setup();
    const alice = await user("alice");
    assert.equal((await posts.createPost(alice, "one\ntwo")).text, "one\ntwo");
    const long = "😀".repeat(280);
    assert.equal((await posts.createPost(alice, long)).text, long);
  });

  it("rejects invalid text with INVALID_ARGUMENT and stores or delivers nothing", async () => {
    const { posts, user, graph, feedIds } = setup();
    const alice = await user("alice");
    const bob = await user("bob");
    await graph.follow(bob, "alice");
    for (const bad of [
      "",
      "   \n\t",
      "a".repeat(281),
      "😀".repeat(281),
      "bell\u0007",
      "nul\u0000",
      "\uD800",
      undefined,
      5,
    ]) {
      await assert.rejects(posts.createPost(alice, bad), INVALID, JSON.stringify(bad));
    }
    assert.equal(await posts.countUserPosts("alice"), 0);
    assert.deepEqual(await feedIds(bob), []);
  });

  it("rejects a bad token with UNAUTHENTICATED and stores nothing", async () => {
    const { posts, user, accounts } = setup();
    const alice = await user("alice");
    await assert.rejects(posts.createPost("", "hello"), UNAUTHENTICATED);
    await assert.rejects(posts.createPost("x".repeat(43), "hello"), UNAUTHENTICATED);
    await accounts.logout(alice);
    await assert.rejects(posts.createPost(alice, "hello"), UNAUTHENTICATED);
    assert.equal(await posts.countUserPosts("alice"), 0);
  });

  it("gives increasing ids to successive posts", async () => {
    const { post, user } = setup();
    const alice = await user("alice");
    const made: string[] = [];
    for (let i = 0; i < 20; i++) made.push((await post(alice, `post ${i}`)).id);
    assert.deepEqual([...made].sort(), made);
    assert.equal(new Set(made).size, made.length);
  });

  it("returns the same post for a repeated idempotency key, storing and delivering it once", async () => {
    const { posts, post, user, graph, feedIds, clock } = setup();
    const alice = await user("alice");
    const bob = await user("bob");
    await graph.follow(bob, "alice");
    const first = await post(alice, "hello", "key-1");
    clock.advance(10_000);
    const retry = await post(alice, "hello", "key-1");
    assert.deepEqual(retry, first);
    assert.equal(await posts.countUserPosts("alice"), 1);
    assert.deepEqual(await feedIds(bob), [first.id]);
  });

  it("makes separate posts for different keys, and keeps each author's keys apart", async () => {
    const { posts, post, user } = setup();
    const alice = await user("alice");
    const bob = await user("bob");
    const a1 = await post(alice, "hello", "key-1");
    const a2 = await post(alice, "hello", "key-2");
    const b1 = await post(bob, "hello", "key-1");
    assert.equal(new Set([a1.id, a2.id, b1.id]).size, 3);
    assert.equal(b1.author, "bob");
    assert.equal(await posts.countUserPosts("alice"), 2);
  });

  it("rejects a malformed idempotency key", async () => {
    const { posts, user } = setup();
    const alice = await user("alice");
    for (const bad of ["has space", "x".repeat(65), "slash/key", "ü"]) {
      await assert.rejects(posts.createPost(alice, "hello", bad), INVALID, bad);
    }
    assert.equal(await posts.countUserPosts("alice"), 0);
  });
});

describe("PostsService.getFeed", () => {
  it("shows only followed authors, newest first, without the reader's own posts", async () => {
    const { post, user, graph, posts } = setup();
    const [alice, bob, carol, dave] = await Promise.all(["alice", "bob", "carol", "dave"].map(user));
    await graph.follow(alice!, "bob");
    await graph.follow(alice!, "carol");
    const expected: PostRecord[] = [];
    for (let i = 0; i < 3; i++) {
      expected.push(await post(bob!, `bob ${i}`));
      await post(dave!, `dave ${i}`);
      expected.push(await post(carol!, `carol ${i}`));
      await post(alice!, `alice ${i}`);
    }
    const page = await posts.getFeed(alice!, 50, undefined);
    assert.deepEqual(page.posts, [...expected].reverse());
    assert.equal(page.nextCursor, "");
  });

  it("is empty for a reader who follows nobody", async () => {
    const { posts, post, user } = setup();
    const alice = await user("alice");
    const bob = await user("bob");
    await post(bob, "hello");
    assert.deepEqual(await posts.getFeed(alice, undefined, undefined), {
      posts: [],
      nextCursor: "",
      viewer: "alice",
    });
  });

  it("drops an author's posts at once after an unfollow, keeping the others", async () => {
    const { post, user, graph, feedIds } = setup();
    const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map(user));
    await graph.follow(alice!, "bob");
    await graph.follow(alice!, "carol");
    await post(bob!, "from bob");
    const fromCarol = await post(carol!, "from carol");
    await graph.unfollow(alice!, "bob");
    assert.deepEqual(await feedIds(alice!), [fromCarol.id]);
  });

  it("backfills an author's recent posts on follow, and restores them on a re-follow", async () => {
    const { post, user, graph, feedIds } = setup();
    const alice = await user("alice");
    const bob = await user("bob");
    const earlier = [await post(bob, "one"), await post(bob, "two"), await post(bob, "three")];
    assert.deepEqual(await feedIds(alice), []);
    await graph.follow(alice, "bob");
    assert.deepEqual(await feedIds(alice), newestFirst(earlier));
    await graph.unfollow(alice, "bob");
    assert.deepEqual(await feedIds(alice), []);
    await graph.follow(alice, "bob");
    assert.deepEqual(await feedIds(alice), newestFirst(earlier));
  });

  it("backfills only the latest backfillCount posts, then delivers new ones", async () => {
    const { post, user, graph, feedIds } = setup({ backfillCount: 3 });
    const alice = await user("alice");
    const bob = await user("bob");
    const made: PostRecord[] = [];
    for (let i = 0; i < 6; i++) made.push(await post(bob, `post ${i}`));
    await graph.follow(alice, "bob");
    assert.deepEqual(await feedIds(alice), newestFirst(made.slice(3)));
    const fresh = await post(bob, "after the follow");
    assert.deepEqual(await feedIds(alice), newestFirst([...made.slice(3), fresh]));
  });

  it("filters stale entries: an unfollow that bypassed the feed sync still hides the author", async () => {
    const { post, user, graph, graphStore, postsStore, feedIds } = setup();
    const alice = await user("alice");
    const bob = await user("bob");
    const carol = await user("carol");
    await graph.follow(alice, "bob");
    await graph.follow(alice, "carol");
    const fromBob = await post(bob, "still in the stored feed");
    const fromCarol = await post(carol, "still followed");
    await graphStore.unfollow("alice", "bob"); // no sync: the feed keeps bob's entry
    assert.ok((await postsStore.readFeed("alice", undefined, 10)).some((e) => e.id === fromBob.id));
    assert.deepEqual(await feedIds(alice), [fromCarol.id]);
  });

  it("pages past long runs of stale entries without skipping what remains", async () => {
    // Small batches and few steps, so single pages come back empty but with a cursor.
    const { post, user, graph, graphStore, posts } = setup({ feedReadBatch: 2, maxFeedSteps: 2 });
    const alice = await user("alice");
    const bob = await user("bob");
    const carol = await user("carol");
    await graph.follow(alice, "bob");
    await graph.follow(alice, "carol");
    const fromBob: PostRecord[] = [];
    for (let i = 0; i < 3; i++) fromBob.push(await post(bob, `bob ${i}`));
    for (let i = 0; i < 12; i++) await post(carol, `carol ${i}`);
    for (let i = 3; i < 5; i++) fromBob.push(await post(bob, `bob ${i}`));
    await graphStore.unfollow("alice", "carol");
    const pages = await collectPages((cursor) => posts.getFeed(alice, 2, cursor));
    assert.ok(
      pages.some((p) => p.length === 0),
      "expected a page cut short by stale entries",
    );
    assert.deepEqual(ids(pages.flat()), newestFirst(fromBob));
  });

  it("paginates with limit 2 without overlap or gap while new posts arrive between reads", async () => {
    const { post, user, graph, posts } = setup();
    const [alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map(user));
    await graph.follow(alice!, "bob");
    await graph.follow(alice!, "carol");
    const before: PostRecord[] = [];
    for (let i = 0; i < 11; i++) before.push(await post(i % 3 === 0 ? carol! : bob!, `post ${i}`));
    let n = 0;
    const pages = await collectPages(
      (cursor) => posts.getFeed(alice!, 2, cursor),
      async () => {
        await post(bob!, `interloper ${n++}`);
        await post(carol!, `interloper ${n++}`);
      },
    );
    assert.ok(pages.slice(0, -1).every((p) => p.length === 2));
    assert.deepEqual(ids(pages.flat()), newestFirst(before));
  });

  it("gives no next cursor when the last page is exactly full", async () => {
    const { post, user, graph, posts } = setup();
    const alice = await user("alice");
    const bob = await user("bob");
    await graph.follow(alice, "bob");
    for (let i = 0; i < 4; i++) await post(bob, `post ${i}`);
    const first = await posts.getFeed(alice, 2, undefined);
    const second = await posts.getFeed(alice, 2, first.nextCursor);
    assert.equal(second.posts.length, 2);
    assert.equal(second.nextCursor, "");
  });

  it("delivers a post to every follower, beyond one fan-out batch", async () => {
    const { post, user, graph, posts } = setup();
    const author = await user("author");
    const readers: string[] = [];
    for (let i = 0; i < 250; i++) {
      const token = await user(`reader_${String(i).padStart(3, "0")}`);
      await graph.follow(token, "author");
      readers.push(token);
    }
    const made = await post(author, "to all 250");
    for (const reader of readers) {
      assert.deepEqual(ids((await posts.getFeed(reader, 1, undefined)).posts), [made.id]);
    }
  });

  it("delivers to every follower when their number is an exact multiple of the batch", async () => {
    for (const count of [3, 6, 7]) {
      const { post, user, graph, feedIds } = setup({ fanOutBatch: 3 });
      const author = await user("author");
      const readers: string[] = [];
      for (let i = 0; i < count; i++) {
        const token = await user(`reader_${i}`);
        await graph.follow(token, "author");
        readers.push(token);
      }
      const made = await post(author, "hello");
      for (const reader of readers) assert.deepEqual(await feedIds(reader), [made.id], `${count} followers`);
    }
  });

  it("does not deliver to former followers", async () => {
    const { post, user, graph, postsStore } = setup();
    const alice = await user("alice");
    const bob = await user("bob");
    await graph.follow(alice, "bob");
    await graph.unfollow(alice, "bob");
    await post(bob, "after the unfollow");
    assert.deepEqual(await postsStore.readFeed("alice", undefined, 10), []);
  });

  it("rejects a bad token with UNAUTHENTICATED", async () => {
    const { posts } = setup();
    await assert.rejects(posts.getFeed("", 10, undefined), UNAUTHENTICATED);
    await assert.rejects(posts.getFeed("A".repeat(43), 10, undefined), UNAUTHENTICATED);
  });

  it("rejects a malformed cursor or limit with INVALID_ARGUMENT", async () => {
    const { posts, user } = setup();
    const alice = await user("alice");
    for (const bad of [
      "%%%",
      "bm90LWEtY3Vyc29y",
      encodeCursor("alice"),
      encodeCursor("1700000000000ABCDEF012345"),
    ]) {
      await assert.rejects(posts.getFeed(alice, 10, bad), INVALID, bad);
    }
    await assert.rejects(posts.getFeed(alice, 101, undefined), INVALID);
    await assert.rejects(posts.getFeed(alice, 2.5, undefined), INVALID);
  });
});

describe("PostsService.listUserPosts", () => {
  it("paginates a user's posts newest first without overlap or gap", async () => {
    const { post, user, posts } = setup();
    const alice = await user("alice");
    const made: PostRecord[] = [];
    for (let i = 0; i < 7; i++) made.push(await post(alice, `post ${i}`));
    const pages = await collectPages((cursor) => posts.listUserPosts("ALICE", 3, cursor));
    assert.deepEqual(
      pages.map((p) => p.length),
      [3, 3, 1],
    );
    assert.deepEqual(pages.flat(), [...made].reverse());
  });

  it("shows only that user's posts", async () => {
    const { post, user, posts } = setup();
    const alice = await user("alice");
    const bob = await user("bob");
    const mine = await post(alice, "mine");
    await post(bob, "not mine");
    assert.deepEqual(ids((await posts.listUserPosts("alice", undefined, undefined)).posts), [mine.id]);
    assert.equal(await posts.countUserPosts("alice"), 1);
  });

  it("is empty for a user with no posts and rejects bad names, cursors and limits", async () => {
    const { posts } = setup();
    assert.deepEqual(await posts.listUserPosts("nobody", 10, undefined), { posts: [], nextCursor: "" });
    await assert.rejects(posts.listUserPosts("x", 10, undefined), INVALID);
    await assert.rejects(posts.listUserPosts("alice", 10, "***"), INVALID);
    await assert.rejects(posts.listUserPosts("alice", 10, encodeCursor("bob")), INVALID);
    await assert.rejects(posts.listUserPosts("alice", 0.5, undefined), INVALID);
  });
});

describe("PostsService.syncFeedWithFollow", () => {
  it("is idempotent: repeating it neither duplicates nor loses entries", async () => {
    const { post, user, graph, posts, feedIds } = setup();
    const alice = await user("alice");
    const bob = await user("bob");
    const made = await post(bob, "hello");
    await graph.follow(alice, "bob");
    await posts.syncFeedWithFollow("alice", "bob");
    await posts.syncFeedWithFollow("alice", "bob");
    assert.deepEqual(await feedIds(alice), [made.id]);
  });

  it("follows the stored fact, whoever calls: removes entries once the follow is gone", async () => {
    const { post, user, graph, graphStore, posts, postsStore } = setup();
    const alice = await user("alice");
    const bob = await user("bob");
    await graph.follow(alice, "bob");
    await post(bob, "hello");
    await graphStore.unfollow("alice", "bob");
    await posts.syncFeedWithFollow("alice", "bob");
    assert.deepEqual(await postsStore.readFeed("alice", undefined, 10), []);
  });

  it("rejects names that are not usernames", async () => {
    const { posts } = setup();
    await assert.rejects(posts.syncFeedWithFollow("a", "bob"), INVALID);
    await assert.rejects(posts.syncFeedWithFollow("alice", "b/b"), INVALID);
  });
});
