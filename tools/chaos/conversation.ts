import type { FinalState } from "./checker.js";
import { expectedFinalFollow, followedThroughout } from "./checker.js";
import { writesPost, type Op } from "./history.js";
import { pairOps } from "./reads.js";
import { comparePositions, type StreamLog } from "./streams.js";

/**
 * The checks of the conversation features (issue 14): likes and reposts end in the state their
 * acknowledged ops left, a deleted post never reappears, a block keeps the two accounts apart,
 * each notification is there once, and every live stream delivers its reader's events once, in
 * commit order, across reconnects. Sound under unknown outcomes: an op that may or may not
 * have applied is never counted on either way.
 */

type Flag = (kind: string, message: string) => void;

export interface ConversationStats {
  /** (user, post) pairs whose final like / repost state was decided by the history, and not. */
  reactionStatesChecked: number;
  reactionStatesUndecided: number;
  /** Posts whose like and repost counts were compared with their lists. */
  reactionPostsChecked: number;
  /** Acknowledged deletes whose post was looked for everywhere. */
  deletesChecked: number;
  /** Blocks acknowledged and never undone, checked in feeds, notifications and streams. */
  blocksChecked: number;
  notificationsRead: number;
  /** Notifications that had to be there at the end (a reply, a like, a repost, a follow standing). */
  notificationsExpected: number;
  streamReaders: number;
  streamConnections: number;
  streamEvents: number;
  /** Events (posts of followed authors, replies to the reader) that had to come on a stream. */
  streamEventsExpected: number;
  streamsCaughtUp: number;
}

const rev = (id: string) => Number(id);
const isPosition = (id: string) => /^(0|[1-9][0-9]{0,15})(\.1)?$/.test(id);

interface StreamPost {
  id?: string;
  author?: string;
  repostedBy?: string | null;
}
interface StreamNotification {
  type?: string;
  from?: string;
  post?: { id?: string };
}

export function checkConversation(
  ops: readonly Op[],
  state: FinalState,
  streams: readonly StreamLog[],
  graceMs: number,
  flag: Flag,
): ConversationStats {
  const stats = emptyConversationStats();
  const h = new History(ops, graceMs);
  checkReactions(h, state, flag, stats);
  checkDeletes(h, state, streams, flag, stats);
  checkBlocks(h, state, streams, flag, stats);
  checkNotifications(h, state, flag, stats);
  checkStreams(h, streams, flag, stats);
  return stats;
}

export function emptyConversationStats(): ConversationStats {
  return {
    reactionStatesChecked: 0,
    reactionStatesUndecided: 0,
    reactionPostsChecked: 0,
    deletesChecked: 0,
    blocksChecked: 0,
    notificationsRead: 0,
    notificationsExpected: 0,
    streamReaders: 0,
    streamConnections: 0,
    streamEvents: 0,
    streamEventsExpected: 0,
    streamsCaughtUp: 0,
  };
}

/** What the checks ask of the history, indexed once. */
class History {
  /** Acknowledged posts and replies by id. */
  readonly written = new Map<string, Op>();
  /** Post id → when its text was first sent (an unknown attempt may have stored it earlier). */
  readonly firstSent = new Map<string, number>();
  /** Post id → every delete sent for it. */
  readonly deletes = new Map<string, Op[]>();
  /** Post id → user → their like/unlike (or repost/unrepost) ops on it. */
  readonly likes = new Map<string, Map<string, Op[]>>();
  readonly reposts = new Map<string, Map<string, Op[]>>();
  /** "blocker→blocked" → block/unblock ops. */
  readonly blocks = new Map<string, Op[]>();
  readonly follows: Map<string, Op[]>;
  /** Reader → their answered feed reads, in history order. */
  readonly feedReads = new Map<string, Op[]>();

  constructor(
    readonly ops: readonly Op[],
    readonly graceMs: number,
  ) {
    const sentByText = new Map<string, number>();
    for (const o of ops) {
      if (writesPost(o) && o.text !== undefined)
        sentByText.set(o.text, Math.min(sentByText.get(o.text) ?? Infinity, o.invokedAt));
    }
    for (const o of ops) {
      if (writesPost(o) && o.outcome === "ok" && o.postId) {
        this.written.set(o.postId, o);
        this.firstSent.set(o.postId, sentByText.get(o.text ?? "") ?? o.invokedAt);
      }
      if (o.type === "delete" && o.postId) push(this.deletes, o.postId, o);
      if ((o.type === "like" || o.type === "unlike") && o.postId) pushByPost(this.likes, o);
      if ((o.type === "repost" || o.type === "unrepost") && o.postId) pushByPost(this.reposts, o);
      if ((o.type === "block" || o.type === "unblock") && o.target)
        push(this.blocks, `${o.user}→${o.target}`, o);
      if (o.type === "feed" && o.outcome === "ok") push(this.feedReads, o.user, o);
    }
    this.follows = pairOps(ops);
  }

