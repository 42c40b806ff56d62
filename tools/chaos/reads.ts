import { FEED_PAGE } from "./client.js";
import { FollowPair } from "./follow-pair.js";
import {
  followChanges,
  WRITE_TYPES,
  writesPost,
  type FaultRecord,
  type Op,
  type PostView,
} from "./history.js";
import { firstIndexWhere } from "../../src/shared/sorted.js";

/**
 * The checks on what reads showed while the run went on (issue 12 and 16), beside the final
 * state's: every read that began after an acknowledgement reflects it, feeds keep real-time
 * order, and a minority never acknowledged a write.
 */

type Flag = (kind: string, message: string) => void;

export interface ReadStats {
  /** Feed reads during the run whose page was checked. */
  feedReadsChecked: number;
  /** (read, post) pairs where an acknowledged post had to be on the page. */
  readEntriesExpected: number;
  /** Post lists (run reads, final feeds and pages) checked for real-time order. */
  listsOrderChecked: number;
  /** Writes requested during a window where only a minority was reachable. */
  writesInMinorityWindows: number;
}

/** When a post (all attempts with its text) was first sent and first acknowledged. */
export interface PostTimes {
  author: string;
  invokedAt: number;
  /** +∞ when no attempt was acknowledged (the outcome is unknown). */
  ackedAt: number;
  /** A reply: in a feed only for readers who follow both sides. */
  reply: boolean;
}

/** Revisions are decimal strings: compare them as numbers, never as strings. */
const rev = (id: string) => Number(id);
const textKey = (text: string) => text.normalize("NFC").trim();

