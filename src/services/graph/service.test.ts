import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { status } from "@grpc/grpc-js";
import { KEYS, memoryServicesFor, signUp, storedKeys } from "../../../test/fixtures/memory-services.js";
import { encodeCursor } from "../../shared/cursor.js";
import { FlockError } from "../../shared/errors.js";

const flockError = (code: status) => (err: unknown) => {
  assert.ok(err instanceof FlockError, `expected a FlockError, got ${String(err)}`);
  assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code]}: ${err.message}`);
  return true;
};
const INVALID = flockError(status.INVALID_ARGUMENT);
const UNAUTHENTICATED = flockError(status.UNAUTHENTICATED);

/** One backend's services over a fresh store, with these users signed up; `token(user)` logs in. */
async function setup(t: TestContext, users: string[] = ["alice", "bob", "carol"]) {
  const s = await memoryServicesFor(t);
  const tokens = new Map<string, string>();
  for (const u of users) tokens.set(u, await signUp(s, u));
  const token = (user: string) => tokens.get(user)!;
  /** The follow facts in the store, as "follower/followee". */
  const follows = async () =>
    (await storedKeys(s.kv, KEYS.follows)).map((kv) => kv.key.slice(KEYS.follows.length));
  return { ...s, token, follows };
}

const names = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, "0")}`);

describe("GraphService.follow / unfollow", () => {
  it("follow stores one fact, read from both ends", async (t) => {
    const { graph, token, follows } = await setup(t);
    await graph.follow(token("alice"), "bob");
    assert.deepEqual(await follows(), ["alice/bob"]);
    assert.equal(await graph.isFollowing("alice", "bob"), true);
    assert.equal(await graph.isFollowing("bob", "alice"), false);
    assert.deepEqual((await graph.listFollowers("bob", 10, undefined)).usernames, ["alice"]);
    assert.deepEqual((await graph.listFollowing("alice", 10, undefined)).usernames, ["bob"]);
  });

  it("follow case-folds the target", async (t) => {
    const { graph, token, follows } = await setup(t);
    await graph.follow(token("alice"), "BOB");
    assert.equal(await graph.isFollowing("alice", "bob"), true);
    assert.deepEqual(await follows(), ["alice/bob"]);
  });

  it("follow is idempotent: a repeat writes nothing", async (t) => {
    const { graph, token, kv } = await setup(t);
    await graph.follow(token("alice"), "bob");
    const revision = kv.currentRevision;
    await graph.follow(token("alice"), "bob");
    await graph.follow(token("alice"), "Bob");
    assert.equal(kv.currentRevision, revision);
    assert.deepEqual(await graph.counts("bob"), { followers: 1, following: 0 });
    assert.deepEqual(await graph.counts("alice"), { followers: 0, following: 1 });
  });

  it("unfollow removes the fact and is idempotent, also when never followed", async (t) => {
    const { graph, token, follows } = await setup(t);
    await graph.follow(token("alice"), "bob");
    await graph.follow(token("carol"), "bob");
    await graph.unfollow(token("alice"), "bob");
    await graph.unfollow(token("alice"), "bob");
    await graph.unfollow(token("alice"), "carol");
    assert.equal(await graph.isFollowing("alice", "bob"), false);
    assert.deepEqual(await follows(), ["carol/bob"]);
    assert.deepEqual(await graph.counts("bob"), { followers: 1, following: 0 });
    assert.deepEqual(await graph.counts("alice"), { followers: 0, following: 0 });
  });

  it("refuses following or unfollowing yourself with INVALID_ARGUMENT, whatever the case, and stores nothing", async (t) => {
    const { graph, token, kv } = await setup(t);
    const revision = kv.currentRevision;
    await assert.rejects(graph.follow(token("alice"), "alice"), INVALID);
    await assert.rejects(graph.follow(token("alice"), "ALICE"), INVALID);
    await assert.rejects(graph.unfollow(token("alice"), "alice"), INVALID);
    assert.equal(kv.currentRevision, revision);
    assert.equal(await graph.isFollowing("alice", "alice"), false);
  });

  it("refuses an unknown user with NOT_FOUND and stores nothing", async (t) => {
    const { graph, token, kv } = await setup(t);
    const revision = kv.currentRevision;
    await assert.rejects(graph.follow(token("alice"), "nobody"), flockError(status.NOT_FOUND));
    assert.equal(kv.currentRevision, revision);
    assert.deepEqual(await graph.counts("alice"), { followers: 0, following: 0 });
    assert.deepEqual(await graph.counts("nobody"), { followers: 0, following: 0 });
  });

  it("refuses a malformed target name with INVALID_ARGUMENT and stores nothing", async (t) => {
    const { graph, token, kv } = await setup(t);
    const revision = kv.currentRevision;
    for (const bad of ["", "b", "bob!", "b o b", "b/b", "\u212Aevin", undefined, 7]) {
      await assert.rejects(graph.follow(token("alice"), bad), INVALID, String(bad));
      await assert.rejects(graph.unfollow(token("alice"), bad), INVALID, String(bad));
    }
    assert.equal(kv.currentRevision, revision);
  });

  it("refuses a bad token with UNAUTHENTICATED and stores nothing", async (t) => {
    const { graph, token, kv, follows } = await setup(t);
    await graph.follow(token("alice"), "carol");
    const revision = kv.currentRevision;
    await assert.rejects(graph.follow("token:nobody", "bob"), UNAUTHENTICATED);
    await assert.rejects(graph.follow("", "bob"), UNAUTHENTICATED);
    await assert.rejects(graph.follow("A".repeat(43), "bob"), UNAUTHENTICATED);
    await assert.rejects(graph.unfollow("forged", "carol"), UNAUTHENTICATED);
    assert.equal(kv.currentRevision, revision);
    assert.deepEqual(await follows(), ["alice/carol"]);
  });

  it("refuses a follow or unfollow after logout, on this backend and another, and stores nothing", async (t) => {
    const { graph, accounts, token, kv, follows, another } = await setup(t);
    const other = await another();
    await graph.follow(token("alice"), "carol");
    await accounts.logout(token("alice"));
    const revision = kv.currentRevision;
    await assert.rejects(graph.follow(token("alice"), "bob"), UNAUTHENTICATED);
    await assert.rejects(graph.unfollow(token("alice"), "carol"), UNAUTHENTICATED);
    await assert.rejects(other.graph.follow(token("alice"), "bob"), UNAUTHENTICATED);
    await assert.rejects(other.graph.unfollow(token("alice"), "carol"), UNAUTHENTICATED);
    assert.equal(kv.currentRevision, revision);
    assert.deepEqual(await follows(), ["alice/carol"]);
  });

  it("acts for the user behind the token, not anyone else", async (t) => {
    const { graph, token, follows } = await setup(t);
    await graph.follow(token("carol"), "bob");
    assert.deepEqual(await follows(), ["carol/bob"]);
    assert.deepEqual((await graph.listFollowers("bob", 10, undefined)).usernames, ["carol"]);
  });

  it("follows a user who signed up on another backend a moment ago", async (t) => {
    const { graph, token, another } = await setup(t);
    const other = await another();
    await other.accounts.createAccount("dave", "password123");
    await graph.follow(token("alice"), "dave");
    assert.equal(await graph.isFollowing("alice", "dave"), true);
  });
});

