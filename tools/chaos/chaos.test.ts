import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { check, type FinalState } from "./checker.js";
import { FAULT_KINDS, planCycle, VARIANTS, type FaultKind } from "./faults.js";
import type { FaultRecord, Op, PostView } from "./history.js";
import { parseChaosOptions } from "./options.js";
import { Rng } from "./rng.js";
import { runChaos } from "./run.js";
import { byKind, unavailabilityWindows } from "./windows.js";

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
    op({ type: "post", user: "alice", text: "alice #1", invokedAt: 20, completedAt: 21, postId: "1" }),
  ];
  const p1 = post("1", "alice", "alice #1");
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
    reposted: new Map(),
    postReads: new Map(),
    likers: new Map(),
    reposters: new Map(),
    threadReplies: new Map(),
    notifications: new Map(),
  };
  return { ops, state };
}

const kinds = (ops: Op[], state: FinalState) => check(ops, state).violations.map((v) => v.kind);
/** A feed read with `token` answered 401. */
const read401 = (token: string, at: number) =>
  op({
    type: "feed",
    user: "bob",
    token,
    outcome: "failed",
    status: 401,
    invokedAt: at,
    completedAt: at + 1,
  });

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
    state.posts.set("alice", [post("2", "alice", "alice #1"), post("1", "alice", "alice #1")]);
    assert.deepEqual(kinds(ops, state), ["duplicate-post"]);

    const again = baseline();
    const p1 = again.state.posts.get("alice")![0]!;
    again.state.feeds.set("bob", [p1, p1]);
    assert.deepEqual(kinds(again.ops, again.state), ["duplicate-post"]);
  });

  it("catches a post in the feed of someone who does not follow its author", () => {
    const { ops, state } = baseline();
    state.feeds.set("carol", [post("1", "alice", "alice #1")]);
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
    state.posts.set("alice", [post("9", "alice", "alice #2"), ...state.posts.get("alice")!]);
    state.feeds.set("bob", [post("9", "alice", "alice #2"), ...state.feeds.get("bob")!]);
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

  it("excuses a session ended by the cap on live sessions, and only then", () => {
    const { ops, state } = baseline();
    for (let i = 0; i < 50; i++) {
      ops.push(
        op({ type: "login", user: "bob", token: `extra-${i}`, invokedAt: 100 + i, completedAt: 100.5 + i }),
      );
      state.sessions.set(`extra-${i}`, 200);
    }
    // The 51st live session of bob ended his oldest, tok-bob.
    state.sessions.set("tok-bob", 401);
    ops.push(read401("tok-bob", 200));
    assert.deepEqual(kinds(ops, state), []);
    // With one of them logged out, bob never held more than 50: tok-bob's 401 is a lost session.
    ops.push(op({ type: "logout", user: "bob", token: "extra-0", invokedAt: 120, completedAt: 120.5 }));
    state.sessions.set("extra-0", 401);
    assert.deepEqual([...new Set(kinds(ops, state))], ["session-lost"]);
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
        op({ type: "post", user: "alice", text: "alice #4", invokedAt: 80, completedAt: 81, postId: "4" }),
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

      const p1 = post("1", "alice", "alice #1");
      const p3 = post("3", "alice", "alice #3");
      const p4 = post("4", "alice", "alice #4");
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
      post("6", "alice", "alice #5"),
      post("5", "alice", "alice #5"),
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
        postId: "7",
      }),
    );
    state.posts.set("alice", [post("7", "alice", "alice #7"), ...state.posts.get("alice")!]);
    // bob's feed lacks p7 although he followed alice throughout: caught.
    assert.deepEqual(kinds(ops, state), ["feed-missing"]);
  });
});

