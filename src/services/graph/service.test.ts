import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { encodeCursor } from "../../shared/cursor.js";
import type { AccountDirectory, Authenticator, FeedSync } from "../deps.js";
import { FlockError, unauthenticated } from "../../shared/errors.js";
import { GraphService } from "./service.js";
import { MemoryGraphStorage } from "./storage/memory.js";

const flockError = (code: status) => (err: unknown) => {
  assert.ok(err instanceof FlockError, `expected a FlockError, got ${String(err)}`);
  assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code]}: ${err.message}`);
  return true;
};
const INVALID = flockError(status.INVALID_ARGUMENT);

/** Tokens are "token:<username>" for registered users; anything else is refused. */
class FakeAccounts implements Authenticator, AccountDirectory {
  readonly users = new Set<string>();
  async authenticate(token: string): Promise<string> {
    const user = token.startsWith("token:") ? token.slice("token:".length) : "";
    if (!this.users.has(user)) throw unauthenticated();
    return user;
  }
  async exists(username: string): Promise<boolean> {
    return this.users.has(username);
  }
}

/** Records each sync together with whether the follow was stored at that moment. */
class RecordingFeedSync implements FeedSync {
  readonly calls: { reader: string; author: string; followingAtCall: boolean }[] = [];
  constructor(private readonly storage: MemoryGraphStorage) {}
  async syncFeedWithFollow(reader: string, author: string): Promise<void> {
    this.calls.push({ reader, author, followingAtCall: await this.storage.isFollowing(reader, author) });
  }
}

function setup(users: string[] = ["alice", "bob", "carol"]) {
  const storage = new MemoryGraphStorage();
  const accounts = new FakeAccounts();
  for (const u of users) accounts.users.add(u);
  const feed = new RecordingFeedSync(storage);
  const graph = new GraphService(storage, { auth: accounts, accounts, feed });
  const token = (user: string) => `token:${user}`;
  return { storage, accounts, feed, graph, token };
}

const names = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, "0")}`);

describe("GraphService.follow / unfollow", () => {
  it("follow stores the fact from both ends", async () => {
    const { graph, storage, token } = setup();
    await graph.follow(token("alice"), "bob");
    assert.equal(await storage.isFollowing("alice", "bob"), true);
    assert.equal(await storage.isFollowing("bob", "alice"), false);
    assert.deepEqual(await storage.listFollowers("bob", undefined, 10), ["alice"]);
    assert.deepEqual(await storage.listFollowing("alice", undefined, 10), ["bob"]);
  });

  it("follow case-folds the target", async () => {
    const { graph, storage, token } = setup();
    await graph.follow(token("alice"), "BOB");
    assert.equal(await storage.isFollowing("alice", "bob"), true);
  });

  it("follow is idempotent", async () => {
    const { graph, token } = setup();
    await graph.follow(token("alice"), "bob");
    await graph.follow(token("alice"), "bob");
    assert.deepEqual(await graph.counts("bob"), { followers: 1, following: 0 });
    assert.deepEqual(await graph.counts("alice"), { followers: 0, following: 1 });
  });

  it("unfollow removes the fact and is idempotent, also when never followed", async () => {
    const { graph, storage, token } = setup();
    await graph.follow(token("alice"), "bob");
    await graph.unfollow(token("alice"), "bob");
    await graph.unfollow(token("alice"), "bob");
    await graph.unfollow(token("alice"), "carol");
    assert.equal(await storage.isFollowing("alice", "bob"), false);
    assert.deepEqual(await graph.counts("bob"), { followers: 0, following: 0 });
  });

  it("refuses following or unfollowing yourself with INVALID_ARGUMENT, whatever the case", async () => {
    const { graph, storage, feed, token } = setup();
    await assert.rejects(graph.follow(token("alice"), "alice"), INVALID);
    await assert.rejects(graph.follow(token("alice"), "ALICE"), INVALID);
    await assert.rejects(graph.unfollow(token("alice"), "alice"), INVALID);
    assert.equal(await storage.isFollowing("alice", "alice"), false);
    assert.equal(feed.calls.length, 0);
  });

  it("refuses an unknown user with NOT_FOUND and stores nothing", async () => {
    const { graph, storage, feed, token } = setup();
    await assert.rejects(graph.follow(token("alice"), "nobody"), flockError(status.NOT_FOUND));
    assert.equal(await storage.countFollowing("alice"), 0);
    assert.equal(await storage.countFollowers("nobody"), 0);
    assert.equal(feed.calls.length, 0);
  });

  it("refuses a malformed target name with INVALID_ARGUMENT", async () => {
    const { graph, storage, token } = setup();
    for (const bad of ["", "b", "bob!", "b o b", undefined, 7]) {
      await assert.rejects(graph.follow(token("alice"), bad), INVALID, String(bad));
      await assert.rejects(graph.unfollow(token("alice"), bad), INVALID, String(bad));
    }
    assert.equal(await storage.countFollowing("alice"), 0);
  });

  it("refuses a bad token with UNAUTHENTICATED and stores nothing", async () => {
    const { graph, storage, feed } = setup();
    await storage.follow("alice", "carol");
    await assert.rejects(graph.follow("token:nobody", "bob"), flockError(status.UNAUTHENTICATED));
    await assert.rejects(graph.follow("", "bob"), flockError(status.UNAUTHENTICATED));
    await assert.rejects(graph.unfollow("forged", "carol"), flockError(status.UNAUTHENTICATED));
    assert.equal(await storage.countFollowers("bob"), 0);
    assert.equal(await storage.isFollowing("alice", "carol"), true);
    assert.equal(feed.calls.length, 0);
  });

  it("acts for the user behind the token, not anyone else", async () => {
    const { graph, storage, token } = setup();
    await graph.follow(token("carol"), "bob");
    assert.deepEqual(await storage.listFollowers("bob", undefined, 10), ["carol"]);
  });
});

