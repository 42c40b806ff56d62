import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { check, type FinalState } from "./checker.js";
import type { Op, PostView } from "./history.js";
import { parseChaosOptions } from "./options.js";
import { runChaos } from "./run.js";
import { unavailabilityWindows } from "./windows.js";

// ---- hand-made histories for the checker -------------------------------------------------

let nextId = 1;
type OpSpec = Partial<Op> & Pick<Op, "type" | "user">;
const op = (spec: OpSpec): Op => ({
  id: nextId++,
  process: 0,
  invokedAt: 0,
  completedAt: 1,
  outcome: "ok",
  status: spec.outcome === "failed" ? 400 : spec.outcome === "unknown" ? 0 : 200,
  ...spec,
});
const post = (id: string, author: string, text: string): PostView => ({
  id,
  author,
  text,
  createdAt: "2026-01-01T00:00:00.000Z",
});

/**
 * alice and bob sign up; bob follows alice (t 10–11); alice posts p1 (t 20–21); carol
 * signs up and follows nobody. The final state below matches it exactly.
 */
function baseline(): { ops: Op[]; state: FinalState } {
  const ops = [
    op({ type: "signup", user: "alice", password: "alice-pw-1" }),
    op({ type: "signup", user: "bob", password: "bob-pw-1" }),
    op({ type: "signup", user: "carol", password: "carol-pw-1" }),
    op({ type: "login", user: "bob", token: "tok-bob", invokedAt: 2, completedAt: 3 }),
    op({ type: "follow", user: "bob", target: "alice", invokedAt: 10, completedAt: 11 }),
    op({ type: "post", user: "alice", text: "alice #1", invokedAt: 20, completedAt: 21, postId: "p1" }),
  ];
  const p1 = post("p1", "alice", "alice #1");
  const state: FinalState = {
    exists: new Map([
      ["alice", true],
      ["bob", true],
      ["carol", true],
    ]),
    posts: new Map([
      ["alice", [p1]],
      ["bob", []],
      ["carol", []],
    ]),
    following: new Map([
      ["alice", []],
      ["bob", ["alice"]],
      ["carol", []],
    ]),
    feeds: new Map([
      ["bob", [p1]],
      ["carol", []],
    ]),
    logins: new Map([
      ["alice", 201],
      ["bob", 201],
      ["carol", 201],
    ]),
    sessions: new Map([["tok-bob", 200]]),
    resignups: new Map([
      ["alice", 409],
      ["bob", 409],
      ["carol", 409],
    ]),
  };
  return { ops, state };
}

const kinds = (ops: Op[], state: FinalState) => check(ops, state).violations.map((v) => v.kind);

