import { DEFAULT_ACCOUNTS_OPTIONS } from "../../src/services/accounts/service.js";
import { checkConversation, emptyConversationStats, type ConversationStats } from "./conversation.js";
import {
  followChanges,
  writesPost,
  type FaultRecord,
  type Op,
  type PostView,
  type Violation,
} from "./history.js";
import { FollowPair } from "./follow-pair.js";
import { checkReads, type ReadStats } from "./reads.js";
import { firstIndexWhere } from "../../src/shared/sorted.js";
import type { StreamLog } from "./streams.js";

/** A notification as GET /api/v1/notifications lists it. */
export interface NotificationView {
  id: string;
  type: string;
  from: string;
  createdAt: string;
  post?: PostView;
}

/** What the API shows once everything is healed: read by observe.ts, judged here. */
export interface FinalState {
  /** Every username the history mentions → whether GET /users/:u found it. */
  exists: Map<string, boolean>;
  /** Author → every post of theirs on their page (all pages), newest first; reposts left out. */
  posts: Map<string, PostView[]>;
  /** User → the ids of the posts their page shows as their reposts. */
  reposted: Map<string, string[]>;
  /** User → everyone they follow (all pages). */
  following: Map<string, string[]>;
  /** Reader → their whole feed (reposts included, with repostedBy), for the readers the checker could log in as. */
  feeds: Map<string, PostView[]>;
  /** Username → status of a login with the password of its acknowledged signup. */
  logins: Map<string, number>;
  /** Token → status of an authenticated read with it. */
  sessions: Map<string, number>;
  /** Username → status of signing it up again with another password (must be 409). */
  resignups: Map<string, number>;
  /** Post id → GET /api/v1/posts/:id (anonymous), for every post liked, reposted or deleted (or tried). */
  postReads: Map<string, { status: number; post?: PostView }>;
  /** Post id → who liked it, who reposted it (all pages), for those of the posts above that exist. */
  likers: Map<string, string[]>;
  reposters: Map<string, string[]>;
  /** Post id → the ids of its thread's replies (all pages), for the parents of replies deleted. */
  threadReplies: Map<string, string[]>;
  /** User → their notifications (all pages), newest first. */
  notifications: Map<string, NotificationView[]>;
}

export interface CheckOptions {
  /**
   * How long after its deadline an unknown-outcome operation may still take effect (the
   * request may still be running in a backend, or be retried by the etcd client).
   */
  unknownGraceMs: number;
}

export const DEFAULT_CHECK_OPTIONS: CheckOptions = { unknownGraceMs: 15_000 };

/** Live sessions an account may hold: a login beyond it ends the oldest (not a lost session). */
const MAX_SESSIONS_PER_ACCOUNT = DEFAULT_ACCOUNTS_OPTIONS.maxSessionsPerAccount;

export interface CheckStats extends ReadStats, ConversationStats {
  postsAcknowledged: number;
  postsRefused: number;
  postsUnknown: number;
  /** (reader, post) pairs where the post had to be in the reader's feed. */
  feedEntriesExpected: number;
  feedsRead: number;
  followPairsChecked: number;
  /** Pairs left undecided because an unknown-outcome op may have gone either way. */
  followPairsUndecided: number;
  accountsChecked: number;
  sessionsChecked: number;
}

export interface CheckResult {
  violations: Violation[];
  stats: CheckStats;
}

/** Texts are stored NFC-normalised and trimmed: compare them the same way. */
const textKey = (text: string) => text.normalize("NFC").trim();

/**
 * Judges the final state, and what reads showed during the run (reads.ts), against the
 * history. Only what the client was told counts:
 * acknowledged (2xx) operations must have taken effect exactly once, refused (4xx) ones
 * not at all, and unknown ones (5xx, timeout, connection error) may go either way.
 */
