import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeClock } from "../../../test/fixtures/fake-clock.js";
import type { FollowGraph } from "../deps.js";
import { AccountsService, DEFAULT_ACCOUNTS_OPTIONS } from "../accounts/service.js";
import { MemoryAccountsStorage } from "../accounts/storage/memory.js";
import { StoredFollowGraph } from "../graph/follow-graph.js";
import { GraphService } from "../graph/service.js";
import { MemoryGraphStorage } from "../graph/storage/memory.js";
import { DEFAULT_POSTS_OPTIONS, PostsService } from "./service.js";
import { MemoryPostsStorage } from "./storage/memory.js";

/** A graph whose follower reads wait for `open()`: delivery can be held half-way on purpose. */
class GatedGraph implements FollowGraph {
  private release: () => void = () => undefined;
  private readonly gate = new Promise<void>((resolve) => (this.release = resolve));
  constructor(private readonly inner: FollowGraph) {}
  isFollowing = (a: string, b: string) => this.inner.isFollowing(a, b);
  followedAmong = (a: string, c: readonly string[]) => this.inner.followedAmong(a, c);
  followingPage = (u: string, after: string | undefined, limit: number) =>
    this.inner.followingPage(u, after, limit);
  followersPage = async (user: string, after: string | undefined, limit: number) => {
    await this.gate;
    return this.inner.followersPage(user, after, limit);
  };
  open(): void {
    this.release();
  }
}

async function setup() {
  const clock = new FakeClock();
  const accounts = new AccountsService(
    new MemoryAccountsStorage(clock),
    { ...DEFAULT_ACCOUNTS_OPTIONS, scrypt: { logN: 4, r: 1, p: 1 } },
    clock,
  );
  const graphStore = new MemoryGraphStorage();
  const gated = new GatedGraph(new StoredFollowGraph(graphStore));
  const postsStore = new MemoryPostsStorage();
  const posts = new PostsService(
    postsStore,
    { auth: accounts, graph: gated },
    { ...DEFAULT_POSTS_OPTIONS, fanOutBatch: 3 },
    clock,
  );
  const graph = new GraphService(graphStore, { auth: accounts, accounts, feed: posts }, clock);
  const user = async (name: string) => {
    await accounts.createAccount(name, "password123");
    return (await accounts.login(name, "password123", "127.0.0.1")).token;
  };
  return { clock, accounts, graph, graphStore, gated, posts, postsStore, user };
}

describe("post delivery after the acknowledgement", () => {
  it("shows a post in followers' feeds before its delivery has written anything", async () => {
    const { gated, graph, posts, postsStore, user } = await setup();
    const author = await user("author");
    const names = ["reader1", "reader2", "reader3", "reader4", "reader5"];
    const readers = await Promise.all(names.map(user));
    for (const r of readers) await graph.follow(r, "author");

    const post = await posts.createPost(author, "acknowledged, not yet delivered");
    assert.deepEqual(await postsStore.readFeed("reader1", undefined, 10), [], "nothing written yet");
    for (const r of readers) {
      assert.deepEqual(
        (await posts.getFeed(r, 10, undefined)).posts.map((p) => p.id),
        [post.id],
      );
    }

    gated.open();
    await posts.delivery.settled();
    assert.deepEqual(await postsStore.listUndelivered(10), []);
    // Delivered in pages of 3 followers: all 5 have it.
    for (const name of names) {
      assert.deepEqual(await postsStore.readFeed(name, undefined, 10), [{ id: post.id, author: "author" }]);
    }
  });

  it("hides a pending post from a reader who unfollowed its author", async () => {
    const { graph, posts, user } = await setup();
    const author = await user("author");
    const reader = await user("reader");
    await graph.follow(reader, "author");
    await posts.createPost(author, "pending");
    await graph.unfollow(reader, "author");
    assert.deepEqual((await posts.getFeed(reader, 10, undefined)).posts, []);
  });

  it("pages through delivered and pending posts together without overlap or gaps", async () => {
    const { clock, accounts, gated, graph, posts, postsStore, user } = await setup();
    const author = await user("author");
    const reader = await user("reader");
    gated.open();
    await graph.follow(reader, "author");
    const made: string[] = [];
    for (let i = 0; i < 7; i++) {
      clock.ms += 1;
      made.push((await posts.createPost(author, `delivered ${i}`)).id);
    }
    await posts.delivery.settled();

    const held = new GatedGraph(graph);
    // A second backend on the same store whose deliveries stay held: its posts stay pending.
    const heldPosts = new PostsService(
      postsStore,
      { auth: accounts, graph: held },
      DEFAULT_POSTS_OPTIONS,
      clock,
    );
    for (let i = 0; i < 5; i++) {
      clock.ms += 1;
      made.push((await heldPosts.createPost(author, `pending ${i}`)).id);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await posts.getFeed(reader, 3, cursor);
      seen.push(...page.posts.map((p) => p.id));
      cursor = page.nextCursor || undefined;
    } while (cursor);
    assert.deepEqual(seen, [...made].reverse());
    held.open();
    await heldPosts.delivery.settled();
  });

  it("trims followers' feeds back to the cap as it delivers", async () => {
    const clock = new FakeClock();
    const { graphStore, postsStore, user, accounts } = await setup();
    const capped = new PostsService(
      postsStore,
      { auth: accounts, graph: new StoredFollowGraph(graphStore) },
      { ...DEFAULT_POSTS_OPTIONS, feedCap: 3, trimRate: 1 },
      clock,
    );
    // The same graph, its follows syncing the capped service's feeds.
    const graph = new GraphService(graphStore, { auth: accounts, accounts, feed: capped });
    const author = await user("author");
    const reader = await user("reader");
    await graph.follow(reader, "author");
    const made: string[] = [];
    for (let i = 0; i < 6; i++) {
      clock.ms += 1;
      made.push((await capped.createPost(author, `post ${i}`)).id);
      await capped.delivery.settled();
    }
    assert.deepEqual(
      (await postsStore.readFeed("reader", undefined, 100)).map((e) => e.id),
      made.slice(-3).reverse(),
    );
    // The reader still pages through every post: below the trimmed horizon, from the author.
    for (const limit of [1, 2, 4, 10]) {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await capped.getFeed(reader, limit, cursor);
        seen.push(...page.posts.map((p) => p.id));
        cursor = page.nextCursor || undefined;
      } while (cursor);
      assert.deepEqual(seen, [...made].reverse(), `pages of ${limit}`);
    }
  });

  it("lets a sweeper finish a delivery whose first deliverer died", async () => {
    const { clock, gated, graph, posts, postsStore, user } = await setup();
    gated.open();
    await user("author");
    const reader = await user("reader");
    await graph.follow(reader, "author");
    // Stored as a crashed backend leaves it: the post and its undelivered note, no feed entries.
    const id = String(clock.ms).padStart(13, "0") + "00000000abcd";
    await postsStore.createPost({ id, author: "author", text: "orphaned", createdAtMs: clock.ms });

    await posts.delivery.sweepOnce();
    assert.deepEqual(await postsStore.readFeed("reader", undefined, 10), [], "too fresh to take over");

    clock.ms += DEFAULT_POSTS_OPTIONS.sweepAfterMs;
    await posts.delivery.sweepOnce();
    await posts.delivery.settled();
    assert.deepEqual(await postsStore.readFeed("reader", undefined, 10), [{ id, author: "author" }]);
    assert.deepEqual(await postsStore.listUndelivered(10), []);
  });
});