describe("GraphService across backends", () => {
  it("a follow or unfollow made on one backend is in another's next read", async (t) => {
    const { graph, token, another } = await setup(t);
    const other = await another();
    for (let round = 0; round < 5; round++) {
      await graph.follow(token("alice"), "bob");
      assert.equal(await other.graph.isFollowing("alice", "bob"), true, `round ${round}`);
      assert.deepEqual(await other.graph.counts("bob"), { followers: 1, following: 0 });
      assert.deepEqual((await other.graph.listFollowing("alice", 10, undefined)).usernames, ["bob"]);
      await other.graph.unfollow(token("alice"), "bob");
      assert.equal(await graph.isFollowing("alice", "bob"), false, `round ${round}`);
      assert.deepEqual((await graph.listFollowers("bob", 10, undefined)).usernames, []);
    }
  });

  it("a backend started later loads the graph from the store", async (t) => {
    const { graph, token, another } = await setup(t);
    await graph.follow(token("alice"), "bob");
    await graph.follow(token("carol"), "bob");
    await graph.unfollow(token("alice"), "bob");
    const later = await another();
    assert.deepEqual((await later.graph.listFollowers("bob", 10, undefined)).usernames, ["carol"]);
    assert.deepEqual(await later.graph.counts("bob"), { followers: 1, following: 0 });
  });
});

describe("GraphService reads", () => {
  it("counts followers and following", async (t) => {
    const { graph, token } = await setup(t, ["alice", "bob", "carol", "dave"]);
    await graph.follow(token("alice"), "bob");
    await graph.follow(token("carol"), "bob");
    await graph.follow(token("dave"), "bob");
    await graph.follow(token("bob"), "alice");
    assert.deepEqual(await graph.counts("bob"), { followers: 3, following: 1 });
    assert.deepEqual(await graph.counts("ALICE"), { followers: 1, following: 1 });
    assert.deepEqual(await graph.counts("zed"), { followers: 0, following: 0 });
    await assert.rejects(graph.counts("z"), INVALID);
  });

  it("isFollowing answers for valid names, case-insensitively, and false for invalid ones", async (t) => {
    const { graph, token } = await setup(t);
    await graph.follow(token("alice"), "bob");
    assert.equal(await graph.isFollowing("alice", "bob"), true);
    assert.equal(await graph.isFollowing("ALICE", "Bob"), true);
    assert.equal(await graph.isFollowing("bob", "alice"), false);
    assert.equal(await graph.isFollowing("a", "bob"), false);
    assert.equal(await graph.isFollowing("alice", "b/b"), false);
  });

  it("listFollowers reads followers in name order, strictly after the cursor's name", async (t) => {
    const followers = names("fan", 5);
    const { graph, token } = await setup(t, ["star", ...followers]);
    for (const f of [...followers].reverse()) await graph.follow(token(f), "star");
    assert.deepEqual((await graph.listFollowers("star", 2, undefined)).usernames, ["fan000", "fan001"]);
    assert.deepEqual((await graph.listFollowers("star", 10, encodeCursor("fan001"))).usernames, [
      "fan002",
      "fan003",
      "fan004",
    ]);
  });
});