export function check(
  ops: readonly Op[],
  state: FinalState,
  options = DEFAULT_CHECK_OPTIONS,
  faults: readonly FaultRecord[] = [],
  streams: readonly StreamLog[] = [],
): CheckResult {
  const violations: Violation[] = [];
  const flag = (kind: string, message: string) => violations.push({ kind, message });
  const stats: CheckStats = {
    feedReadsChecked: 0,
    readEntriesExpected: 0,
    listsOrderChecked: 0,
    writesInMinorityWindows: 0,
    postsAcknowledged: 0,
    postsRefused: 0,
    postsUnknown: 0,
    feedEntriesExpected: 0,
    feedsRead: state.feeds.size,
    followPairsChecked: 0,
    followPairsUndecided: 0,
    accountsChecked: 0,
    sessionsChecked: 0,
    ...emptyConversationStats(),
  };

  checkAccounts(ops, state, flag, stats);
  checkSessions(ops, state, flag, stats);
  const pairs = followPairs(ops);
  checkFollowState(pairs, state, options, flag, stats);
  checkPosts(ops, state, pairs, options, flag, stats);
  Object.assign(stats, checkReads(ops, state.posts, state.feeds, faults, options.unknownGraceMs, flag));
  Object.assign(stats, checkConversation(ops, state, streams, options.unknownGraceMs, flag));
  return { violations, stats };
}

type Flag = (kind: string, message: string) => void;

function checkAccounts(ops: readonly Op[], state: FinalState, flag: Flag, stats: CheckStats): void {
  const signups = groupBy(
    ops.filter((o) => o.type === "signup"),
    (o) => o.user,
  );
  for (const [user, attempts] of signups) {
    const ok = attempts.filter((o) => o.outcome === "ok");
    if (ok.length > 1) {
      flag(
        "username-twice",
        `"${user}" was signed up ${ok.length} times (ops ${ok.map((o) => o.id).join(", ")})`,
      );
    }
    if (ok.length > 0) {
      stats.accountsChecked++;
      if (state.exists.get(user) === false)
        flag("account-lost", `acknowledged account "${user}" does not exist`);
      const login = state.logins.get(user);
      if (login !== undefined && login !== 201) {
        flag(
          "account-lost",
          `acknowledged account "${user}" cannot log in with its password (status ${login})`,
        );
      }
      const again = state.resignups.get(user);
      if (again !== undefined && again !== 409) {
        flag("username-twice", `"${user}" could be signed up again (status ${again})`);
      }
    } else if (attempts.every((o) => o.outcome === "failed") && state.exists.get(user) === true) {
      const logins = ops.filter((o) => o.type === "login" && o.user === user && o.outcome !== "failed");
      flag(
        "refused-write-applied",
        `every signup of "${user}" was refused (${attempts.map((o) => `op ${o.id}: ${o.status}`).join(", ")}) ` +
          `yet the account exists${logins.length > 0 ? " and logs in" : ""}`,
      );
    }
  }
}

/**
 * Per account, the times at which it may have held more live sessions than the accounts
 * service's cap (a login beyond it ends the oldest): logins acknowledged or unknown, less
 * acknowledged logouts, counted in time order. Built once: a long run has thousands of logins
 * per account, and asking each login's question by recounting them all took minutes.
 */
function sessionCapOverruns(byUser: ReadonlyMap<string, readonly Op[]>): Map<string, number[]> {
  const overruns = new Map<string, number[]>();
  for (const [user, accountOps] of byUser) {
    const changes: { at: number; delta: number }[] = [];
    for (const o of accountOps) {
      if (o.type === "login" && o.outcome !== "failed") changes.push({ at: o.invokedAt, delta: 1 });
      if (o.type === "logout" && o.outcome === "ok") changes.push({ at: o.completedAt, delta: -1 });
    }
    changes.sort((a, b) => a.at - b.at);
    const over: number[] = [];
    let live = 0;
    for (const change of changes) {
      live += change.delta;
      if (live > MAX_SESSIONS_PER_ACCOUNT) over.push(change.at);
    }
    overruns.set(user, over);
  }
  return overruns;
}