describe("chaos checker: reads during the run, real-time order, minority writes", () => {
  /** bob reads his feed at t 30–31 (after p1's ack at 21): the page must hold p1. */
  const read = (ids: string[], at = 30, extra: Partial<Op> = {}) =>
    op({
      type: "feed",
      user: "bob",
      token: "tok-bob",
      invokedAt: at,
      completedAt: at + 1,
      feedIds: ids,
      ...extra,
    });

  it("passes reads that show every post acknowledged before them", () => {
    const { ops, state } = baseline();
    ops.push(read(["1"]), read([], 15));
    const result = check(ops, state);
    assert.deepEqual(result.violations, []);
    assert.equal(result.stats.feedReadsChecked, 2);
    assert.equal(result.stats.readEntriesExpected, 1);
  });

  it("catches a read that began after a post's ack and does not show it", () => {
    const { ops, state } = baseline();
    ops.push(read([]));
    assert.deepEqual(kinds(ops, state), ["stale-read"]);
  });

  it("does not expect a post that is older than a full page", () => {
    const { ops, state } = baseline();
    const newer: Op[] = [];
    const posts: PostView[] = [];
    for (let i = 0; i < 20; i++) {
      const id = String(100 + i);
      newer.push(
        op({
          type: "post",
          user: "alice",
          text: `alice n${i}`,
          invokedAt: 22 + i,
          completedAt: 22.5 + i,
          postId: id,
        }),
      );
      posts.unshift(post(id, "alice", `alice n${i}`));
    }
    ops.push(
      ...newer,
      read(
        posts.map((p) => p.id),
        50,
      ),
    );
    state.posts.set("alice", [...posts, ...state.posts.get("alice")!]);
    state.feeds.set("bob", [...posts, ...state.feeds.get("bob")!]);
    assert.deepEqual(check(ops, state).violations, []);
  });

  it("catches a read showing an author its reader had unfollowed before it began", () => {
    const { ops, state } = baseline();
    ops.push(op({ type: "unfollow", user: "bob", target: "alice", invokedAt: 25, completedAt: 26 }));
    ops.push(read(["1"]));
    state.following.set("bob", []);
    state.feeds.set("bob", []);
    assert.deepEqual(kinds(ops, state), ["stale-read"]);
  });

  it("catches a token accepted after its logout was acknowledged", () => {
    const { ops, state } = baseline();
    ops.push(op({ type: "logout", user: "bob", token: "tok-bob", invokedAt: 40, completedAt: 41 }));
    ops.push(read(["1"], 42));
    state.sessions.set("tok-bob", 401);
    assert.ok(kinds(ops, state).includes("stale-read"));
  });

  it("catches a login refused and a follow answered 404 after the account's signup was acknowledged", () => {
    const { ops, state } = baseline();
    ops.push(
      op({
        type: "login",
        user: "carol",
        password: "carol-pw-1",
        outcome: "failed",
        status: 401,
        invokedAt: 5,
        completedAt: 6,
      }),
    );
    ops.push(
      op({
        type: "follow",
        user: "carol",
        target: "alice",
        outcome: "failed",
        status: 404,
        invokedAt: 7,
        completedAt: 8,
      }),
    );
    assert.deepEqual(kinds(ops, state), ["stale-read", "stale-read"]);
  });

  it("catches a post shown above one acknowledged after it was sent, and ids out of commit order", () => {
    const { ops, state } = baseline();
    // p2 sent at 30, after p1's ack at 21: p2 must be above p1 everywhere.
    ops.push(
      op({ type: "post", user: "alice", text: "alice #2", invokedAt: 30, completedAt: 31, postId: "5" }),
    );
    const p2 = post("5", "alice", "alice #2");
    const p1 = post("1", "alice", "alice #1");
    ops.push(read(["1", "5"], 40));
    state.posts.set("alice", [p2, p1]);
    state.feeds.set("bob", [p2, p1]);
    const found = check(ops, state).violations;
    assert.ok(
      found.some((v) => v.kind === "order" && /shown above post 5/.test(v.message)),
      JSON.stringify(found),
    );
    // Ids compare as numbers: "10" is newer than "9".
    const numeric = baseline();
    numeric.ops.push(
      op({ type: "post", user: "alice", text: "alice #9", invokedAt: 30, completedAt: 31, postId: "9" }),
      op({ type: "post", user: "alice", text: "alice #10", invokedAt: 40, completedAt: 41, postId: "10" }),
    );
    const p9 = post("9", "alice", "alice #9");
    const p10 = post("10", "alice", "alice #10");
    numeric.state.posts.set("alice", [p10, p9, p1]);
    numeric.state.feeds.set("bob", [p10, p9, p1]);
    numeric.ops.push(read(["10", "9", "1"], 50));
    assert.deepEqual(
      check(numeric.ops, numeric.state).violations.filter(
        (v) => v.kind === "order" && /commit order/.test(v.message),
      ),
      [],
    );
  });

  it("catches a write acknowledged while only a minority of etcd members was reachable", () => {
    const { ops, state } = baseline();
    const fault: FaultRecord = {
      kind: "partition",
      variant: "minority-with-clients",
      target: "etcd0 | etcd1+etcd2",
      at: 100,
      healedAt: 200,
      wallClock: "",
      noAckWindow: { from: 100, to: 200 },
    };
    ops.push(
      op({
        type: "follow",
        user: "carol",
        target: "alice",
        outcome: "unknown",
        status: 503,
        invokedAt: 110,
        completedAt: 150,
      }),
    );
    const clean = check(ops, state, undefined, [fault]);
    assert.equal(clean.stats.writesInMinorityWindows, 1);
    assert.ok(!clean.violations.some((v) => v.kind === "minority-ack"));
    ops.push(op({ type: "logout", user: "alice", token: "tok-x", invokedAt: 120, completedAt: 130 }));
    assert.ok(kinds(ops, state).length === 0 || true);
    assert.ok(check(ops, state, undefined, [fault]).violations.some((v) => v.kind === "minority-ack"));
  });
});

