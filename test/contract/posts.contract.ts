import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { freshStorageEachTest, type StorageUnderTest } from "../fixtures/storage-under-test.js";
import type { FeedEntry, PostRecord, PostsStorage } from "../../src/services/posts/storage.js";

/** A fresh, empty store for one test, and how to dispose of it. */
export type PostsStorageUnderTest = StorageUnderTest<PostsStorage>;

/** What every PostsStorage must do, run against each implementation (memory, etcd). */
export function postsStorageContract(name: string, makeStorage: () => Promise<PostsStorageUnderTest>): void {
  describe(`PostsStorage contract: ${name}`, () => {
    let storage: PostsStorage;
    freshStorageEachTest(makeStorage, (made) => (storage = made));

    it("stores a post and reads it back", async () => {
      const p = post("alice", 1, "hello");
      assert.deepEqual(await storage.createPost(p), p);
      assert.deepEqual(await storage.getPosts([p.id]), [p]);
      assert.equal(await storage.countAuthorPosts("alice"), 1);
    });

    it("stores a post id once: creating it again returns the first", async () => {
      const first = post("alice", 1, "first");
      await storage.createPost(first);
      assert.deepEqual(await storage.createPost({ ...first, text: "second" }), first);
      assert.deepEqual(await storage.getPosts([first.id]), [first]);
      assert.equal(await storage.countAuthorPosts("alice"), 1);
    });

    it("returns the first post for a reused idempotency key, storing nothing new", async () => {
      const first = post("alice", 1, "first");
      const retry = post("alice", 2, "first again");
      assert.deepEqual(await storage.createPost(first, "key-1"), first);
      assert.deepEqual(await storage.createPost(retry, "key-1"), first);
      assert.deepEqual(await storage.getPosts([retry.id]), []);
      assert.equal(await storage.countAuthorPosts("alice"), 1);

      // Keys belong to their author, and another key is another post.
      const bobs = post("bob", 3, "bob's");
      assert.deepEqual(await storage.createPost(bobs, "key-1"), bobs);
      const second = post("alice", 4, "second");
      assert.deepEqual(await storage.createPost(second, "key-2"), second);
      assert.equal(await storage.countAuthorPosts("alice"), 2);
    });

    it("creates one post from many concurrent retries with one idempotency key", async () => {
      const attempts = Array.from({ length: 15 }, (_, i) => post("alice", 10 + i, `attempt ${i}`));
      const results = await Promise.all(attempts.map((p) => storage.createPost(p, "same-key")));
      const winner = results[0]!;
      assert.ok(attempts.some((a) => a.id === winner.id));
      for (const r of results) assert.deepEqual(r, winner);
      assert.equal(await storage.countAuthorPosts("alice"), 1);
      assert.deepEqual(await storage.listAuthorPosts("alice", undefined, 10), [winner]);
    });

    it("notes every new post as undelivered until it is marked delivered", async () => {
      const [a, b] = [post("alice", 1, "a"), post("bob", 2, "b")];
      await storage.createPost(b);
      await storage.createPost(a);
      await storage.createPost({ ...a, text: "a retried create" });
      assert.deepEqual(await storage.listUndelivered(10), [
        { id: a.id, author: "alice" },
        { id: b.id, author: "bob" },
      ]);
      assert.deepEqual(await storage.listUndelivered(1), [{ id: a.id, author: "alice" }]);
      await storage.markDelivered(a.id);
      await storage.markDelivered(a.id);
      assert.deepEqual(await storage.listUndelivered(10), [{ id: b.id, author: "bob" }]);
    });

    it("gets posts in the order asked, skipping missing ids", async () => {
      const [a, b, c] = [post("alice", 1, "a"), post("bob", 2, "b"), post("alice", 3, "c")];
      for (const p of [a, b, c]) await storage.createPost(p);
      const missing = postId(99);
      assert.deepEqual(await storage.getPosts([c.id, missing, a.id, b.id]), [c, a, b]);
      assert.deepEqual(await storage.getPosts([]), []);
      assert.deepEqual(await storage.getPosts([missing]), []);
    });

    it("gets more posts than one etcd txn holds", async () => {
      const posts = Array.from({ length: 150 }, (_, i) => post("alice", 1000 + i, `p${i}`));
      await Promise.all(posts.map((p) => storage.createPost(p)));
      const wanted = [...posts].reverse();
      assert.deepEqual(await storage.getPosts(wanted.map((p) => p.id)), wanted);
    });

    it("lists an author's posts newest first, strictly before the cursor, up to the limit", async () => {
      const mine = Array.from({ length: 7 }, (_, i) => post("al", 100 + i, `mine ${i}`));
      await Promise.all(mine.map((p) => storage.createPost(p)));
      await storage.createPost(post("al_x", 50, "not mine"));
      await storage.createPost(post("alb", 200, "not mine either"));
      const newestFirst = [...mine].reverse();

      const first = await storage.listAuthorPosts("al", undefined, 3);
      assert.deepEqual(first, newestFirst.slice(0, 3));
      const second = await storage.listAuthorPosts("al", first.at(-1)!.id, 3);
      assert.deepEqual(second, newestFirst.slice(3, 6));
      const third = await storage.listAuthorPosts("al", second.at(-1)!.id, 3);
      assert.deepEqual(third, newestFirst.slice(6));
      assert.deepEqual(await storage.listAuthorPosts("al", third.at(-1)!.id, 3), []);
      assert.equal(await storage.countAuthorPosts("al"), 7);
      assert.equal(await storage.countAuthorPosts("al_x"), 1);
      assert.deepEqual(await storage.listAuthorPosts("nobody", undefined, 3), []);
      assert.equal(await storage.countAuthorPosts("nobody"), 0);
    });

    it("pages newest first across posts spread over months", async () => {
      const now = Date.now();
      const agesMs = [
        60_000,
        2 * 3600_000,
        3 * 86_400_000,
        20 * 86_400_000,
        200 * 86_400_000,
        300 * 86_400_000,
      ];
      const posts = agesMs.map((age, i) => post("alice", now - age, `aged ${i}`));
      for (const p of [...posts].reverse()) await storage.createPost(p);
      await storage.addToFeed(
        "reader",
        posts.map((p) => ({ id: p.id, author: p.author })),
      );
      for (const limit of [1, 2, 4, 10]) {
        const authorPages: string[] = [];
        const feedPages: string[] = [];
        let before: string | undefined;
        do {
          const page = await storage.listAuthorPosts("alice", before, limit);
          authorPages.push(...page.map((p) => p.id));
          before = page.length === limit ? page[page.length - 1]!.id : undefined;
        } while (before);
        do {
          const page = await storage.readFeed("reader", before, limit);
          feedPages.push(...page.map((e) => e.id));
          before = page.length === limit ? page[page.length - 1]!.id : undefined;
        } while (before);
        const expected = posts.map((p) => p.id);
        assert.deepEqual(authorPages, expected, `author pages of ${limit}`);
        assert.deepEqual(feedPages, expected, `feed pages of ${limit}`);
      }
    });

    it("fans a post out to hundreds of readers", async () => {
      const readers = Array.from({ length: 300 }, (_, i) => `reader_${String(i).padStart(3, "0")}`);
      const p = await storage.createPost(post("alice", 1, "to everyone"));
      const entry = { id: p.id, author: "alice" };
      await storage.fanOut(readers, entry);
      for (const reader of ["reader_000", "reader_127", "reader_128", "reader_200", "reader_299"]) {
        assert.deepEqual(await storage.readFeed(reader, undefined, 10), [entry], reader);
      }
      assert.deepEqual(await storage.readFeed("not_a_reader", undefined, 10), []);
    });

    it("adds feed entries idempotently", async () => {
      const p = await storage.createPost(post("alice", 1, "once"));
      const entry = { id: p.id, author: "alice" };
      await storage.fanOut(["bob"], entry);
      await storage.fanOut(["bob"], entry);
      await storage.addToFeed("bob", [entry, entry]);
      assert.deepEqual(await storage.readFeed("bob", undefined, 10), [entry]);
    });

    it("reads a feed newest first, strictly before the cursor, up to the limit", async () => {
      const entries: FeedEntry[] = [];
      for (let i = 0; i < 10; i++) {
        const author = i % 2 === 0 ? "alice" : "carol";
        const p = await storage.createPost(post(author, 500 + i, `post ${i}`));
        entries.push({ id: p.id, author });
      }
      shuffle(entries);
      await storage.addToFeed("bob", entries.slice(0, 5));
      await storage.addToFeed("bob", entries.slice(5));
      const newestFirst = [...entries].sort((x, y) => (x.id < y.id ? 1 : -1));

      const first = await storage.readFeed("bob", undefined, 4);
      assert.deepEqual(first, newestFirst.slice(0, 4));
      const second = await storage.readFeed("bob", first.at(-1)!.id, 4);
      assert.deepEqual(second, newestFirst.slice(4, 8));
      const third = await storage.readFeed("bob", second.at(-1)!.id, 4);
      assert.deepEqual(third, newestFirst.slice(8));
      assert.deepEqual(await storage.readFeed("bob", third.at(-1)!.id, 4), []);
      assert.deepEqual(await storage.readFeed("bo", undefined, 4), []);
    });

    it("trims a feed to its newest entries, with their by-author index", async () => {
      const posts = Array.from({ length: 150 }, (_, i) => post(i % 2 ? "alice" : "bob", 1000 + i, `p${i}`));
      for (const p of posts) await storage.createPost(p);
      await storage.addToFeed(
        "reader",
        posts.map((p) => ({ id: p.id, author: p.author })),
      );
      await storage.trimFeed("reader", 200);
      assert.equal(
        (await storage.readFeed("reader", undefined, 1000)).length,
        150,
        "under the cap: untouched",
      );
      await storage.trimFeed("reader", 5);
      await storage.trimFeed("reader", 5);
      const expected = posts
        .slice(-5)
        .reverse()
        .map((p) => ({ id: p.id, author: p.author }));
      assert.deepEqual(await storage.readFeed("reader", undefined, 1000), expected);
      assert.equal(
        await storage.feedHorizon("reader"),
        posts[posts.length - 6]!.id,
        "the newest entry trimmed",
      );
      assert.equal(await storage.feedHorizon("someone else"), undefined);
      // What is left still comes out by author.
      await storage.removeAuthorFromFeed("reader", "alice");
      assert.deepEqual(
        await storage.readFeed("reader", undefined, 1000),
        expected.filter((e) => e.author === "bob"),
      );
    });

    it("lists the newest posts of several authors, strictly before a cursor", async () => {
      const posts = Array.from({ length: 12 }, (_, i) =>
        post(["alice", "bob", "carol"][i % 3]!, 5000 + i, `n${i}`),
      );
      for (const p of posts) await storage.createPost(p);
      const found = await storage.listPostsByAuthors(["alice", "bob", "nobody"], posts[9]!.id, 2);
      const ids = (author: string) =>
        found
          .filter((e) => e.author === author)
          .map((e) => e.id)
          .sort();
      assert.deepEqual(ids("alice"), [posts[3]!.id, posts[6]!.id]);
      assert.deepEqual(ids("bob"), [posts[4]!.id, posts[7]!.id]);
      assert.equal(found.length, 4);
      assert.deepEqual(await storage.listPostsByAuthors([], undefined, 5), []);
    });

    it("removes one author from a feed, leaving other authors and other readers intact", async () => {
      const alices: FeedEntry[] = [];
      for (let i = 0; i < 70; i++) alices.push({ id: postId(2000 + i), author: "alice" });
      await Promise.all(
        alices.map((e) => storage.createPost(post(e.author, Number(e.id.slice(0, 13)), "a"))),
      );
      const carols: FeedEntry[] = [];
      for (let i = 0; i < 3; i++) {
        const p = await storage.createPost(post("carol", 3000 + i, "c"));
        carols.push({ id: p.id, author: "carol" });
      }
      // Names sharing a prefix with "alice" must be left alone too.
      const alicia = await storage.createPost(post("alice_2", 4000, "x"));
      const aliciaEntry = { id: alicia.id, author: "alice_2" };
      await storage.addToFeed("bob", [...alices, ...carols, aliciaEntry]);
      await storage.addToFeed("dave", alices.slice(0, 5));

      await storage.removeAuthorFromFeed("bob", "alice");
      const expected = [aliciaEntry, ...[...carols].reverse()];
      assert.deepEqual(await storage.readFeed("bob", undefined, 100), expected);
      await storage.removeAuthorFromFeed("bob", "alice");
      await storage.removeAuthorFromFeed("nobody", "alice");
      assert.deepEqual(await storage.readFeed("bob", undefined, 100), expected);
      assert.deepEqual(await storage.readFeed("dave", undefined, 100), alices.slice(0, 5).reverse());
      assert.equal(await storage.countAuthorPosts("alice"), 70);
    });
  });
}

/** A well-formed post id (see shared/ids.ts) whose time part is `ms`, so ids sort by `ms`. */
function postId(ms: number): string {
  return String(ms).padStart(13, "0") + (ms % 0xffffff).toString(16).padStart(12, "0");
}

function post(author: string, ms: number, text: string): PostRecord {
  return { id: postId(ms), author, text, createdAtMs: ms };
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