export function checkReads(
  ops: readonly Op[],
  finalPosts: ReadonlyMap<string, readonly PostView[]>,
  finalFeeds: ReadonlyMap<string, readonly PostView[]>,
  faults: readonly FaultRecord[],
  graceMs: number,
  flag: Flag,
): ReadStats {
  const stats: ReadStats = {
    feedReadsChecked: 0,
    readEntriesExpected: 0,
    listsOrderChecked: 0,
    writesInMinorityWindows: 0,
  };
  const times = postTimes(ops, finalPosts);
  const pairs = new Map<string, FollowPair>();
  for (const [key, pairOpList] of pairOps(ops)) pairs.set(key, new FollowPair(pairOpList, graceMs));

  // 1. Real-time order: if post B was sent after post A was acknowledged, B is above A in
  //    every list that holds both; and every list is in commit order (ids descending).
  const feedReads = ops.filter((o) => o.type === "feed" && o.outcome === "ok" && o.feedIds);
  for (const read of feedReads)
    checkOrder(read.feedIds!, times, `${read.user}'s feed read (op ${read.id})`, flag);
  for (const [reader, feed] of finalFeeds) {
    // A repost sits at the repost's commit position, under the post's own id: left out here.
    checkOrder(
      feed.filter((p) => !p.repostedBy).map((p) => p.id),
      times,
      `${reader}'s final feed`,
      flag,
    );
  }
  for (const [author, posts] of finalPosts) {
    checkOrder(
      posts.map((p) => p.id),
      times,
      `${author}'s page`,
      flag,
    );
  }
  stats.listsOrderChecked = feedReads.length + finalFeeds.size + finalPosts.size;

  // 2. Read after ack: a feed read that began after a post's acknowledgement, by a reader who
  //    followed its author from before the post was sent until the read ended, shows it (if
  //    it is among the newest FEED_PAGE posts of the feed, which the page holds).
  const acked = ackedByAuthor(times);
  const authorsOf = new Map<string, { author: string; pair: FollowPair }[]>();
  for (const [key, pair] of pairs) {
    const [reader, author] = key.split("→") as [string, string];
    const authors = authorsOf.get(reader);
    if (authors) authors.push({ author, pair });
    else authorsOf.set(reader, [{ author, pair }]);
  }
  // A delete sent (not refused) before a read ended may have taken the post away from it.
  const deleteSent = new Map<string, number>();
  for (const o of ops) {
    if (o.type === "delete" && o.outcome !== "failed" && o.postId)
      deleteSent.set(o.postId, Math.min(deleteSent.get(o.postId) ?? Infinity, o.invokedAt));
  }
  for (const read of feedReads) {
    stats.feedReadsChecked++;
    // A post the page shows as someone's repost is on it too (a page shows each post once).
    const ids = new Set([...read.feedIds!, ...(read.feedRepostIds ?? [])]);
    const full = (read.feedSize ?? read.feedIds!.length) >= FEED_PAGE;
    // A full page reaches down to its oldest entry; a repost's position is not known, so the
    // oldest of the authors' own entries bounds it (every entry is at or above it).
    const oldest = full
      ? read.feedIds!.length > 0
        ? Math.min(...read.feedIds!.map(rev))
        : Number.POSITIVE_INFINITY
      : Number.NEGATIVE_INFINITY;
    for (const { author, pair } of authorsOf.get(read.user) ?? []) {
      const posts = acked.get(author);
      if (!posts) continue;
      // Posts acknowledged after the read began are not owed to it, nor are posts sent before the
      // pair's follow could hold: look only between the two.
      const end = posts.allAckedBeforeFrom(pair.followedOnlySince(read.completedAt));
      for (let i = posts.firstAckedBefore(read.invokedAt); i < end; i++) {
        if (posts.revs[i]! <= oldest) break;
        const id = posts.ids[i]!;
        const t = posts.times[i]!;
        if (t.ackedAt >= read.invokedAt || t.reply) continue;
        if ((deleteSent.get(id) ?? Infinity) < read.completedAt) continue;
        if (!pair.followedDuring(t.invokedAt, read.completedAt)) continue;
        stats.readEntriesExpected++;
        if (!ids.has(id)) {
          flag(
            "stale-read",
            `${read.user}'s feed read (op ${read.id}, began +${read.invokedAt.toFixed(0)} ms) misses post ${id} by ` +
              `${author}, acknowledged at +${t.ackedAt.toFixed(0)} ms, whom ${read.user} followed throughout`,
          );
        }
      }
    }
    // And it shows no post of an author the reader had certainly stopped following before it began.
    for (const id of read.feedIds!) {
      const author = times.get(id)?.author;
      if (author === undefined) continue;
      const pair = pairs.get(`${read.user}→${author}`);
      if (pair?.unfollowedDuring(read.invokedAt, read.completedAt)) {
        flag(
          "stale-read",
          `${read.user}'s feed read (op ${read.id}) shows post ${id} by ${author}, whom ${read.user} had ` +
            "unfollowed (acknowledged) before the read began",
        );
      }
    }
  }

  // 3. Other reads after acknowledgements: a token logged out (acknowledged) is refused by every
  //    later request; an account whose signup was acknowledged is found by later logins and follows.
  const loggedOut = new Map<string, number>();
  for (const o of ops) {
    if (o.type === "logout" && o.outcome === "ok" && o.token) {
      loggedOut.set(o.token, Math.min(loggedOut.get(o.token) ?? Number.POSITIVE_INFINITY, o.completedAt));
    }
  }
  const signedUp = new Map<string, { at: number; password: string }[]>();
  for (const o of ops) {
    if (o.type === "signup" && o.outcome === "ok") {
      const signup = { at: o.completedAt, password: o.password ?? "" };
      const list = signedUp.get(o.user);
      if (list) list.push(signup);
      else signedUp.set(o.user, [signup]);
    }
  }
  for (const o of ops) {
    if (o.type !== "login" && o.type !== "signup" && o.token && o.outcome === "ok") {
      const out = loggedOut.get(o.token);
      if (out !== undefined && o.invokedAt > out) {
        flag(
          "stale-read",
          `op ${o.id} (${o.type} by ${o.user}) was accepted with a token logged out before it was sent`,
        );
      }
    }
    if (o.type === "login" && o.status === 401) {
      const signup = signedUp.get(o.user)?.find((s) => s.at < o.invokedAt && s.password === o.password);
      if (signup)
        flag(
          "stale-read",
          `login op ${o.id} of ${o.user} was refused after the account's signup was acknowledged`,
        );
    }
    if (o.type === "follow" && o.status === 404 && o.target) {
      if (signedUp.get(o.target)?.some((s) => s.at < o.invokedAt)) {
        flag(
          "stale-read",
          `follow op ${o.id} (${o.user} → ${o.target}) answered 404 after ${o.target}'s signup was acknowledged`,
        );
      }
    }
  }

  // 4. A minority never acknowledges a write: while the backends could reach only a minority of
  //    members, no write requested after the partition began was acknowledged before it healed.
  for (const fault of faults) {
    const window = fault.noAckWindow;
    if (!window) continue;
    for (const o of ops) {
      if (!WRITE_TYPES.has(o.type) || o.invokedAt < window.from || o.completedAt > window.to) continue;
      stats.writesInMinorityWindows++;
      if (o.outcome === "ok") {
        flag(
          "minority-ack",
          `${o.type} op ${o.id} by ${o.user} was acknowledged (${o.status}) while only a minority of etcd members ` +
            `was reachable (${fault.kind}/${fault.variant} at +${(fault.at / 1000).toFixed(1)}s)`,
        );
      }
    }
  }
  return stats;
}

/** One author's acknowledged posts, newest commit first, in parallel arrays. */
interface AuthorPosts {
  ids: string[];
  revs: number[];
  times: PostTimes[];
  /** The first index whose post was acknowledged before `t`: every post above it was acknowledged later. */
  firstAckedBefore(t: number): number;
  /** The first index from which every post was acknowledged before `t`. */
  allAckedBeforeFrom(t: number): number;
}