  /** The ids `user`'s final page shows as their reposts (as a set, made once per user). */
  repostsOnPage(state: FinalState, user: string): ReadonlySet<string> | undefined {
    let ids = this.pageReposts.get(user);
    if (!ids) {
      const list = state.reposted.get(user);
      if (!list) return undefined;
      this.pageReposts.set(user, (ids = new Set(list)));
    }
    return ids;
  }
  private readonly pageReposts = new Map<string, Set<string>>();

  authorOf(postId: string): string | undefined {
    return this.written.get(postId)?.user;
  }

  /** A delete of it was sent and not refused: it may be gone. */
  mayBeDeleted(postId: string): boolean {
    return (this.deletes.get(postId) ?? []).some((o) => o.outcome !== "failed");
  }

  /** The first acknowledged delete of it. */
  deletedAck(postId: string): Op | undefined {
    return (this.deletes.get(postId) ?? []).find((o) => o.outcome === "ok");
  }

  /** A block between the two (either way) was sent and not refused, at any time. */
  everBlocked(a: string, b: string): boolean {
    return [`${a}→${b}`, `${b}→${a}`].some((k) =>
      (this.blocks.get(k) ?? []).some((o) => o.type === "block" && o.outcome !== "failed"),
    );
  }

  /** The lowest id of a post sent after `t`: every commit at or above it came after `t`. */
  firstIdAfter(t: number): number {
    let min = Infinity;
    for (const [id, o] of this.written) if (o.invokedAt > t) min = Math.min(min, rev(id));
    return min;
  }
}

/** ops mapped onto follow (`on`) / unfollow (the undo), so the follow rules decide them. */
function asFollows(ops: readonly Op[], on: Op["type"]): Op[] {
  return ops.map((o) => ({ ...o, type: o.type === on ? "follow" : "unfollow" }));
}

function checkReactions(h: History, state: FinalState, flag: Flag, stats: ConversationStats): void {
  for (const [id, read] of state.postReads) {
    if (h.mayBeDeleted(id) || !h.written.has(id)) continue;
    if (read.status !== 200 || !read.post) {
      flag(
        "lost-post",
        `acknowledged post ${id}, never deleted, answers ${read.status} to GET /api/v1/posts/${id}`,
      );
      continue;
    }
    stats.reactionPostsChecked++;
    for (const [kind, list, count, byUser] of [
      ["like", state.likers.get(id) ?? [], read.post.likes, h.likes.get(id)],
      ["repost", state.reposters.get(id) ?? [], read.post.reposts, h.reposts.get(id)],
    ] as const) {
      if (new Set(list).size !== list.length)
        flag(`${kind}-count`, `post ${id}'s ${kind}s list names someone twice: ${list.join(", ")}`);
      if (count !== list.length)
        flag(
          `${kind}-count`,
          `post ${id} counts ${count} ${kind}s but lists ${list.length}: ${list.join(", ")}`,
        );
      for (const who of list) {
        const mine = byUser?.get(who) ?? [];
        if (!mine.some((o) => o.type === kind && o.outcome !== "failed"))
          flag(
            `${kind}-state`,
            `${who} is among post ${id}'s ${kind}s though no ${kind} of theirs could have applied`,
          );
      }
      const listed = new Set(list);
      for (const [who, mine] of byUser ?? []) {
        const expected = expectedFinalFollow(asFollows(mine, kind), h.graceMs);
        if (expected === undefined) {
          stats.reactionStatesUndecided++;
          continue;
        }
        stats.reactionStatesChecked++;
        const last = latest(mine.filter((o) => o.outcome === "ok"));
        const says = `its last acknowledged op was ${last ? `${last.type} (op ${last.id})` : "none"}`;
        if (listed.has(who) !== expected)
          flag(
            `${kind}-state`,
            `${who} ${expected ? "is not" : "is"} among post ${id}'s ${kind}s at the end, but ${says}`,
          );
        const page = kind === "repost" ? h.repostsOnPage(state, who) : undefined;
        if (page && page.has(id) !== expected)
          flag(
            `repost-state`,
            `${who}'s page ${expected ? "lacks" : "shows"} their repost of post ${id}, but ${says}`,
          );
      }
    }
  }
}