/** Whether the session of `login` may have been ended by the cap from its start until `until`. */
function mayHaveBeenEvicted(overruns: readonly number[], login: Op, until: number): boolean {
  const next = firstIndexWhere(overruns.length, (i) => overruns[i]! >= login.invokedAt);
  return next < overruns.length && overruns[next]! < until;
}

function checkSessions(ops: readonly Op[], state: FinalState, flag: Flag, stats: CheckStats): void {
  const byUser = groupBy(
    ops.filter((o) => o.type === "login" || o.type === "logout"),
    (o) => o.user,
  );
  const overruns = sessionCapOverruns(byUser);
  const logouts = groupBy(
    ops.filter((o) => o.type === "logout" && o.token),
    (o) => o.token!,
  );
  const refusals = groupBy(
    ops.filter((o) => o.token && o.type !== "login" && o.status === 401),
    (o) => o.token!,
  );
  for (const login of ops) {
    if (login.type !== "login" || login.outcome !== "ok" || !login.token) continue;
    const ended = logouts.get(login.token) ?? [];
    const status = state.sessions.get(login.token);
    // Until a logout of it was sent, the token must be accepted: a 401 means the session was
    // lost, or (for the logout itself) that the request was applied yet answered "refused".
    const refused = refusals
      .get(login.token)
      ?.find(
        (o) => o.invokedAt > login.completedAt && !ended.some((l) => l !== o && l.invokedAt < o.invokedAt),
      );
    const evicted = (until: number) => mayHaveBeenEvicted(overruns.get(login.user) ?? [], login, until);
    if (refused && !evicted(refused.invokedAt)) {
      flag(
        "session-lost",
        `token of ${login.user} (login op ${login.id}) was refused with 401 by op ${refused.id} ` +
          `(${refused.type}) before any logout of it${refused.type === "logout" ? " but that one" : ""}`,
      );
    }
    if (status === undefined) continue;
    if (ended.length === 0) {
      // Never logged out: it must still work (unless the cap on sessions may have ended it).
      if (evicted(Number.POSITIVE_INFINITY)) continue;
      stats.sessionsChecked++;
      if (status !== 200) {
        flag(
          "session-lost",
          `token of ${login.user} (login op ${login.id}) no longer works (status ${status})`,
        );
      }
    } else if (ended.some((o) => o.outcome === "ok")) {
      stats.sessionsChecked++;
      if (status !== 401) {
        flag("logout-ignored", `token of ${login.user} (login op ${login.id}) still works after its logout`);
      }
    }
  }
}

interface Pair {
  reader: string;
  author: string;
  ops: Op[];
}

function followPairs(ops: readonly Op[]): Map<string, Pair> {
  const pairs = new Map<string, Pair>();
  for (const op of followChanges(ops)) {
    const key = `${op.user}→${op.target}`;
    let pair = pairs.get(key);
    if (!pair) pairs.set(key, (pair = { reader: op.user, author: op.target!, ops: [] }));
    pair.ops.push(op);
  }
  return pairs;
}

/**
 * The state a pair must end in: that of its last acknowledged op, unless an op of the
 * other kind raced it (concurrent and acknowledged, or unknown and possibly applied
 * after it). undefined: either state is allowed.
 */
export function expectedFinalFollow(ops: readonly Op[], graceMs: number): boolean | undefined {
  const known = ops.filter((o) => o.outcome === "ok");
  const unknown = ops.filter((o) => o.outcome === "unknown");
  const last = latest(known);
  if (!last) {
    // Nothing acknowledged: refused ops did nothing, so only an unknown follow could have followed.
    return unknown.some((o) => o.type === "follow") ? undefined : false;
  }
  const other = last.type === "follow" ? "unfollow" : "follow";
  if (known.some((o) => o.type === other && o.completedAt > last.invokedAt)) return undefined;
  if (unknown.some((o) => o.type === other && o.completedAt + graceMs > last.invokedAt)) return undefined;
  return last.type === "follow";
}