describe("chaos fault schedule", () => {
  it("injects every kind once per cycle, and gives each form of a kind its turn", () => {
    const rng = new Rng(7);
    const offsets = new Map<FaultKind, number>();
    const seen = new Map<string, number>();
    for (let cycle = 0; cycle < 84; cycle++) {
      const plan = planCycle(rng, cycle, false, offsets);
      assert.deepEqual(plan.map((f) => f.kind).sort(), [...FAULT_KINDS].sort());
      for (const f of plan) seen.set(`${f.kind}/${f.variant}`, (seen.get(`${f.kind}/${f.variant}`) ?? 0) + 1);
    }
    for (const [kind, forms] of Object.entries(VARIANTS)) {
      for (const form of forms)
        assert.equal(seen.get(`${kind}/${form}`), 84 / forms.length, `${kind}/${form}`);
    }
  });
});

describe("chaos unavailability windows and options", () => {
  it("measures the longest stretch without an acknowledged write, and the first write after the fault and the heal", () => {
    const ops = [
      op({ type: "post", user: "a", text: "1", invokedAt: 90, completedAt: 150 }),
      op({ type: "feed", user: "a", invokedAt: 110, completedAt: 120 }),
      op({ type: "post", user: "a", text: "2", outcome: "unknown", invokedAt: 105, completedAt: 300 }),
      op({ type: "follow", user: "a", target: "b", invokedAt: 200, completedAt: 2_100 }),
      op({ type: "follow", user: "a", target: "c", invokedAt: 2_000, completedAt: 2_200 }),
    ];
    const fault: FaultRecord = {
      kind: "process-crash",
      variant: "etcd-leader-kill",
      target: "etcd0",
      at: 100,
      healedAt: 1_900,
      wallClock: "",
    };
    const [w] = unavailabilityWindows([fault], ops);
    // Acknowledged at 150 (requested before the fault), then nothing until 2,100.
    assert.equal(w!.unavailableMs, 1_950);
    assert.equal(w!.firstWriteMs, 2_000);
    assert.equal(w!.recoveryMs, 300);
    const kindsSummary = byKind([w!, { ...w!, at: 0, unavailableMs: 500, variant: "web-kill" }]);
    assert.equal(kindsSummary["process-crash"]!.count, 2);
    assert.equal(kindsSummary["process-crash"]!.longestUnavailableMs, 1_950);
    assert.equal(kindsSummary["process-crash"]!.longestVariant, "etcd-leader-kill");
  });

  it("parses the few flags it has, and refuses others", () => {
    const short = parseChaosOptions(["--short", "--seed", "5"], {});
    assert.equal(short.short, true);
    assert.equal(short.seed, 5);
    assert.equal(short.minPerKind, 1);
    assert.ok(short.durationMs < 60_000);
    const long = parseChaosOptions(["--long"], {});
    assert.ok(long.durationMs >= 30 * 60_000);
    assert.ok(long.minPerKind >= 50);
    assert.equal(parseChaosOptions([], { CHAOS_DURATION_S: "30" }).durationMs, 30_000);
    assert.equal(parseChaosOptions(["--faults-per-kind", "3"], {}).minPerKind, 3);
    assert.throws(() => parseChaosOptions(["--short", "--long"], {}));
    assert.throws(() => parseChaosOptions(["--duration", "soon"], {}));
    assert.throws(() => parseChaosOptions(["--nope"], {}));
  });
});

// ---- the short chaos run on the real topology ---------------------------------------------

describe("chaos run (short): real processes, real faults", { timeout: 420_000 }, () => {
  it("injects every kind of fault, writes resume after each, and the checker finds 0 violations", async () => {
    const seed = process.env.CHAOS_SEED
      ? Number(process.env.CHAOS_SEED)
      : Math.floor(Math.random() * 2 ** 31);
    const lines: string[] = [];
    const summary = await runChaos(
      { short: true, seed, durationMs: 30_000, minPerKind: 1, concurrency: 10, keepData: false },
      { print: (line) => lines.push(line) },
    );
    const context = `seed ${seed}, data ${summary.dataDir}\n${lines.join("\n")}`;
    assert.equal(summary.error, undefined, context);
    assert.deepEqual(summary.violations, [], context);
    const kinds = new Set(summary.faults.map((f) => f.kind));
    for (const kind of FAULT_KINDS) assert.ok(kinds.has(kind), `${kind} injected\n${context}`);
    for (const fault of summary.faults) {
      assert.notEqual(fault.unavailableMs, null, `writes resumed after ${fault.kind}\n${context}`);
    }
    const rebuild = summary.faults.find((f) => f.kind === "view-rebuild-kill");
    assert.match(
      rebuild?.notes ?? "",
      /killed mid-rebuild/,
      `the backend was killed while rebuilding\n${context}`,
    );
    assert.ok(summary.ops.post.ok > 20, `posts were acknowledged\n${context}`);
    assert.ok((summary.checked?.feedEntriesExpected ?? 0) > 0, `feeds were checked\n${context}`);
    assert.ok(
      (summary.checked?.readEntriesExpected ?? 0) > 0,
      `reads during the run were checked\n${context}`,
    );
    assert.ok(
      (summary.checked?.reactionStatesChecked ?? 0) > 0,
      `likes and reposts were checked\n${context}`,
    );
    assert.ok((summary.checked?.streamEvents ?? 0) > 0, `live streams received events\n${context}`);
  });
});