describe("chaos checker on hand-made histories", () => {
  it("passes a history the final state matches, and counts what it checked", () => {
    const { ops, state } = baseline();
    const result = check(ops, state);
    assert.deepEqual(result.violations, []);
    assert.equal(result.stats.postsAcknowledged, 1);
    assert.equal(result.stats.feedEntriesExpected, 1);
    assert.equal(result.stats.followPairsChecked, 1);
  });

  it("catches an acknowledged post that is gone", () => {
    const { ops, state } = baseline();
    state.posts.set("alice", []);
    state.feeds.set("bob", []);
    assert.deepEqual(kinds(ops, state).sort(), ["feed-missing", "lost-post"]);
  });

  it("catches an acknowledged post missing from a continuous follower's feed", () => {
    const { ops, state } = baseline();
    state.feeds.set("bob", []);
    assert.deepEqual(kinds(ops, state), ["feed-missing"]);
  });

  it("catches a post stored twice, and a post twice in a feed", () => {
    const { ops, state } = baseline();
    state.posts.set("alice", [post("p2", "alice", "alice #1"), post("p1", "alice", "alice #1")]);
    assert.deepEqual(kinds(ops, state), ["duplicate-post"]);

    const again = baseline();
    const p1 = again.state.posts.get("alice")![0]!;
    again.state.feeds.set("bob", [p1, p1]);
    assert.deepEqual(kinds(again.ops, again.state), ["duplicate-post"]);
  });

  it("catches a post in the feed of someone who does not follow its author", () => {
    const { ops, state } = baseline();
    state.feeds.set("carol", [post("p1", "alice", "alice #1")]);
    assert.deepEqual(kinds(ops, state), ["feed-unfollowed"]);
  });

  it("catches a follow pair that does not end in the state of its last acknowledged op", () => {
    const { ops, state } = baseline();
    ops.push(op({ type: "unfollow", user: "bob", target: "alice", invokedAt: 30, completedAt: 31 }));
    // The unfollow was acknowledged, yet bob still follows alice (and sees her post).
    assert.deepEqual(kinds(ops, state), ["follow-state"]);

    const lost = baseline();
    lost.state.following.set("bob", []);
    lost.state.feeds.set("bob", []);
    assert.deepEqual(kinds(lost.ops, lost.state).sort(), ["feed-missing", "follow-state"]);
  });

  it("catches a follow nobody made", () => {
    const { ops, state } = baseline();
    state.following.set("carol", ["bob"]);
    assert.deepEqual(kinds(ops, state), ["follow-state"]);
  });

  it("catches a refused (4xx) post that was stored anyway", () => {
    const { ops, state } = baseline();
    ops.push(
      op({
        type: "post",
        user: "alice",
        text: "alice #2",
        outcome: "failed",
        invokedAt: 40,
        completedAt: 41,
      }),
    );
    state.posts.set("alice", [post("p9", "alice", "alice #2"), ...state.posts.get("alice")!]);
    state.feeds.set("bob", [post("p9", "alice", "alice #2"), ...state.feeds.get("bob")!]);
    assert.deepEqual(kinds(ops, state), ["refused-write-applied"]);
  });

  it("catches lost accounts, reused names, lost sessions and ignored logouts", () => {
    const { ops, state } = baseline();
    state.logins.set("carol", 401);
    state.resignups.set("alice", 201);
    state.sessions.set("tok-bob", 401);
    ops.push(op({ type: "login", user: "alice", token: "tok-alice", invokedAt: 50, completedAt: 51 }));
    ops.push(op({ type: "logout", user: "alice", token: "tok-alice", invokedAt: 52, completedAt: 53 }));
    state.sessions.set("tok-alice", 200);
    assert.deepEqual(kinds(ops, state).sort(), [
      "account-lost",
      "logout-ignored",
      "session-lost",
      "username-twice",
    ]);
  });

  it("catches a live session refused during the run, even by its own logout", () => {
    const { ops, state } = baseline();
    ops.push(
      op({
        type: "logout",
        user: "bob",
        token: "tok-bob",
        outcome: "failed",
        status: 401,
        invokedAt: 60,
        completedAt: 61,
      }),
    );
    state.sessions.set("tok-bob", 401);
    assert.deepEqual(kinds(ops, state), ["session-lost"]);

    // A second logout after an acknowledged one may well be refused.
    const twice = baseline();
    twice.ops.push(op({ type: "logout", user: "bob", token: "tok-bob", invokedAt: 60, completedAt: 61 }));
    twice.ops.push(
      op({
        type: "logout",
        user: "bob",
        token: "tok-bob",
        outcome: "failed",
        status: 401,
        invokedAt: 62,
        completedAt: 63,
      }),
    );
    twice.state.sessions.set("tok-bob", 401);
    assert.deepEqual(kinds(twice.ops, twice.state), []);
  });

  it("catches two acknowledged signups of one name", () => {
    const { ops, state } = baseline();
    ops.push(op({ type: "signup", user: "carol", password: "other-pw-2", invokedAt: 5, completedAt: 6 }));
    assert.deepEqual(kinds(ops, state), ["username-twice"]);
  });

  it("does not flag operations whose outcome is unknown, whichever way they went", () => {
    for (const applied of [false, true]) {
      const { ops, state } = baseline();
      // An unknown post: stored or not, both are fine (but never twice).
      ops.push(
        op({
          type: "post",
          user: "alice",
          text: "alice #3",
          outcome: "unknown",
          invokedAt: 60,
          completedAt: 68,
        }),
      );
      // An unknown unfollow after the follow: bob may or may not follow alice at the end,
      // and a later post may be missing from his feed.
      ops.push(
        op({
          type: "unfollow",
          user: "bob",
          target: "alice",
          outcome: "unknown",
          invokedAt: 70,
          completedAt: 78,
        }),
      );
      ops.push(
        op({ type: "post", user: "alice", text: "alice #4", invokedAt: 80, completedAt: 81, postId: "p4" }),
      );
      // An unknown signup, an unknown follow of it, an unknown logout and an unknown login.
      ops.push(
        op({
          type: "signup",
          user: "dave",
          password: "dave-pw-1",
          outcome: "unknown",
          invokedAt: 90,
          completedAt: 98,
        }),
      );
      ops.push(
        op({
          type: "follow",
          user: "carol",
          target: "dave",
          outcome: "unknown",
          invokedAt: 99,
          completedAt: 108,
        }),
      );
      ops.push(
        op({
          type: "logout",
          user: "bob",
          token: "tok-bob",
          outcome: "unknown",
          invokedAt: 110,
          completedAt: 118,
        }),
      );
      ops.push(op({ type: "login", user: "carol", outcome: "unknown", invokedAt: 120, completedAt: 128 }));

      const p1 = post("p1", "alice", "alice #1");
      const p3 = post("p3", "alice", "alice #3");
      const p4 = post("p4", "alice", "alice #4");
      state.posts.set("alice", applied ? [p4, p3, p1] : [p4, p1]);
      state.following.set("bob", applied ? [] : ["alice"]);
      state.feeds.set("bob", applied ? [] : [p4, p1]);
      state.exists.set("dave", applied);
      if (applied) {
        state.posts.set("dave", []);
        state.following.set("dave", []);
        state.following.set("carol", ["dave"]);
      }
      state.sessions.set("tok-bob", applied ? 401 : 200);
      const result = check(ops, state);
      assert.deepEqual(result.violations, [], `applied=${applied}`);
      assert.equal(result.stats.postsUnknown, 1);
      assert.ok(result.stats.followPairsUndecided >= 1);
    }
  });

  it("flags an unknown post stored twice: a request applies at most once", () => {
    const { ops, state } = baseline();
    ops.push(
      op({
        type: "post",
        user: "alice",
        text: "alice #5",
        outcome: "unknown",
        invokedAt: 60,
        completedAt: 68,
      }),
    );
    state.posts.set("alice", [
      post("p6", "alice", "alice #5"),
      post("p5", "alice", "alice #5"),
      ...state.posts.get("alice")!,
    ]);
    assert.deepEqual(kinds(ops, state), ["duplicate-post"]);
  });

  it("judges a pair again once an unknown op is long settled and a later op was acknowledged", () => {
    const { ops, state } = baseline();
    ops.push(
      op({
        type: "unfollow",
        user: "bob",
        target: "alice",
        outcome: "unknown",
        invokedAt: 12,
        completedAt: 13,
      }),
    );
    ops.push(op({ type: "follow", user: "bob", target: "alice", invokedAt: 20_000, completedAt: 20_001 }));
    ops.push(
      op({
        type: "post",
        user: "alice",
        text: "alice #7",
        invokedAt: 30_000,
        completedAt: 30_001,
        postId: "p7",
      }),
    );
    state.posts.set("alice", [post("p7", "alice", "alice #7"), ...state.posts.get("alice")!]);
    // bob's feed lacks p7 although he followed alice throughout: caught.
    assert.deepEqual(kinds(ops, state), ["feed-missing"]);
  });
});