/**
 * True when `reader` certainly followed the author from before `since` to the end: the
 * last op acknowledged before `since` is a follow, and no unfollow (acknowledged, or
 * unknown and possibly applied) came during or after it.
 */
export function followedThroughout(ops: readonly Op[], since: number, graceMs: number): boolean {
  const known = ops.filter((o) => o.outcome === "ok");
  const last = latest(known.filter((o) => o.completedAt < since));
  if (!last || last.type !== "follow") return false;
  if (known.some((o) => o.type === "unfollow" && o.completedAt > last.invokedAt)) return false;
  return !ops.some(
    (o) => o.outcome === "unknown" && o.type === "unfollow" && o.completedAt + graceMs > last.invokedAt,
  );
}

function checkFollowState(
  pairs: Map<string, Pair>,
  state: FinalState,
  options: CheckOptions,
  flag: Flag,
  stats: CheckStats,
): void {
  for (const pair of pairs.values()) {
    const following = state.following.get(pair.reader);
    if (!following) continue;
    const expected = expectedFinalFollow(pair.ops, options.unknownGraceMs);
    if (expected === undefined) {
      stats.followPairsUndecided++;
      continue;
    }
    stats.followPairsChecked++;
    const actual = following.includes(pair.author);
    if (actual !== expected) {
      const last = latest(pair.ops.filter((o) => o.outcome === "ok"));
      flag(
        "follow-state",
        `${pair.reader} ${actual ? "follows" : "does not follow"} ${pair.author} at the end, but its last ` +
          `acknowledged op was ${last ? `${last.type} (op ${last.id})` : "none"}`,
      );
    }
  }
  for (const [reader, following] of state.following) {
    for (const author of following) {
      const pair = pairs.get(`${reader}→${author}`);
      if (!pair || !pair.ops.some((o) => o.type === "follow" && o.outcome !== "failed")) {
        flag("follow-state", `${reader} follows ${author} though no follow of that pair could have applied`);
      }
    }
  }
}