describe("GraphService feed sync", () => {
  it("syncs the reader's feed after the follow is stored", async () => {
    const { graph, feed, token } = setup();
    await graph.follow(token("alice"), "Bob");
    assert.deepEqual(feed.calls, [{ reader: "alice", author: "bob", followingAtCall: true }]);
  });

  it("syncs the reader's feed after the unfollow is stored", async () => {
    const { graph, feed, token } = setup();
    await graph.follow(token("alice"), "bob");
    await graph.unfollow(token("alice"), "bob");
    assert.deepEqual(feed.calls[1], { reader: "alice", author: "bob", followingAtCall: false });
  });

  it("syncs on repeated calls too, so a retry can repair a missed sync", async () => {
    const { graph, feed, token } = setup();
    await graph.follow(token("alice"), "bob");
    await graph.follow(token("alice"), "bob");
    assert.equal(feed.calls.length, 2);
  });

  it("works with a feed that does nothing", async () => {
    const storage = new MemoryGraphStorage();
    const accounts = new FakeAccounts();
    accounts.users.add("alice").add("bob");
    const feed = { syncFeedWithFollow: async () => undefined };
    const graph = new GraphService(storage, { auth: accounts, accounts, feed });
    await graph.follow("token:alice", "bob");
    assert.equal(await storage.isFollowing("alice", "bob"), true);
  });
});