describe("GraphService pagination", () => {
  async function collect(
    read: (cursor: string | undefined) => Promise<{ usernames: string[]; nextCursor: string }>,
  ) {
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await read(cursor);
      pages.push(page.usernames);
      cursor = page.nextCursor;
    } while (cursor !== "" && pages.length < 100);
    return pages;
  }

  it("listFollowing pages through all followees without overlap or gap, ending with an empty cursor", async (t) => {
    const followees = names("user", 25);
    const { graph, token } = await setup(t, ["alice", ...followees]);
    for (const f of [...followees].reverse()) await graph.follow(token("alice"), f);
    const pages = await collect((cursor) => graph.listFollowing("alice", 10, cursor));
    assert.deepEqual(
      pages.map((p) => p.length),
      [10, 10, 5],
    );
    assert.deepEqual(pages.flat(), followees);
  });

  it("listFollowers pages through all followers", async (t) => {
    const followers = names("fan", 7);
    const { graph, token } = await setup(t, ["star", ...followers]);
    for (const f of followers) await graph.follow(token(f), "star");
    const pages = await collect((cursor) => graph.listFollowers("star", 3, cursor));
    assert.deepEqual(
      pages.map((p) => p.length),
      [3, 3, 1],
    );
    assert.deepEqual(pages.flat(), followers);
  });

  it("gives no next cursor when the last page is exactly full", async (t) => {
    const followees = names("user", 4);
    const { graph, token } = await setup(t, ["alice", ...followees]);
    for (const f of followees) await graph.follow(token("alice"), f);
    const first = await graph.listFollowing("alice", 2, undefined);
    assert.notEqual(first.nextCursor, "");
    const second = await graph.listFollowing("alice", 2, first.nextCursor);
    assert.deepEqual(second.usernames, ["user002", "user003"]);
    assert.equal(second.nextCursor, "");
  });

  it("returns an empty page with no cursor for a user who follows nobody", async (t) => {
    const { graph } = await setup(t);
    assert.deepEqual(await graph.listFollowing("alice", undefined, undefined), {
      usernames: [],
      nextCursor: "",
    });
    assert.deepEqual(await graph.listFollowers("zed", 5, ""), { usernames: [], nextCursor: "" });
  });

  it("never overlaps or skips entries present throughout, while follows change between pages", async (t) => {
    // Interleaved names, so the changes land before and after the cursor.
    const all = names("user", 24);
    const stable = all.filter((_, i) => i % 2 === 0);
    const churn = all.filter((_, i) => i % 2 === 1);
    const { graph, token, another } = await setup(t, ["alice", ...stable, ...churn]);
    const other = await another();
    for (const f of stable) await graph.follow(token("alice"), f);
    const seen: string[] = [];
    let cursor: string | undefined;
    let i = 0;
    do {
      const page = await graph.listFollowing("alice", 3, cursor);
      seen.push(...page.usernames);
      cursor = page.nextCursor;
      // Between page reads, follow and unfollow other users on both sides of the cursor,
      // on this backend and another.
      await (i % 2 ? graph : other.graph).follow(token("alice"), churn[i % churn.length]!);
      await (i % 2 ? other.graph : graph).unfollow(token("alice"), churn[(i + 5) % churn.length]!);
      i++;
    } while (cursor !== "" && i < 100);
    assert.equal(new Set(seen).size, seen.length, "a user appeared twice");
    assert.deepEqual(
      seen.filter((u) => stable.includes(u)),
      stable,
    );
    assert.deepEqual([...seen].sort(), seen, "pages are in name order");
  });

  it("uses the default page size when no limit is given", async (t) => {
    const followees = names("user", 21);
    const { graph, token } = await setup(t, ["alice", ...followees]);
    for (const f of followees) await graph.follow(token("alice"), f);
    const page = await graph.listFollowing("alice", undefined, undefined);
    assert.equal(page.usernames.length, 20);
    assert.notEqual(page.nextCursor, "");
  });

  it("rejects a malformed cursor, a bad limit and a bad user with INVALID_ARGUMENT", async (t) => {
    const { graph } = await setup(t);
    await assert.rejects(graph.listFollowing("alice", 10, "!!!"), INVALID);
    await assert.rejects(graph.listFollowing("alice", 10, "bm90IGEgY3Vyc29y"), INVALID);
    await assert.rejects(graph.listFollowers("alice", 10, encodeCursor("Not A Name!")), INVALID);
    await assert.rejects(graph.listFollowers("alice", 101, undefined), INVALID);
    await assert.rejects(graph.listFollowers("alice", -1, undefined), INVALID);
    await assert.rejects(graph.listFollowers("a", 10, undefined), INVALID);
  });
});