function checkPosts(
  ops: readonly Op[],
  state: FinalState,
  pairs: Map<string, Pair>,
  options: CheckOptions,
  flag: Flag,
  stats: CheckStats,
): void {
  // Every stored post, by normalised text (texts are unique per post attempt).
  const stored = new Map<string, PostView[]>();
  for (const [author, posts] of state.posts) {
    const ids = new Set<string>();
    for (const post of posts) {
      if (ids.has(post.id)) flag("duplicate-post", `post ${post.id} appears twice on ${author}'s page`);
      ids.add(post.id);
      if (post.author !== author)
        flag("wrong-author", `post ${post.id} by ${post.author} is on ${author}'s page`);
      const key = textKey(post.text);
      stored.set(key, [...(stored.get(key) ?? []), post]);
    }
  }

  // A post a delete was sent for (acknowledged or not) may be gone from everywhere.
  const mayBeDeleted = new Set(
    ops.filter((o) => o.type === "delete" && o.outcome !== "failed" && o.postId).map((o) => o.postId!),
  );
  const attempts = groupBy(
    ops.filter((o) => writesPost(o) && o.text !== undefined),
    (o) => textKey(o.text!),
  );
  for (const [text, group] of attempts) {
    const author = group[0]!.user;
    const found = stored.get(text) ?? [];
    const ok = group.filter((o) => o.outcome === "ok");
    const opIds = group.map((o) => o.id).join(", ");
    if (ok.length > 0) {
      stats.postsAcknowledged++;
      if (found.length === 0 && !ok.some((o) => mayBeDeleted.has(o.postId!)))
        flag("lost-post", `acknowledged post ${ok[0]!.postId} (op ${opIds}) by ${author} is gone`);
      for (const o of ok) {
        if (found.length > 0 && !found.some((p) => p.id === o.postId)) {
          flag(
            "lost-post",
            `acknowledged post id ${o.postId} (op ${o.id}) is not the one stored (${found[0]!.id})`,
          );
        }
      }
    } else if (group.every((o) => o.outcome === "failed")) {
      stats.postsRefused++;
      if (found.length > 0) {
        flag(
          "refused-write-applied",
          `post refused with ${group[0]!.status} (op ${opIds}) was stored as ${found[0]!.id}`,
        );
      }
    } else {
      stats.postsUnknown++;
    }
    if (found.length > 1) {
      flag(
        "duplicate-post",
        `post of op ${opIds} (${group.length} request(s), ${group[0]!.key ? "with" : "without"} ` +
          `Idempotency-Key) stored ${found.length} times: ${found.map((p) => p.id).join(", ")}`,
      );
    }
  }
  for (const [text, posts] of stored) {
    if (!attempts.has(text))
      flag("phantom-post", `post ${posts[0]!.id} by ${posts[0]!.author} was never written`);
  }

  const postIds = new Map<string, PostView>();
  for (const posts of state.posts.values()) for (const p of posts) postIds.set(p.id, p);
  for (const [reader, feed] of state.feeds) {
    const following = new Set(state.following.get(reader) ?? []);
    const seen = new Set<string>();
    for (const post of feed) {
      // A post may be in a feed once as itself and once per repost of it (on different pages).
      const entry = `${post.id}/${post.repostedBy ?? ""}`;
      if (seen.has(entry))
        flag(
          "duplicate-post",
          `post ${post.id}${post.repostedBy ? ` reposted by ${post.repostedBy}` : ""} appears twice in ${reader}'s feed`,
        );
      seen.add(entry);
      const via = post.repostedBy ?? post.author;
      if (!following.has(via)) {
        flag(
          "feed-unfollowed",
          `${reader}'s feed holds post ${post.id} by ${post.author}${post.repostedBy ? ` reposted by ${via}` : ""}, ` +
            `whom they do not follow`,
        );
      }
      if (!postIds.has(post.id))
        flag("phantom-post", `${reader}'s feed holds post ${post.id}, which is on no page`);
    }
  }

  // Each acknowledged post (not a reply: those show only to who follows both sides) must be in
  // the feed of every reader who followed its author from before it was (first) requested until
  // the end, unless a delete of it was sent.
  const feedIds = new Map([...state.feeds].map(([reader, feed]) => [reader, new Set(feed.map((p) => p.id))]));
  // Each pair's ops indexed once (FollowPair): asked once per post of its author.
  const readersOf = groupBy(
    [...pairs.values()]
      .filter((p) => feedIds.has(p.reader))
      .map((p) => ({ ...p, follow: new FollowPair(p.ops, options.unknownGraceMs) })),
    (p) => p.author,
  );
  for (const group of attempts.values()) {
    const ok = group.find((o) => o.outcome === "ok");
    if (!ok?.postId || ok.type !== "post" || mayBeDeleted.has(ok.postId)) continue;
    const since = Math.min(...group.map((o) => o.invokedAt));
    for (const pair of readersOf.get(ok.user) ?? []) {
      if (!pair.follow.followedDuring(since, Number.POSITIVE_INFINITY)) continue;
      stats.feedEntriesExpected++;
      if (!feedIds.get(pair.reader)!.has(ok.postId)) {
        flag(
          "feed-missing",
          `post ${ok.postId} (op ${ok.id}) by ${ok.user} is missing from ${pair.reader}'s feed, who followed ` +
            `${ok.user} throughout`,
        );
      }
    }
  }
}

function latest(ops: readonly Op[]): Op | undefined {
  let best: Op | undefined;
  for (const op of ops) if (!best || op.completedAt > best.completedAt) best = op;
  return best;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
