import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { freshStorageEachTest, type StorageUnderTest } from "../fixtures/storage-under-test.js";
import type { GraphStorage } from "../../src/services/graph/storage.js";

/** A fresh, empty store for one test, and how to dispose of it. */
export type GraphStorageUnderTest = StorageUnderTest<GraphStorage>;

/** What every GraphStorage must do, run against each implementation (memory, etcd). */
export function graphStorageContract(name: string, makeStorage: () => Promise<GraphStorageUnderTest>): void {
  describe(`GraphStorage contract: ${name}`, () => {
    let storage: GraphStorage;
    freshStorageEachTest(makeStorage, (made) => (storage = made));

    /** Every way of reading the fact, which must always agree. */
    async function views(follower: string, followee: string) {
      const [fact, among, following, followers] = await Promise.all([
        storage.isFollowing(follower, followee),
        storage.followedAmong(follower, [followee]),
        storage.listFollowing(follower, undefined, 1000),
        storage.listFollowers(followee, undefined, 1000),
      ]);
      return {
        fact,
        among: among.has(followee),
        following: following.includes(followee),
        follower: followers.includes(follower),
      };
    }

    it("records a follow in both directions, and only that direction", async () => {
      await storage.follow("alice", "bob", 1_000);
      assert.deepEqual(await views("alice", "bob"), {
        fact: true,
        among: true,
        following: true,
        follower: true,
      });
      assert.deepEqual(await views("bob", "alice"), {
        fact: false,
        among: false,
        following: false,
        follower: false,
      });
      assert.deepEqual(await storage.listFollowing("alice", undefined, 10), ["bob"]);
      assert.deepEqual(await storage.listFollowers("bob", undefined, 10), ["alice"]);
      assert.equal(await storage.countFollowing("alice"), 1);
      assert.equal(await storage.countFollowers("bob"), 1);
      assert.equal(await storage.countFollowers("alice"), 0);
      assert.equal(await storage.countFollowing("bob"), 0);
    });

    it("follows and unfollows idempotently", async () => {
      await storage.follow("alice", "bob", 1_000);
      await storage.follow("alice", "bob", 2_000);
      assert.equal(await storage.countFollowing("alice"), 1);
      assert.equal(await storage.countFollowers("bob"), 1);
      await storage.unfollow("alice", "bob");
      await storage.unfollow("alice", "bob");
      await storage.unfollow("carol", "dave");
      assert.deepEqual(await views("alice", "bob"), {
        fact: false,
        among: false,
        following: false,
        follower: false,
      });
      assert.equal(await storage.countFollowing("alice"), 0);
      assert.equal(await storage.countFollowers("bob"), 0);
    });

    it("answers which candidates are followed, in one call", async () => {
      await storage.follow("alice", "bob", 1);
      await storage.follow("alice", "carol", 1);
      await storage.follow("dave", "erin", 1);
      const found = await storage.followedAmong("alice", ["bob", "erin", "carol", "bob", "nobody", "alice"]);
      assert.deepEqual([...found].sort(), ["bob", "carol"]);
      assert.deepEqual([...(await storage.followedAmong("alice", []))], []);
    });

    it("checks hundreds of candidates at once", async () => {
      const users = Array.from({ length: 300 }, (_, i) => `u${String(i).padStart(3, "0")}`);
      const followed = users.filter((_, i) => i % 7 === 0);
      await Promise.all(followed.map((u) => storage.follow("reader", u, 1)));
      const found = await storage.followedAmong("reader", users);
      assert.deepEqual([...found].sort(), followed);
    });

    it("pages through follows ascending, strictly after the cursor, up to the limit", async () => {
      const followees = Array.from({ length: 25 }, (_, i) => `user_${String(i).padStart(2, "0")}`);
      await Promise.all(followees.map((f) => storage.follow("alice", f, 1)));
      await Promise.all(followees.slice(0, 12).map((f) => storage.follow(f, "alice", 1)));

      const first = await storage.listFollowing("alice", undefined, 10);
      assert.deepEqual(first, followees.slice(0, 10));
      const second = await storage.listFollowing("alice", first.at(-1), 10);
      assert.deepEqual(second, followees.slice(10, 20));
      const third = await storage.listFollowing("alice", second.at(-1), 10);
      assert.deepEqual(third, followees.slice(20));
      assert.deepEqual(await storage.listFollowing("alice", third.at(-1), 10), []);
      // A cursor need not be a current entry: the page starts at the next name after it.
      assert.deepEqual(await storage.listFollowing("alice", "user_04x", 2), ["user_05", "user_06"]);

      assert.deepEqual(await storage.listFollowers("alice", undefined, 5), followees.slice(0, 5));
      assert.deepEqual(await storage.listFollowers("alice", "user_09", 5), ["user_10", "user_11"]);
      assert.equal(await storage.countFollowing("alice"), 25);
      assert.equal(await storage.countFollowers("alice"), 12);
    });

    it("keeps users whose names share a prefix apart", async () => {
      await storage.follow("al", "bob", 1);
      await storage.follow("al_x", "carol", 1);
      await storage.follow("alb", "dave", 1);
      await storage.follow("bob", "al_x", 1);
      assert.deepEqual(await storage.listFollowing("al", undefined, 10), ["bob"]);
      assert.equal(await storage.countFollowing("al"), 1);
      assert.deepEqual(await storage.listFollowers("al", undefined, 10), []);
      assert.equal(await storage.countFollowers("al"), 0);
      assert.equal(await storage.isFollowing("bob", "al"), false);
    });

    it("ends consistent from both ends after concurrent follows and unfollows of one pair", async () => {
      const ops = Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0 ? () => storage.follow("alice", "bob", i) : () => storage.unfollow("alice", "bob"),
      );
      shuffle(ops);
      await Promise.all(ops.map((op) => op()));
      const seen = await views("alice", "bob");
      assert.ok(
        Object.values(seen).every((v) => v === seen.fact),
        `views disagree: ${JSON.stringify(seen)}`,
      );
      assert.equal(await storage.countFollowing("alice"), seen.fact ? 1 : 0);
      assert.equal(await storage.countFollowers("bob"), seen.fact ? 1 : 0);

      await storage.follow("alice", "bob", 99);
      assert.deepEqual(await views("alice", "bob"), {
        fact: true,
        among: true,
        following: true,
        follower: true,
      });
    });

    it("ends consistent from both ends after concurrent changes across many pairs", async () => {
      const users = Array.from({ length: 12 }, (_, i) => `m${String(i).padStart(2, "0")}`);
      const ops: (() => Promise<void>)[] = [];
      for (const a of users) {
        for (const b of users) {
          if (a === b) continue;
          ops.push(() => storage.follow(a, b, 1));
          ops.push(() => storage.unfollow(a, b));
        }
      }
      shuffle(ops);
      await Promise.all(ops.map((op) => op()));

      const following = new Map<string, string[]>();
      for (const u of users) following.set(u, await storage.listFollowing(u, undefined, 100));
      for (const u of users) {
        const expectedFollowers = users.filter((f) => following.get(f)!.includes(u));
        assert.deepEqual(await storage.listFollowers(u, undefined, 100), expectedFollowers);
        assert.equal(await storage.countFollowers(u), expectedFollowers.length);
        assert.equal(await storage.countFollowing(u), following.get(u)!.length);
      }
    });
  });
}

/** Fisher–Yates, so the interleaving differs from run to run. */
function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