describe("GraphService reads", () => {
  it("counts followers and following", async () => {
    const { graph, token } = setup(["alice", "bob", "carol", "dave"]);
    await graph.follow(token("alice"), "bob");
    await graph.follow(token("carol"), "bob");
    await graph.follow(token("dave"), "bob");
    await graph.follow(token("bob"), "alice");
    assert.deepEqual(await graph.counts("bob"), { followers: 3, following: 1 });
    assert.deepEqual(await graph.counts("ALICE"), { followers: 1, following: 1 });
    assert.deepEqual(await graph.counts("zed"), { followers: 0, following: 0 });
    await assert.rejects(graph.counts("z"), INVALID);
  });

  it("isFollowing answers for valid names, case-insensitively, and false for invalid ones", async () => {
    const { graph, token } = setup();
    await graph.follow(token("alice"), "bob");
    assert.equal(await graph.isFollowing("alice", "bob"), true);
    assert.equal(await graph.isFollowing("ALICE", "Bob"), true);
    assert.equal(await graph.isFollowing("bob", "alice"), false);
    assert.equal(await graph.isFollowing("a", "bob"), false);
  });

  it("followedAmong picks the followed candidates", async () => {
    const { graph, token } = setup();
    await graph.follow(token("alice"), "bob");
    assert.deepEqual(await graph.followedAmong("alice", ["bob", "carol", "zed"]), new Set(["bob"]));
    assert.deepEqual(await graph.followedAmong("alice", []), new Set());
  });

  it("followersPage reads followers ascending, strictly after the bound", async () => {
    const followers = names("fan", 5);
    const { graph, token } = setup(["star", ...followers]);
    for (const f of [...followers].reverse()) await graph.follow(token(f), "star");
    assert.deepEqual(await graph.followersPage("star", undefined, 2), ["fan000", "fan001"]);
    assert.deepEqual(await graph.followersPage("star", "fan001", 10), ["fan002", "fan003", "fan004"]);
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

  it("listFollowing pages through all followees without overlap or gap, ending with an empty cursor", async () => {
    const followees = names("user", 25);
    const { graph, token } = setup(["alice", ...followees]);
    for (const f of [...followees].reverse()) await graph.follow(token("alice"), f);
    const pages = await collect((cursor) => graph.listFollowing("alice", 10, cursor));
    assert.deepEqual(
      pages.map((p) => p.length),
      [10, 10, 5],
    );
    assert.deepEqual(pages.flat(), followees);
  });

  it("listFollowers pages through all followers", async () => {
    const followers = names("fan", 7);
    const { graph, token } = setup(["star", ...followers]);
    for (const f of followers) await graph.follow(token(f), "star");
    const pages = await collect((cursor) => graph.listFollowers("star", 3, cursor));
    assert.deepEqual(
      pages.map((p) => p.length),
      [3, 3, 1],
    );
    assert.deepEqual(pages.flat(), followers);
  });

  it("gives no next cursor when the last page is exactly full", async () => {
    const followees = names("user", 4);
    const { graph, token } = setup(["alice", ...followees]);
    for (const f of followees) await graph.follow(token("alice"), f);
    const first = await graph.listFollowing("alice", 2, undefined);
    assert.notEqual(first.nextCursor, "");
    const second = await graph.listFollowing("alice", 2, first.nextCursor);
    assert.deepEqual(second.usernames, ["user002", "user003"]);
    assert.equal(second.nextCursor, "");
  });

  it("returns an empty page with no cursor for a user who follows nobody", async () => {
    const { graph } = setup();
    assert.deepEqual(await graph.listFollowing("alice", undefined, undefined), {
      usernames: [],
      nextCursor: "",
    });
    assert.deepEqual(await graph.listFollowers("zed", 5, ""), { usernames: [], nextCursor: "" });
  });

  it("never overlaps or skips entries present throughout, while follows change between pages", async () => {
    // Interleaved names, so the changes land before and after the cursor.
    const all = names("user", 24);
    const stable = all.filter((_, i) => i % 2 === 0);
    const churn = all.filter((_, i) => i % 2 === 1);
    const { graph, token } = setup(["alice", ...stable, ...churn]);
    for (const f of stable) await graph.follow(token("alice"), f);
    const seen: string[] = [];
    let cursor: string | undefined;
    let i = 0;
    do {
      const page = await graph.listFollowing("alice", 3, cursor);
      seen.push(...page.usernames);
      cursor = page.nextCursor;
      // Between page reads, follow and unfollow other users on both sides of the cursor.
      await graph.follow(token("alice"), churn[i % churn.length]!);
      await graph.unfollow(token("alice"), churn[(i + 5) % churn.length]!);
      i++;
    } while (cursor !== "" && i < 100);
    assert.equal(new Set(seen).size, seen.length, "a user appeared twice");
    assert.deepEqual(
      seen.filter((u) => stable.includes(u)),
      stable,
    );
  });

  it("uses the default page size when no limit is given", async () => {
    const followees = names("user", 21);
    const { graph, token } = setup(["alice", ...followees]);
    for (const f of followees) await graph.follow(token("alice"), f);
    const page = await graph.listFollowing("alice", undefined, undefined);
    assert.equal(page.usernames.length, 20);
    assert.notEqual(page.nextCursor, "");
  });

  it("rejects a malformed cursor, a bad limit and a bad user with INVALID_ARGUMENT", async () => {
    const { graph } = setup();
    await assert.rejects(graph.listFollowing("alice", 10, "!!!"), INVALID);
    await assert.rejects(graph.listFollowing("alice", 10, "bm90IGEgY3Vyc29y"), INVALID);
    await assert.rejects(graph.listFollowers("alice", 10, encodeCursor("Not A Name!")), INVALID);
    await assert.rejects(graph.listFollowers("alice", 101, undefined), INVALID);
    await assert.rejects(graph.listFollowers("alice", -1, undefined), INVALID);
    await assert.rejects(graph.listFollowers("a", 10, undefined), INVALID);
  });
});