function checkDeletes(
  h: History,
  state: FinalState,
  streams: readonly StreamLog[],
  flag: Flag,
  stats: ConversationStats,
): void {
  const deleted = new Map<string, Op>();
  for (const id of h.deletes.keys()) {
    const ack = h.deletedAck(id);
    if (ack) deleted.set(id, ack);
  }
  const seen = (id: string, where: string) => {
    const d = deleted.get(id)!;
    flag(
      "deleted-reappears",
      `post ${id}, deleted (op ${d.id}, acknowledged at +${d.completedAt.toFixed(0)} ms), ${where}`,
    );
  };
  for (const [id] of deleted) {
    stats.deletesChecked++;
    const read = state.postReads.get(id);
    if (read && read.status !== 404) seen(id, `answers ${read.status} to GET /api/v1/posts/${id}`);
  }
  for (const [user, posts] of state.posts)
    for (const p of posts) if (deleted.has(p.id)) seen(p.id, `is on ${user}'s page`);
  for (const [user, ids] of state.reposted)
    for (const id of ids) if (deleted.has(id)) seen(id, `is on ${user}'s page as their repost`);
  for (const [reader, feed] of state.feeds)
    for (const p of feed) if (deleted.has(p.id)) seen(p.id, `is in ${reader}'s feed`);
  for (const [parent, replies] of state.threadReplies)
    for (const id of replies)
      if (deleted.has(id)) seen(id, `is among the replies of post ${parent}'s thread`);
  for (const [user, list] of state.notifications) {
    for (const n of list) {
      const id = n.post?.id;
      if (id && deleted.has(id)) seen(id, `is in ${user}'s notification ${n.id} (${n.type} from ${n.from})`);
    }
  }
  // Reads during the run: a feed read begun after the delete's acknowledgement shows none of it.
  for (const o of h.ops) {
    if (o.type !== "feed" || o.outcome !== "ok") continue;
    for (const id of [...(o.feedIds ?? []), ...(o.feedRepostIds ?? [])]) {
      const d = deleted.get(id);
      if (d && o.invokedAt > d.completedAt)
        seen(id, `is on ${o.user}'s feed read op ${o.id}, begun after it`);
    }
  }
  // Streams: a connection opened after the delete's acknowledgement never carries the post.
  for (const log of streams) {
    for (const e of log.events) {
      const id = aboutPost(e.type, e.data);
      const d = id === undefined ? undefined : deleted.get(id);
      if (d && log.connections[e.connection]!.openedAt > d.completedAt)
        seen(id!, `came on ${log.reader}'s stream (${e.type} event ${e.id}) on a connection opened after it`);
    }
  }
}

/** The post a stream event carries (a post, or a notification about one). */
function aboutPost(type: string, data: unknown): string | undefined {
  if (type === "post") return (data as StreamPost | undefined)?.id;
  if (type === "notification") return (data as StreamNotification | undefined)?.post?.id;
  return undefined;
}

/** Blocks acknowledged and never undone: [blocker, blocked, the block's op]. */
function heldBlocks(h: History): [string, string, Op][] {
  const held: [string, string, Op][] = [];
  for (const [key, mine] of h.blocks) {
    const [blocker, blocked] = key.split("→") as [string, string];
    if (!followedThroughout(asFollows(mine, "block"), Infinity, h.graceMs)) continue;
    const last = latest(mine.filter((o) => o.outcome === "ok"))!;
    held.push([blocker, blocked, last]);
  }
  return held;
}

