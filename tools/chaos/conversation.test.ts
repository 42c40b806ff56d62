import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { check, type FinalState, type NotificationView } from "./checker.js";
import type { Op, PostView } from "./history.js";
import { ownPosts } from "./observe.js";
import type { StreamEventRecord, StreamLog } from "./streams.js";

// Hand-made histories for the conversation checks (likes, reposts, replies, deletes, blocks,
// notifications, live streams). No process is started here.

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
const post = (id: string, author: string, text: string, extra: Partial<PostView> = {}): PostView => ({
  id,
  author,
  text,
  createdAt: "2026-01-01T00:00:00.000Z",
  repostedBy: null,
  ...extra,
});
const note = (id: string, type: string, from: string, postId?: string): NotificationView => ({
  id,
  type,
  from,
  createdAt: "2026-01-01T00:00:00.000Z",
  post: postId ? post(postId, "alice", "alice #1") : undefined,
});

/**
 * alice, bob and carol sign up; bob follows alice (t 10–11) and holds a stream from t 5;
 * alice posts p1, id 20 (t 20–21); bob likes it (t 30–31); carol likes it and takes it back
 * (t 32–35); carol replies to it (t 40–41, id 40). The final state and bob's stream match.
 */
function baseline(): { ops: Op[]; state: FinalState; streams: StreamLog[] } {
  const ops = [
    op({ type: "signup", user: "alice", password: "alice-pw-1" }),
    op({ type: "signup", user: "bob", password: "bob-pw-1" }),
    op({ type: "signup", user: "carol", password: "carol-pw-1" }),
    op({ type: "follow", user: "bob", target: "alice", invokedAt: 10, completedAt: 11 }),
    op({ type: "post", user: "alice", text: "alice #1", invokedAt: 20, completedAt: 21, postId: "20" }),
    op({ type: "like", user: "bob", postId: "20", invokedAt: 30, completedAt: 31 }),
    op({ type: "like", user: "carol", postId: "20", invokedAt: 32, completedAt: 33 }),
    op({ type: "unlike", user: "carol", postId: "20", invokedAt: 34, completedAt: 35 }),
    op({
      type: "reply",
      user: "carol",
      text: "carol #1 re 20",
      inReplyTo: "20",
      inReplyToAuthor: "alice",
      invokedAt: 40,
      completedAt: 41,
      postId: "40",
    }),
  ];
  const p1 = post("20", "alice", "alice #1", { likes: 1, reposts: 0 });
  const r1 = post("40", "carol", "carol #1 re 20", { inReplyTo: "20" });
  const state: FinalState = {
    exists: new Map([
      ["alice", true],
      ["bob", true],
      ["carol", true],
    ]),
    posts: new Map([
      ["alice", [p1]],
      ["bob", []],
      ["carol", [r1]],
    ]),
    reposted: new Map([
      ["alice", []],
      ["bob", []],
      ["carol", []],
    ]),
    following: new Map([
      ["alice", []],
      ["bob", ["alice"]],
      ["carol", []],
    ]),
    feeds: new Map([["bob", [p1]]]),
    logins: new Map(),
    sessions: new Map(),
    resignups: new Map(),
    postReads: new Map([["20", { status: 200, post: p1 }]]),
    likers: new Map([["20", ["bob"]]]),
    reposters: new Map([["20", []]]),
    threadReplies: new Map(),
    notifications: new Map([
      [
        "alice",
        [note("40.1", "reply", "carol", "40"), note("30", "like", "bob", "20"), note("11", "follow", "bob")],
      ],
      ["bob", []],
      ["carol", []],
    ]),
  };
  const streams: StreamLog[] = [
    {
      reader: "bob",
      connections: [
        { openedAt: 5, lastEventId: "", status: 200, respondedAt: 6, closedAt: 25, end: "client" },
      ],
      events: [
        { id: "9.1", type: "heartbeat", data: undefined, at: 6, connection: 0 },
        { id: "20", type: "post", data: { ...p1 }, at: 21, connection: 0 },
      ],
      caughtUp: true,
    },
  ];
  return { ops, state, streams };
}

const kinds = ({ ops, state, streams }: ReturnType<typeof baseline>) =>
  check(ops, state, undefined, [], streams).violations.map((v) => v.kind);
const ev = (id: string, type: string, data: unknown, connection = 0, at = 50): StreamEventRecord => ({
  id,
  type,
  data,
  at,
  connection,
});