/**
 * Acknowledged posts grouped by author. A long run's history has hundreds of thousands of
 * posts and reads: each read looks only at the posts acknowledged in a window of time, found by
 * binary search over running minimums and maximums of acknowledgement times (commit order and
 * acknowledgement order differ a little, so those, not the times themselves, are monotone).
 */
function ackedByAuthor(times: ReadonlyMap<string, PostTimes>): Map<string, AuthorPosts> {
  const grouped = new Map<string, { id: string; rev: number; t: PostTimes }[]>();
  for (const [id, t] of times) {
    if (t.ackedAt === Number.POSITIVE_INFINITY) continue;
    const entry = { id, rev: rev(id), t };
    const list = grouped.get(t.author);
    if (list) list.push(entry);
    else grouped.set(t.author, [entry]);
  }
  const byAuthor = new Map<string, AuthorPosts>();
  for (const [author, list] of grouped) {
    list.sort((a, b) => b.rev - a.rev);
    const minAckedUpTo: number[] = [];
    let min = Number.POSITIVE_INFINITY;
    for (const { t } of list) minAckedUpTo.push((min = Math.min(min, t.ackedAt)));
    const maxAckedFrom: number[] = new Array<number>(list.length);
    let max = Number.NEGATIVE_INFINITY;
    for (let i = list.length - 1; i >= 0; i--) maxAckedFrom[i] = max = Math.max(max, list[i]!.t.ackedAt);
    byAuthor.set(author, {
      ids: list.map((e) => e.id),
      revs: list.map((e) => e.rev),
      times: list.map((e) => e.t),
      firstAckedBefore: (t) => firstIndexWhere(minAckedUpTo.length, (i) => minAckedUpTo[i]! < t),
      allAckedBeforeFrom: (t) => firstIndexWhere(maxAckedFrom.length, (i) => maxAckedFrom[i]! < t),
    });
  }
  return byAuthor;
}

/**
 * Every stored or acknowledged post by id: its author, when its text was first sent, when it
 * was first acknowledged. Ids come from acknowledgements and from the final pages (an
 * unknown-outcome post that was stored is known only there).
 */
export function postTimes(
  ops: readonly Op[],
  finalPosts: ReadonlyMap<string, readonly PostView[]>,
): Map<string, PostTimes> {
  const byText = new Map<string, PostTimes>();
  for (const o of ops) {
    if (!writesPost(o) || o.text === undefined) continue;
    const key = textKey(o.text);
    const t = byText.get(key) ?? {
      author: o.user,
      invokedAt: o.invokedAt,
      ackedAt: Number.POSITIVE_INFINITY,
      reply: o.type === "reply",
    };
    t.invokedAt = Math.min(t.invokedAt, o.invokedAt);
    if (o.outcome === "ok") t.ackedAt = Math.min(t.ackedAt, o.completedAt);
    byText.set(key, t);
  }
  const times = new Map<string, PostTimes>();
  for (const o of ops) {
    if (writesPost(o) && o.outcome === "ok" && o.postId && o.text !== undefined) {
      times.set(o.postId, byText.get(textKey(o.text))!);
    }
  }
  for (const posts of finalPosts.values()) {
    for (const p of posts) {
      const t = byText.get(textKey(p.text));
      if (t && !times.has(p.id)) times.set(p.id, t);
    }
  }
  return times;
}

/**
 * In a list shown newest first, a post shown above another must not have been acknowledged
 * before the other was even sent; and ids (commit revisions) must descend.
 */
function checkOrder(
  ids: readonly string[],
  times: ReadonlyMap<string, PostTimes>,
  where: string,
  flag: Flag,
): void {
  let earliestAckAbove = Number.POSITIVE_INFINITY;
  let above: string | undefined;
  for (let j = 0; j < ids.length; j++) {
    const id = ids[j]!;
    if (j > 0 && rev(id) > rev(ids[j - 1]!)) {
      flag(
        "order",
        `${where}: post ${id} is below post ${ids[j - 1]}, which is not newer (ids are commit order)`,
      );
    }
    const t = times.get(id);
    if (!t) continue;
    if (earliestAckAbove < t.invokedAt) {
      flag(
        "order",
        `${where}: post ${above} is shown above post ${id}, yet it was acknowledged (+${earliestAckAbove.toFixed(0)} ms) ` +
          `before ${id} was sent (+${t.invokedAt.toFixed(0)} ms)`,
      );
    }
    if (t.ackedAt < earliestAckAbove) {
      earliestAckAbove = t.ackedAt;
      above = id;
    }
  }
}

export function pairOps(ops: readonly Op[]): Map<string, Op[]> {
  const pairs = new Map<string, Op[]>();
  for (const o of followChanges(ops)) {
    const key = `${o.user}→${o.target}`;
    const pair = pairs.get(key);
    if (pair) pair.push(o);
    else pairs.set(key, [o]);
  }
  return pairs;
}