function checkBlocks(
  h: History,
  state: FinalState,
  streams: readonly StreamLog[],
  flag: Flag,
  stats: ConversationStats,
): void {
  for (const [blocker, blocked, block] of heldBlocks(h)) {
    stats.blocksChecked++;
    const since = `since ${blocker} blocked ${blocked} (op ${block.id}, acknowledged, never undone)`;
    // Neither sees the other: not their posts, not their reposts, not their notifications.
    for (const [reader, other] of [
      [blocker, blocked],
      [blocked, blocker],
    ] as const) {
      for (const p of state.feeds.get(reader) ?? []) {
        if (p.author === other || p.repostedBy === other)
          flag(
            "block-leak",
            `${reader}'s feed holds post ${p.id} by ${p.author}${p.repostedBy ? ` reposted by ${p.repostedBy}` : ""} ${since}`,
          );
      }
      for (const n of state.notifications.get(reader) ?? []) {
        if (n.from === other)
          flag("block-leak", `${reader}'s notifications hold ${n.id} (${n.type}) from ${other} ${since}`);
      }
      for (const o of h.feedReads.get(reader) ?? []) {
        if (o.invokedAt <= block.completedAt) continue;
        for (const id of [...(o.feedIds ?? []), ...(o.feedRepostIds ?? [])]) {
          if (h.authorOf(id) === other)
            flag(
              "block-leak",
              `${reader}'s feed read op ${o.id}, begun after the block, shows post ${id} by ${other} ${since}`,
            );
        }
      }
      // A stream event committed after the block (its revision above a post sent after the
      // block's acknowledgement) never carries the other's posts or notifications.
      const after = h.firstIdAfter(block.completedAt);
      for (const log of streams) {
        if (log.reader !== reader) continue;
        for (const e of log.events) {
          if (e.type === "heartbeat" || !isPosition(e.id) || rev(e.id) < after) continue;
          const post = e.data as StreamPost | undefined;
          const note = e.data as StreamNotification | undefined;
          if (
            (e.type === "post" && (post?.author === other || post?.repostedBy === other)) ||
            (e.type === "notification" && note?.from === other)
          )
            flag("block-leak", `${reader}'s stream carried ${e.type} event ${e.id} from ${other} ${since}`);
        }
      }
    }
  }
}

function checkNotifications(h: History, state: FinalState, flag: Flag, stats: ConversationStats): void {
  const has = new Map<string, Set<string>>();
  for (const [user, list] of state.notifications) {
    stats.notificationsRead += list.length;
    const ids = new Set<string>();
    const keys = new Set<string>();
    for (const n of list) {
      const key = `${n.type}/${n.from}/${n.post?.id ?? ""}`;
      if (ids.has(n.id)) flag("notification-twice", `${user}'s notifications list ${n.id} twice`);
      else if (keys.has(key))
        flag(
          "notification-twice",
          `${user} has two ${n.type} notifications from ${n.from}${n.post ? ` about post ${n.post.id}` : ""}`,
        );
      ids.add(n.id);
      keys.add(key);
    }
    has.set(user, keys);
  }
  const expect = (to: string, type: string, from: string, post: string, why: string) => {
    const keys = has.get(to);
    if (!keys || from === to || h.everBlocked(from, to)) return;
    stats.notificationsExpected++;
    if (!keys.has(`${type}/${from}/${post}`))
      flag(
        "notification-missing",
        `${to} has no ${type} notification from ${from}${post ? ` about post ${post}` : ""}: ${why}`,
      );
  };
  for (const o of h.written.values()) {
    if (o.type !== "reply" || !o.inReplyToAuthor || !o.inReplyTo) continue;
    if (h.mayBeDeleted(o.postId!) || h.mayBeDeleted(o.inReplyTo)) continue;
    expect(
      o.inReplyToAuthor,
      "reply",
      o.user,
      o.postId!,
      `reply op ${o.id} to post ${o.inReplyTo} was acknowledged`,
    );
  }
  for (const [kind, byPost] of [
    ["like", h.likes],
    ["repost", h.reposts],
  ] as const) {
    for (const [post, byUser] of byPost) {
      const author = h.authorOf(post);
      if (!author || h.mayBeDeleted(post)) continue;
      for (const [who, mine] of byUser) {
        if (expectedFinalFollow(asFollows(mine, kind), h.graceMs) !== true) continue;
        expect(author, kind, who, post, `${who}'s last acknowledged op on it was a ${kind}`);
      }
    }
  }
  for (const [key, mine] of h.follows) {
    const [from, to] = key.split("→") as [string, string];
    if (expectedFinalFollow(mine, h.graceMs) !== true) continue;
    expect(to, "follow", from, "", `${from} follows ${to} at the end by the history`);
  }
}