describe("conversation checks on hand-made histories", () => {
  it("passes a history the final state and the stream match, and counts what it checked", () => {
    const b = baseline();
    const result = check(b.ops, b.state, undefined, [], b.streams);
    assert.deepEqual(result.violations, []);
    assert.equal(result.stats.reactionPostsChecked, 1);
    assert.equal(result.stats.reactionStatesChecked, 2);
    assert.equal(result.stats.notificationsExpected, 3);
    assert.equal(result.stats.streamEventsExpected, 1);
    assert.equal(result.stats.streamEvents, 1);
    // The reply is no feed entry of bob's (he does not follow carol), nor expected there.
    assert.equal(result.stats.feedEntriesExpected, 1);
  });

  it("catches a like count that is not its list's length, and a name listed twice", () => {
    const b = baseline();
    b.state.postReads.set("20", {
      status: 200,
      post: post("20", "alice", "alice #1", { likes: 2, reposts: 0 }),
    });
    assert.deepEqual(kinds(b), ["like-count"]);
    const twice = baseline();
    twice.state.likers.set("20", ["bob", "bob"]);
    assert.ok(kinds(twice).includes("like-count"));
  });

  it("catches an acknowledged like missing, an acknowledged unlike ignored, and a like nobody made", () => {
    const b = baseline();
    b.state.likers.set("20", ["carol"]);
    // bob's like gone and carol's unlike not applied: two wrong states.
    assert.deepEqual(kinds(b), ["like-state", "like-state"]);
    const phantom = baseline();
    phantom.state.likers.set("20", ["bob", "dave"]);
    phantom.state.postReads.set("20", {
      status: 200,
      post: post("20", "alice", "x", { likes: 2, reposts: 0 }),
    });
    assert.deepEqual(kinds(phantom), ["like-state"]);
  });

  it("lets a like whose last op is unknown go either way", () => {
    for (const applied of [false, true]) {
      const b = baseline();
      b.ops.push(
        op({ type: "unlike", user: "bob", postId: "20", outcome: "unknown", invokedAt: 50, completedAt: 58 }),
      );
      if (applied) {
        b.state.likers.set("20", []);
        b.state.postReads.set("20", {
          status: 200,
          post: post("20", "alice", "x", { likes: 0, reposts: 0 }),
        });
        b.state.notifications.set(
          "alice",
          b.state.notifications
            .get("alice")!
            .slice(0, 1)
            .concat(note("11", "follow", "bob")),
        );
      }
      const result = check(b.ops, b.state, undefined, [], b.streams);
      assert.deepEqual(result.violations, [], `applied=${applied}`);
      assert.equal(result.stats.reactionStatesUndecided, 1);
    }
  });

  it("catches a repost state that differs between the lists, the reposter's page and the history", () => {
    const b = baseline();
    b.ops.push(op({ type: "repost", user: "carol", postId: "20", invokedAt: 50, completedAt: 51 }));
    b.state.reposters.set("20", ["carol"]);
    b.state.postReads.set("20", {
      status: 200,
      post: post("20", "alice", "alice #1", { likes: 1, reposts: 1 }),
    });
    b.state.notifications.get("alice")!.unshift(note("51", "repost", "carol", "20"));
    b.state.reposted.set("carol", ["20"]);
    assert.deepEqual(kinds(b), []);
    b.state.reposted.set("carol", []);
    assert.deepEqual(kinds(b), ["repost-state"]);
  });

  it("catches a deleted post that reappears: by id, on a page, in a feed, a thread, a notification, a read, a stream", () => {
    const deleted = () => {
      const b = baseline();
      b.ops.push(op({ type: "delete", user: "carol", postId: "40", invokedAt: 60, completedAt: 61 }));
      b.ops.push(op({ type: "delete", user: "alice", postId: "20", invokedAt: 62, completedAt: 63 }));
      b.state.posts.set("alice", []);
      b.state.posts.set("carol", []);
      b.state.feeds.set("bob", []);
      b.state.postReads.set("20", { status: 404 });
      b.state.postReads.set("40", { status: 404 });
      b.state.notifications.set("alice", [note("11", "follow", "bob")]);
      b.state.threadReplies.set("20", []);
      b.streams[0]!.events.push(ev("63", "delete", { id: "20" }, 0, 63));
      return b;
    };
    const clean = deleted();
    const result = check(clean.ops, clean.state, undefined, [], clean.streams);
    assert.deepEqual(result.violations, []);
    assert.equal(result.stats.deletesChecked, 2);

    const byId = deleted();
    byId.state.postReads.set("20", { status: 200, post: post("20", "alice", "alice #1") });
    assert.deepEqual(kinds(byId), ["deleted-reappears"]);
    const onPage = deleted();
    onPage.state.posts.set("carol", [post("40", "carol", "carol #1 re 20")]);
    assert.deepEqual(kinds(onPage), ["deleted-reappears"]);
    const inFeed = deleted();
    inFeed.state.feeds.set("bob", [post("20", "alice", "alice #1")]);
    assert.deepEqual(kinds(inFeed).sort(), ["deleted-reappears", "phantom-post"]);
    const inThread = deleted();
    inThread.state.threadReplies.set("20", ["40"]);
    assert.deepEqual(kinds(inThread), ["deleted-reappears"]);
    const inNotes = deleted();
    inNotes.state.notifications.set("alice", [
      note("40.1", "reply", "carol", "40"),
      note("11", "follow", "bob"),
    ]);
    assert.deepEqual(kinds(inNotes), ["deleted-reappears"]);
    const inRead = deleted();
    inRead.ops.push(
      op({ type: "feed", user: "bob", invokedAt: 70, completedAt: 71, feedIds: ["20"], feedSize: 1 }),
    );
    assert.deepEqual(kinds(inRead), ["deleted-reappears"]);
    // bob follows alice throughout: the delete of p1 must come on his stream.
    const noDeleteEvent = deleted();
    noDeleteEvent.streams[0]!.events.pop();
    assert.deepEqual(kinds(noDeleteEvent), ["stream-missed"]);

    const inStream = deleted();
    const log = inStream.streams[0]!;
    log.connections.push({ openedAt: 64, lastEventId: "9.1", status: 200, respondedAt: 65 });
    log.events.push(ev("20", "post", { id: "20", author: "alice", repostedBy: null }, 1, 66));
    assert.ok(kinds(inStream).includes("deleted-reappears"));
  });

  it("counts a block as an unfollow both ways, and catches a blocked account's posts and notifications reaching the blocker", () => {
    const blocked = () => {
      const b = baseline();
      b.ops.push(op({ type: "block", user: "bob", target: "alice", invokedAt: 50, completedAt: 51 }));
      b.ops.push(
        op({ type: "post", user: "alice", text: "alice #2", invokedAt: 60, completedAt: 61, postId: "60" }),
      );
      b.state.posts.set("alice", [post("60", "alice", "alice #2"), b.state.posts.get("alice")![0]!]);
      b.state.following.set("bob", []);
      b.state.feeds.set("bob", []);
      b.state.notifications.set("alice", [note("40.1", "reply", "carol", "40")]);
      return b;
    };
    const clean = blocked();
    const result = check(clean.ops, clean.state, undefined, [], clean.streams);
    assert.deepEqual(result.violations, []);
    assert.equal(result.stats.blocksChecked, 1);

    const inFeed = blocked();
    inFeed.state.feeds.set("bob", [post("20", "alice", "alice #1", { repostedBy: "carol" })]);
    inFeed.state.following.set("bob", ["carol"]);
    inFeed.ops.push(op({ type: "follow", user: "bob", target: "carol", invokedAt: 52, completedAt: 53 }));
    inFeed.state.notifications.set("carol", [note("53", "follow", "bob")]);
    assert.deepEqual(kinds(inFeed), ["block-leak"]);
    const inNotes = blocked();
    inNotes.state.notifications.set("bob", [note("70", "like", "alice", "99")]);
    assert.deepEqual(kinds(inNotes), ["block-leak"]);
    const inRead = blocked();
    inRead.ops.push(
      op({ type: "feed", user: "bob", invokedAt: 55, completedAt: 56, feedIds: ["20"], feedSize: 1 }),
    );
    assert.ok(kinds(inRead).includes("block-leak"));
    const inStream = blocked();
    inStream.streams[0]!.events.push(
      ev("60", "post", { id: "60", author: "alice", repostedBy: null }, 0, 62),
    );
    assert.deepEqual(kinds(inStream), ["block-leak"]);
    // Undone (an unblock sent after it): nothing is expected of it any more.
    const undone = blocked();
    undone.ops.push(
      op({
        type: "unblock",
        user: "bob",
        target: "alice",
        outcome: "unknown",
        invokedAt: 80,
        completedAt: 88,
      }),
    );
    undone.state.notifications.set("bob", [note("70", "like", "alice", "99")]);
    assert.deepEqual(kinds(undone), []);
  });

  it("catches a notification listed twice, by id or by what it is about, and one missing", () => {
    const byId = baseline();
    byId.state.notifications.get("alice")!.push(note("30", "like", "bob", "20"));
    assert.deepEqual(kinds(byId), ["notification-twice"]);
    const byEvent = baseline();
    byEvent.state.notifications.get("alice")!.push(note("31", "like", "bob", "20"));
    assert.deepEqual(kinds(byEvent), ["notification-twice"]);
    const missing = baseline();
    missing.state.notifications.set("alice", [note("11", "follow", "bob")]);
    assert.deepEqual(kinds(missing), ["notification-missing", "notification-missing"]);
  });

  it("catches a stream that misses a post, repeats or reorders an event across a reconnect, or never catches up", () => {
    const missed = baseline();
    missed.streams[0]!.events.pop();
    assert.deepEqual(kinds(missed), ["stream-missed"]);

    const repeated = baseline();
    const log = repeated.streams[0]!;
    log.connections.push({ openedAt: 26, lastEventId: "9.1", status: 200, respondedAt: 27 });
    log.events.push(ev("20", "post", { id: "20", author: "alice", repostedBy: null }, 1, 28));
    assert.deepEqual(kinds(repeated), ["stream-repeat"]);

    const reordered = baseline();
    reordered.streams[0]!.events.push(ev("15", "notification", { type: "follow", from: "x" }));
    assert.deepEqual(kinds(reordered), ["stream-order"]);
    const heartbeatBack = baseline();
    heartbeatBack.streams[0]!.events.push(ev("19.1", "heartbeat", undefined));
    assert.deepEqual(kinds(heartbeatBack), ["stream-order"]);

    const stalled = baseline();
    stalled.streams[0]!.caughtUp = false;
    assert.deepEqual(kinds(stalled), ["stream-stalled"]);

    // A post sent before the stream first opened is not expected; one after a fresh restart is.
    const late = baseline();
    late.streams[0]!.connections[0]!.respondedAt = 22;
    late.streams[0]!.events.pop();
    assert.deepEqual(kinds(late), []);
  });

  it("expects a reply to the reader's post as a notification at the reply's position", () => {
    const b = baseline();
    b.ops.push(
      op({
        type: "reply",
        user: "alice",
        text: "alice re bob",
        inReplyTo: "15",
        inReplyToAuthor: "bob",
        invokedAt: 45,
        completedAt: 46,
        postId: "45",
      }),
      op({ type: "post", user: "bob", text: "bob #1", invokedAt: 1, completedAt: 2, postId: "15" }),
    );
    b.state.posts.set("bob", [post("15", "bob", "bob #1")]);
    b.state.posts.set("alice", [
      post("45", "alice", "alice re bob", { inReplyTo: "15" }),
      ...b.state.posts.get("alice")!,
    ]);
    b.state.feeds.set("bob", [post("45", "alice", "alice re bob"), ...b.state.feeds.get("bob")!]);
    b.state.notifications.set("bob", [note("45.1", "reply", "alice", "45")]);
    assert.deepEqual(kinds(b), ["stream-missed"]);
    b.streams[0]!.events.push(
      ev("45", "post", { id: "45", author: "alice", repostedBy: null }),
      ev("45.1", "notification", { type: "reply", from: "alice", post: { id: "45" } }),
    );
    assert.deepEqual(kinds(b), []);
  });

  it("takes a repost in a feed as the reposter's entry, and a self-repost on a page as the post", () => {
    const b = baseline();
    b.ops.push(op({ type: "follow", user: "bob", target: "carol", invokedAt: 12, completedAt: 13 }));
    b.ops.push(op({ type: "repost", user: "carol", postId: "20", invokedAt: 50, completedAt: 51 }));
    b.state.following.set("bob", ["alice", "carol"]);
    b.state.feeds.set("bob", [
      post("20", "alice", "alice #1", { repostedBy: "carol" }),
      post("40", "carol", "carol #1 re 20"),
      post("20", "alice", "alice #1"),
    ]);
    b.state.reposters.set("20", ["carol"]);
    b.state.reposted.set("carol", ["20"]);
    b.state.postReads.set("20", {
      status: 200,
      post: post("20", "alice", "alice #1", { likes: 1, reposts: 1 }),
    });
    b.state.notifications.get("alice")!.unshift(note("51", "repost", "carol", "20"));
    b.state.notifications.set("carol", [note("13", "follow", "bob")]);
    // A read's page that shows p1 only as carol's repost shows it: no stale read.
    b.ops.push(
      op({
        type: "feed",
        user: "bob",
        invokedAt: 60,
        completedAt: 61,
        feedIds: ["40"],
        feedRepostIds: ["20"],
        feedSize: 2,
      }),
    );
    assert.deepEqual(kinds(b), []);

    const page = [
      post("30", "alice", "alice #3"),
      post("20", "alice", "alice #1", { repostedBy: "alice" }),
      post("25", "alice", "alice #2"),
      post("5", "carol", "carol #0", { repostedBy: "alice" }),
    ];
    assert.deepEqual(
      ownPosts("alice", page).map((p) => p.id),
      ["30", "25", "20"],
    );
  });
});
