import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { status } from "@grpc/grpc-js";
import { FakeClock } from "../../../test/fixtures/fake-clock.js";
import { KEYS, memoryServicesFor, signUp, storedKeys } from "../../../test/fixtures/memory-services.js";
import type { Post } from "../../gen/flock/posts/v1/posts.js";
import { encodeCursor } from "../../shared/cursor.js";
import { FlockError } from "../../shared/errors.js";
import { del } from "../../storage/kv.js";
import type { Services } from "../services.js";
import type { PostPage } from "./service.js";

const flockError = (code: status) => (err: unknown) => {
  assert.ok(err instanceof FlockError, `expected a FlockError, got ${String(err)}`);
  assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code]}: ${err.message}`);
  return true;
};
const INVALID = flockError(status.INVALID_ARGUMENT);
const UNAUTHENTICATED = flockError(status.UNAUTHENTICATED);

/** One backend's services over a fresh store, on a fake clock. */
async function setup(t: TestContext) {
  const clock = new FakeClock();
  const s = await memoryServicesFor(t, { clock });
  /** Signs up and logs in; returns the session token. */
  const user = (name: string) => signUp(s, name);
  const users = async (...names: string[]) => {
    const tokens: string[] = [];
    for (const name of names) tokens.push(await user(name));
    return tokens;
  };
  const post = (token: string, text: string, idempotencyKey?: string) =>
    s.posts.createPost(token, text, idempotencyKey);
  /** The reader's whole feed (up to 100 posts), read on `on` (this backend by default). */
  const feedIds = async (token: string, on: Services = s) =>
    ids((await on.posts.getFeed(token, 100, undefined)).items.map((i) => i.post!));
  return { ...s, clock, user, users, post, feedIds };
}

async function collectPages(
  read: (cursor: string | undefined) => Promise<PostPage>,
  between?: (pageNumber: number) => Promise<void>,
) {
  const pages: Post[][] = [];
  let cursor: string | undefined;
  do {
    const page = await read(cursor);
    pages.push(page.items.map((i) => i.post!));
    cursor = page.nextCursor;
    await between?.(pages.length);
  } while (cursor !== "" && pages.length < 1000);
  assert.equal(cursor, "", "paging did not end");
  return pages;
}

const ids = (posts: readonly Post[]) => posts.map((p) => p.id);
/** Ids newest first: ids are revisions, compared as numbers. */
const newestFirst = (posts: readonly Post[]) => ids(posts).sort((a, b) => Number(b) - Number(a));

/** Posts `count` posts by `authors`, in runs of uneven length (a fixed pseudo-random pattern). */
async function postInRuns(
  post: (token: string, text: string) => Promise<Post>,
  authors: string[],
  count: number,
) {
  const made: Post[] = [];
  let seed = 12345;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  while (made.length < count) {
    const author = authors[next(authors.length)]!;
    // Mostly short runs, sometimes one author posts hundreds in a row.
    const run = next(10) === 0 ? 50 + next(250) : 1 + next(8);
    for (let i = 0; i < run && made.length < count; i++) made.push(await post(author, `post ${made.length}`));
  }
  return made;
}

describe("PostsService.createPost", () => {
  it("stores the trimmed text with its author and time, under an id that is its revision", async (t) => {
    const { posts, user, clock, kv } = await setup(t);
    const alice = await user("alice");
    const created = await posts.createPost(alice, "  hello, world!\n ");
    assert.equal(created.text, "hello, world!");
    assert.equal(created.author, "alice");
    assert.equal(created.createdAtMs, clock.now());
    assert.equal(created.id, String(kv.currentRevision));
    const stored = await storedKeys(kv, KEYS.posts);
    assert.equal(stored.length, 1);
    assert.equal(String(stored[0]!.createRevision), created.id);
    assert.deepEqual(
      (await posts.listUserPosts("", "alice", 10, undefined)).items.map((i) => i.post!),
      [created],
    );
  });

  it("keeps newlines and 280 astral characters", async (t) => {
    const { posts, user } = await setup(t);
    const alice = await user("alice");
    assert.equal((await posts.createPost(alice, "one\ntwo")).text, "one\ntwo");
    const long = "😀".repeat(280);
    assert.equal((await posts.createPost(alice, long)).text, long);
  });

  it("rejects invalid text with INVALID_ARGUMENT and stores nothing", async (t) => {
    const { posts, users, graph, feedIds, kv } = await setup(t);
    const [alice, bob] = await users("alice", "bob");
    await graph.follow(bob!, "alice");
    const revision = kv.currentRevision;
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
      await assert.rejects(posts.createPost(alice!, bad), INVALID, JSON.stringify(bad));
    }
    assert.equal(kv.currentRevision, revision);
    assert.equal(await posts.countUserPosts("alice"), 0);
    assert.deepEqual(await feedIds(bob!), []);
  });

  it("rejects a bad token with UNAUTHENTICATED and stores nothing", async (t) => {
    const { posts, user, accounts, kv } = await setup(t);
    const alice = await user("alice");
    await accounts.logout(alice);
    const revision = kv.currentRevision;
    await assert.rejects(posts.createPost("", "hello"), UNAUTHENTICATED);
    await assert.rejects(posts.createPost("x".repeat(43), "hello"), UNAUTHENTICATED);
    await assert.rejects(posts.createPost(alice, "hello"), UNAUTHENTICATED);
    assert.equal(kv.currentRevision, revision);
    assert.equal(await posts.countUserPosts("alice"), 0);
  });

  it("gives increasing ids to successive posts", async (t) => {
    const { post, user } = await setup(t);
    const alice = await user("alice");
    const made: string[] = [];
    for (let i = 0; i < 20; i++) made.push((await post(alice, `post ${i}`)).id);
    assert.ok(
      made.every((id) => /^[1-9][0-9]*$/.test(id)),
      "ids are decimal revisions",
    );
    assert.deepEqual(
      [...made].sort((a, b) => Number(a) - Number(b)),
      made,
    );
    assert.equal(new Set(made).size, made.length);
  });

  it("returns the same post for a repeated idempotency key, storing it once", async (t) => {
    const { posts, post, users, graph, feedIds, clock, kv, another } = await setup(t);
    const [alice, bob] = await users("alice", "bob");
    await graph.follow(bob!, "alice");
    const first = await post(alice!, "hello", "key-1");
    const revision = kv.currentRevision;
    clock.advance(10_000);
    assert.deepEqual(await post(alice!, "hello", "key-1"), first);
    assert.deepEqual(await (await another()).posts.createPost(alice!, "hello again", "key-1"), first);
    assert.equal(kv.currentRevision, revision);
    assert.equal(await posts.countUserPosts("alice"), 1);
    assert.deepEqual(await feedIds(bob!), [first.id]);
  });

  it("stores a request re-sent with the same request id once", async (t) => {
    const { posts, user, kv } = await setup(t);
    const alice = await user("alice");
    const first = await posts.createPost(alice, "once", "", "request-1");
    const revision = kv.currentRevision;
    assert.deepEqual(await posts.createPost(alice, "once", "", "request-1"), first);
    assert.equal(kv.currentRevision, revision);
    const other = await posts.createPost(alice, "once", "", "request-2");
    assert.notEqual(other.id, first.id);
    assert.equal(await posts.countUserPosts("alice"), 2);
  });

  it("makes separate posts for different keys, and keeps each author's keys apart", async (t) => {
    const { posts, post, users } = await setup(t);
    const [alice, bob] = await users("alice", "bob");
    const a1 = await post(alice!, "hello", "key-1");
    const a2 = await post(alice!, "hello", "key-2");
    const b1 = await post(bob!, "hello", "key-1");
    assert.equal(new Set([a1.id, a2.id, b1.id]).size, 3);
    assert.equal(b1.author, "bob");
    assert.equal(await posts.countUserPosts("alice"), 2);
    assert.equal(await posts.countUserPosts("bob"), 1);
  });

  it("rejects a malformed idempotency key and stores nothing", async (t) => {
    const { posts, user, kv } = await setup(t);
    const alice = await user("alice");
    const revision = kv.currentRevision;
    for (const bad of ["has space", "x".repeat(65), "slash/key", "ü"]) {
      await assert.rejects(posts.createPost(alice, "hello", bad), INVALID, bad);
    }
    assert.equal(kv.currentRevision, revision);
    assert.equal(await posts.countUserPosts("alice"), 0);
  });

  it("answers ALREADY_EXISTS for an idempotency key whose post has been deleted, and stores nothing", async (t) => {
    const { post, user, kv } = await setup(t);
    const alice = await user("alice");
    await post(alice, "soon gone", "key-1");
    const [stored] = await storedKeys(kv, KEYS.posts);
    await kv.txn({ success: [del(stored!.key)] });
    const revision = kv.currentRevision;
    await assert.rejects(post(alice, "again", "key-1"), flockError(status.ALREADY_EXISTS));
    assert.equal(kv.currentRevision, revision);
  });
});

describe("PostsService.getFeed", () => {
  it("shows only followed authors, newest first, without the reader's own posts", async (t) => {
    const { post, users, graph, posts } = await setup(t);
    const [alice, bob, carol, dave] = await users("alice", "bob", "carol", "dave");
    await graph.follow(alice!, "bob");
    await graph.follow(alice!, "carol");
    const expected: Post[] = [];
    for (let i = 0; i < 3; i++) {
      expected.push(await post(bob!, `bob ${i}`));
      await post(dave!, `dave ${i}`);
      expected.push(await post(carol!, `carol ${i}`));
      await post(alice!, `alice ${i}`);
    }
    const page = await posts.getFeed(alice!, 50, undefined);
    assert.deepEqual(
      page.items.map((i) => i.post!),
      [...expected].reverse(),
    );
    assert.equal(page.nextCursor, "");
    assert.equal(page.viewer, "alice");
  });

  it("is empty for a reader who follows nobody", async (t) => {
    const { posts, post, users } = await setup(t);
    const [alice, bob] = await users("alice", "bob");
    await post(bob!, "hello");
    assert.deepEqual(await posts.getFeed(alice!, undefined, undefined), {
      items: [],
      nextCursor: "",
      viewer: "alice",
    });
  });

  it("drops an author's posts at once after an unfollow, keeping the others", async (t) => {
    const { post, users, graph, feedIds } = await setup(t);
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    await graph.follow(alice!, "bob");
    await graph.follow(alice!, "carol");
    await post(bob!, "from bob");
    const fromCarol = await post(carol!, "from carol");
    await graph.unfollow(alice!, "bob");
    assert.deepEqual(await feedIds(alice!), [fromCarol.id]);
  });

  it("shows all of an author's older posts at once after a follow, in commit order; an unfollow hides them and a re-follow brings them back", async (t) => {
    const { post, users, graph, posts } = await setup(t);
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    await graph.follow(alice!, "carol");
    const earlier: Post[] = [];
    for (let i = 0; i < 150; i++) earlier.push(await post(i % 5 === 0 ? carol! : bob!, `post ${i}`));
    const fromCarol = earlier.filter((p) => p.author === "carol");
    const whole = async () => (await collectPages((cursor) => posts.getFeed(alice!, 100, cursor))).flat();

    assert.deepEqual(ids(await whole()), newestFirst(fromCarol));
    await graph.follow(alice!, "bob");
    assert.deepEqual(ids(await whole()), newestFirst(earlier), "after the follow");
    await graph.follow(alice!, "bob");
    assert.deepEqual(ids(await whole()), newestFirst(earlier), "after a repeated follow");
    await graph.unfollow(alice!, "bob");
    assert.deepEqual(ids(await whole()), newestFirst(fromCarol), "after the unfollow");
    await graph.follow(alice!, "bob");
    assert.deepEqual(ids(await whole()), newestFirst(earlier), "after the re-follow");
    const fresh = await post(bob!, "after the re-follow");
    assert.deepEqual(ids(await whole()), newestFirst([...earlier, fresh]));
  });

  it("does not show a former follower posts made after the unfollow", async (t) => {
    const { post, users, graph, feedIds } = await setup(t);
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    await graph.follow(alice!, "bob");
    await graph.follow(carol!, "bob");
    await graph.unfollow(alice!, "bob");
    const made = await post(bob!, "after the unfollow");
    assert.deepEqual(await feedIds(alice!), []);
    assert.deepEqual(await feedIds(carol!), [made.id]);
  });

  it("lists posts in commit order even when the clock goes backwards between posts", async (t) => {
    const { post, users, graph, posts, clock } = await setup(t);
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    await graph.follow(alice!, "bob");
    await graph.follow(alice!, "carol");
    const made: Post[] = [];
    for (let i = 0; i < 6; i++) {
      made.push(await post(i % 2 ? carol! : bob!, `post ${i}`));
      clock.advance(i % 3 === 2 ? 3_600_000 : -600_000); // ten minutes back, now and then an hour on
    }
    const feed = await posts.getFeed(alice!, 100, undefined);
    assert.deepEqual(ids(feed.items.map((i) => i.post!)), ids([...made].reverse()));
    const times = feed.items.map((i) => i.post!).map((p) => p.createdAtMs);
    assert.notDeepEqual(
      [...times].sort((a, b) => b - a),
      times,
      "the clock did not go backwards",
    );
    const bobs = await posts.listUserPosts("", "bob", 100, undefined);
    assert.deepEqual(
      ids(bobs.items.map((i) => i.post!)),
      ids(made.filter((p) => p.author === "bob").reverse()),
    );
  });

  it("paginates with limit 2 without overlap or gap while new posts arrive between reads", async (t) => {
    const { post, users, graph, posts } = await setup(t);
    const [alice, bob, carol] = await users("alice", "bob", "carol");
    await graph.follow(alice!, "bob");
    await graph.follow(alice!, "carol");
    const before: Post[] = [];
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

  it("lists every post of a long feed exactly once, in order, on deep pages of 7 and of 100", async (t) => {
    const { post, users, graph, posts, another } = await setup(t);
    const [reader, ...authors] = await users("reader", "ann", "ben", "cat");
    for (const author of ["ann", "ben", "cat"]) await graph.follow(reader!, author);
    const made = await postInRuns(post, authors, 1500);
    const expected = newestFirst(made);
    const other = await another();
    for (const [size, on] of [
      [7, posts],
      [100, posts],
      [7, other.posts],
    ] as const) {
      const pages = await collectPages((cursor) => on.getFeed(reader!, size, cursor));
      assert.deepEqual(ids(pages.flat()), expected, `page size ${size}`);
      assert.equal(pages.length, Math.ceil(1500 / size), `page size ${size}`);
    }
  });

  it("lists every post exactly once when the reader unfollows and re-follows an author between pages", async (t) => {
    const { post, users, graph, posts } = await setup(t);
    const [reader, ...authors] = await users("reader", "ann", "ben", "cat");
    const names = ["ann", "ben", "cat"];
    for (const author of names) await graph.follow(reader!, author);
    const made = await postInRuns(post, authors, 600);
    for (const size of [7, 100]) {
      const pages = await collectPages(
        (cursor) => posts.getFeed(reader!, size, cursor),
        async (page) => {
          const author = names[page % names.length]!;
          await graph.unfollow(reader!, author);
          await graph.follow(reader!, author);
        },
      );
      assert.deepEqual(ids(pages.flat()), newestFirst(made), `page size ${size}`);
    }
  });

  it("stops listing an author unfollowed between pages, skipping none of the others' posts", async (t) => {
    const { post, users, graph, posts } = await setup(t);
    const [reader, ...authors] = await users("reader", "ann", "ben", "cat");
    for (const author of ["ann", "ben", "cat"]) await graph.follow(reader!, author);
    const made = await postInRuns(post, authors, 400);
    const seen = (
      await collectPages(
        (cursor) => posts.getFeed(reader!, 7, cursor),
        async (page) => {
          if (page === 10) await graph.unfollow(reader!, "ben");
        },
      )
    ).flat();
    const firstPages = seen.slice(0, 70);
    assert.deepEqual(ids(firstPages), newestFirst(made).slice(0, 70));
    const rest = seen.slice(70);
    assert.ok(!rest.some((p) => p.author === "ben"), "an unfollowed author's post after the unfollow");
    const cursorId = Number(firstPages[firstPages.length - 1]!.id);
    assert.deepEqual(
      ids(rest),
      newestFirst(made.filter((p) => p.author !== "ben" && Number(p.id) < cursorId)),
    );
  });

  it("gives no next cursor when the last page is exactly full", async (t) => {
    const { post, users, graph, posts } = await setup(t);
    const [alice, bob] = await users("alice", "bob");
    await graph.follow(alice!, "bob");
    for (let i = 0; i < 4; i++) await post(bob!, `post ${i}`);
    const first = await posts.getFeed(alice!, 2, undefined);
    assert.notEqual(first.nextCursor, "");
    const second = await posts.getFeed(alice!, 2, first.nextCursor);
    assert.equal(second.items.map((i) => i.post!).length, 2);
    assert.equal(second.nextCursor, "");
  });

  it("shows a post of an author with 250 followers in every follower's next read", async (t) => {
    const { post, user, graph, posts, another } = await setup(t);
    const author = await user("author");
    const readers: string[] = [];
    for (let i = 0; i < 250; i++) {
      const token = await user(`reader_${String(i).padStart(3, "0")}`);
      await graph.follow(token, "author");
      readers.push(token);
    }
    const other = await another();
    const made = await post(author, "to all 250");
    for (const [i, reader] of readers.entries()) {
      const on = i % 2 ? other.posts : posts;
      assert.deepEqual(
        ids((await on.getFeed(reader, 1, undefined)).items.map((i) => i.post!)),
        [made.id],
        `reader ${i}`,
      );
    }
  });

  it("shows a post made on one backend in a follower's feed read on another at once", async (t) => {
    const { post, users, graph, feedIds, another } = await setup(t);
    const other = await another();
    const [alice, bob] = await users("alice", "bob");
    await other.graph.follow(bob!, "alice");
    const made: string[] = [];
    for (let i = 0; i < 20; i++) {
      made.unshift(
        i % 2 ? (await post(alice!, `post ${i}`)).id : (await other.posts.createPost(alice!, `post ${i}`)).id,
      );
      assert.deepEqual(await feedIds(bob!, i % 2 ? other : undefined), made, `post ${i}`);
    }
    await graph.unfollow(bob!, "alice");
    assert.deepEqual(await feedIds(bob!, other), [], "an unfollow on one backend, read on another");
  });

  it("rejects a bad token with UNAUTHENTICATED", async (t) => {
    const { posts, user, accounts } = await setup(t);
    await assert.rejects(posts.getFeed("", 10, undefined), UNAUTHENTICATED);
    await assert.rejects(posts.getFeed("A".repeat(43), 10, undefined), UNAUTHENTICATED);
    const alice = await user("alice");
    await accounts.logout(alice);
    await assert.rejects(posts.getFeed(alice, 10, undefined), UNAUTHENTICATED);
  });

  it("rejects a malformed cursor or limit with INVALID_ARGUMENT", async (t) => {
    const { posts, user } = await setup(t);
    const alice = await user("alice");
    for (const bad of [
      "%%%",
      "bm90LWEtY3Vyc29y",
      encodeCursor("alice"),
      encodeCursor("1700000000000ABCDEF012345"),
      encodeCursor("0"),
      encodeCursor("012"),
      encodeCursor("-5"),
      encodeCursor("1.5"),
      encodeCursor("12345678901234567"),
    ]) {
      await assert.rejects(posts.getFeed(alice, 10, bad), INVALID, bad);
    }
    await assert.rejects(posts.getFeed(alice, 101, undefined), INVALID);
    await assert.rejects(posts.getFeed(alice, 2.5, undefined), INVALID);
  });
});

describe("PostsService.listUserPosts", () => {
  it("paginates a user's posts newest first without overlap or gap", async (t) => {
    const { post, user, posts } = await setup(t);
    const alice = await user("alice");
    const made: Post[] = [];
    for (let i = 0; i < 7; i++) made.push(await post(alice, `post ${i}`));
    const pages = await collectPages((cursor) => posts.listUserPosts("", "ALICE", 3, cursor));
    assert.deepEqual(
      pages.map((p) => p.length),
      [3, 3, 1],
    );
    assert.deepEqual(pages.flat(), [...made].reverse());
  });

  it("shows only that user's posts", async (t) => {
    const { post, users, posts } = await setup(t);
    const [alice, bob] = await users("alice", "bob");
    const mine = await post(alice!, "mine");
    await post(bob!, "not mine");
    assert.deepEqual(
      ids((await posts.listUserPosts("", "alice", undefined, undefined)).items.map((i) => i.post!)),
      [mine.id],
    );
    assert.equal(await posts.countUserPosts("alice"), 1);
  });

  it("shows posts made on another backend at once", async (t) => {
    const { users, posts, another } = await setup(t);
    const other = await another();
    const [alice] = await users("alice");
    for (let i = 1; i <= 5; i++) {
      const made = await other.posts.createPost(alice!, `post ${i}`);
      assert.equal(
        (await posts.listUserPosts("", "alice", 1, undefined)).items.map((i) => i.post!)[0]?.id,
        made.id,
      );
      assert.equal(await posts.countUserPosts("alice"), i);
    }
  });

  it("is empty for a user with no posts and rejects bad names, cursors and limits", async (t) => {
    const { posts } = await setup(t);
    assert.deepEqual(await posts.listUserPosts("", "nobody", 10, undefined), { items: [], nextCursor: "" });
    await assert.rejects(posts.listUserPosts("", "x", 10, undefined), INVALID);
    await assert.rejects(posts.listUserPosts("", "alice", 10, "***"), INVALID);
    await assert.rejects(posts.listUserPosts("", "alice", 10, encodeCursor("bob")), INVALID);
    await assert.rejects(posts.listUserPosts("", "alice", 0.5, undefined), INVALID);
  });
});