function checkStreams(h: History, streams: readonly StreamLog[], flag: Flag, stats: ConversationStats): void {
  for (const log of streams) {
    if (!log.reader) continue;
    const reader = log.reader;
    stats.streamReaders++;
    stats.streamConnections += log.connections.length;
    if (log.caughtUp) stats.streamsCaughtUp++;
    // Order and once: each id above every id before it (a heartbeat's may equal the last).
    const ids = new Set<string>();
    let last: string | undefined;
    for (const e of log.events) {
      const where = `${reader}'s stream, connection ${e.connection}`;
      if (!isPosition(e.id)) {
        flag("stream-order", `${where}: ${e.type} event without a valid id (${JSON.stringify(e.id)})`);
        continue;
      }
      if (e.type !== "heartbeat") {
        stats.streamEvents++;
        if (!["post", "delete", "notification"].includes(e.type))
          flag("stream-event", `${where}: unknown event type ${e.type} (id ${e.id})`);
        if (ids.has(e.id)) flag("stream-repeat", `${where}: event ${e.id} (${e.type}) came again`);
        else if (last !== undefined && comparePositions(e.id, last) <= 0)
          flag("stream-order", `${where}: event ${e.id} (${e.type}) came after position ${last}`);
        ids.add(e.id);
        const post = e.data as StreamPost | undefined;
        if (e.type === "post" && !post?.repostedBy && post?.id !== e.id)
          flag("stream-event", `${where}: post event ${e.id} carries post ${post?.id}`);
      } else if (last !== undefined && comparePositions(e.id, last) < 0) {
        flag("stream-order", `${where}: heartbeat at ${e.id} came after position ${last}`);
      }
      if (last === undefined || comparePositions(e.id, last) > 0) last = e.id;
    }

    const opened = log.connections.filter((c) => c.status === 200 && c.respondedAt !== undefined);
    if (opened.length === 0) continue;
    if (!log.caughtUp) {
      flag(
        "stream-stalled",
        `${reader}'s stream never reached the newest acknowledged post after the run healed`,
      );
      continue;
    }
    // Nothing is missed from the last connection that started afresh (no Last-Event-ID: the
    // first, or one whose predecessor never got an id) until the end.
    const fresh = opened.filter((c) => c.lastEventId === "");
    if (fresh.length === 0) continue;
    const from = Math.max(...fresh.map((c) => c.respondedAt!));
    // Every acknowledged top-level post sent after the stream first opened, by an author the
    // reader followed from before it until the end (a block ends a follow), and never deleted.
    for (const [id, o] of h.written) {
      if (o.type !== "post" || o.user === reader || h.firstSent.get(id)! < from || h.mayBeDeleted(id))
        continue;
      const pair = h.follows.get(`${reader}→${o.user}`);
      if (!pair || !followedThroughout(pair, h.firstSent.get(id)!, h.graceMs)) continue;
      stats.streamEventsExpected++;
      if (!ids.has(id))
        flag(
          "stream-missed",
          `${reader}'s stream never carried post ${id} (op ${o.id}) by ${o.user}, followed throughout`,
        );
    }
    // Every acknowledged delete, sent after the stream first opened, of a post of the reader's
    // or of an author they followed from before it until the end (a post they may have seen).
    for (const [id, mine] of h.deletes) {
      const author = h.authorOf(id);
      const sent = mine.filter((o) => o.outcome !== "failed");
      if (!author || !sent.some((o) => o.outcome === "ok")) continue;
      const first = Math.min(...sent.map((o) => o.invokedAt));
      if (first < from) continue;
      const pair = h.follows.get(`${reader}→${author}`);
      if (author !== reader && (!pair || !followedThroughout(pair, first, h.graceMs))) continue;
      stats.streamEventsExpected++;
      if (!log.events.some((e) => e.type === "delete" && (e.data as { id?: string } | undefined)?.id === id))
        flag(
          "stream-missed",
          `${reader}'s stream never carried the delete of post ${id} by ${author} (acknowledged, op ` +
            `${sent.find((o) => o.outcome === "ok")!.id})`,
        );
    }
    // And every reply to the reader's posts, as a notification at the reply's position ".1".
    for (const [id, o] of h.written) {
      if (o.type !== "reply" || o.inReplyToAuthor !== reader || o.user === reader) continue;
      if (h.firstSent.get(id)! < from || h.mayBeDeleted(id) || h.mayBeDeleted(o.inReplyTo!)) continue;
      if (h.everBlocked(o.user, reader)) continue;
      stats.streamEventsExpected++;
      if (!ids.has(`${id}.1`))
        flag(
          "stream-missed",
          `${reader}'s stream never carried the notification of reply ${id} (op ${o.id}) from ${o.user}`,
        );
    }
  }
}

function latest(ops: readonly Op[]): Op | undefined {
  let best: Op | undefined;
  for (const op of ops) if (!best || op.completedAt > best.completedAt) best = op;
  return best;
}

/** Files a like/unlike (repost/unrepost) op under its post, then its user. */
function pushByPost(byPost: Map<string, Map<string, Op[]>>, o: Op): void {
  let byUser = byPost.get(o.postId!);
  if (!byUser) byPost.set(o.postId!, (byUser = new Map()));
  push(byUser, o.user, o);
}

function push<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list) list.push(item);
  else map.set(key, [item]);
}