describe("chaos unavailability windows and options", () => {
  it("measures from the fault to the first acknowledged write requested after it", () => {
    const ops = [
      op({ type: "post", user: "a", text: "1", invokedAt: 90, completedAt: 150 }),
      op({ type: "feed", user: "a", invokedAt: 110, completedAt: 120 }),
      op({ type: "post", user: "a", text: "2", outcome: "unknown", invokedAt: 105, completedAt: 300 }),
      op({ type: "follow", user: "a", target: "b", invokedAt: 200, completedAt: 2_100 }),
    ];
    const [w] = unavailabilityWindows(
      [{ kind: "etcd-leader-kill", target: "etcd0", at: 100, healedAt: 500, wallClock: "" }],
      ops,
    );
    assert.equal(w!.unavailableMs, 2_000);
  });

  it("parses the few flags it has, and refuses others", () => {
    const short = parseChaosOptions(["--short", "--seed", "5"], {});
    assert.equal(short.short, true);
    assert.equal(short.seed, 5);
    assert.ok(short.durationMs < 60_000);
    assert.equal(parseChaosOptions([], { CHAOS_DURATION_S: "30" }).durationMs, 30_000);
    assert.throws(() => parseChaosOptions(["--duration", "soon"], {}));
    assert.throws(() => parseChaosOptions(["--nope"], {}));
  });
});

// ---- the short chaos run on the real topology ---------------------------------------------

describe("chaos run (short): real processes, real faults", { timeout: 300_000 }, () => {
  it("injects every kind of fault, writes resume after each, and the checker finds 0 violations", async () => {
    const seed = process.env.CHAOS_SEED
      ? Number(process.env.CHAOS_SEED)
      : Math.floor(Math.random() * 2 ** 31);
    const lines: string[] = [];
    const summary = await runChaos(
      { short: true, seed, durationMs: 35_000, concurrency: 10, keepData: false },
      { print: (line) => lines.push(line) },
    );
    const context = `seed ${seed}, data ${summary.dataDir}\n${lines.join("\n")}`;
    assert.equal(summary.error, undefined, context);
    assert.deepEqual(summary.violations, [], context);
    const kinds = new Set(summary.faults.map((f) => f.kind));
    for (const kind of ["etcd-leader-kill", "etcd-leader-pause", "replicas-kill", "full-restart"]) {
      assert.ok(kinds.has(kind), `${kind} injected\n${context}`);
    }
    for (const fault of summary.faults) {
      assert.notEqual(fault.unavailableMs, null, `writes resumed after ${fault.kind}\n${context}`);
    }
    assert.ok(summary.ops.post.ok > 20, `posts were acknowledged\n${context}`);
    assert.ok((summary.checked?.feedEntriesExpected ?? 0) > 0, `feeds were checked\n${context}`);
  });
});
