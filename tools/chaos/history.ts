/**
 * The vocabulary shared by the workload, the recorder, the checker and the report: one
 * record per client operation, with when it was invoked and completed and how it ended.
 */

export type OpType =
  | "signup"
  | "login"
  | "logout"
  | "follow"
  | "unfollow"
  | "post"
  | "feed"
  | "reply"
  | "like"
  | "unlike"
  | "repost"
  | "unrepost"
  | "delete"
  | "block"
  | "unblock";

/**
 * ok: a 2xx answer (acknowledged). failed: a definite 4xx (the system refused; nothing applied).
 * unknown: 5xx, timeout or connection error: it may or may not have been applied, now or later.
 */
export type Outcome = "ok" | "failed" | "unknown";

export const OP_TYPES: readonly OpType[] = [
  "signup",
  "login",
  "logout",
  "follow",
  "unfollow",
  "post",
  "feed",
  "reply",
  "like",
  "unlike",
  "repost",
  "unrepost",
  "delete",
  "block",
  "unblock",
];
/** Operations that change state: the ones that count as "a write succeeded" after a fault. */
export const WRITE_TYPES: ReadonlySet<OpType> = new Set(OP_TYPES.filter((type) => type !== "feed"));

/** Operations that write a post (its text unique per attempt): a top-level post or a reply. */
export const writesPost = (op: Op): boolean => op.type === "post" || op.type === "reply";

// Loops, not Math.max(...ops): a long run's history is more arguments than the stack holds.

/** When the last request with an unknown outcome ended (0: none did). */
export function lastUnknownAt(ops: readonly Op[]): number {
  let last = 0;
  for (const o of ops) if (o.outcome === "unknown" && o.completedAt > last) last = o.completedAt;
  return last;
}

/** The id of the newest acknowledged post or reply (0: none). */
export function newestAcknowledgedPost(ops: readonly Op[]): number {
  let newest = 0;
  for (const o of ops) {
    if (writesPost(o) && o.outcome === "ok" && o.postId) newest = Math.max(newest, Number(o.postId));
  }
  return newest;
}

export interface Op {
  id: number;
  /** The virtual user that issued it; -1 for the harness (heal probes). */
  process: number;
  type: OpType;
  /** The acting user: the account signed up or logged in, or the owner of the token used. */
  user: string;
  /** follow / unfollow / block / unblock: whom. */
  target?: string;
  /** signup / login: the password sent. */
  password?: string;
  /** login: the token it returned; logout and the others: the token used. */
  token?: string;
  /** post: the text sent (unique per post attempt; a retry with the same Idempotency-Key reuses it). */
  text?: string;
  /** post: the Idempotency-Key header, when one was sent. */
  key?: string;
  /** Milliseconds since the run started (monotonic clock). */
  invokedAt: number;
  completedAt: number;
  outcome: Outcome;
  /** HTTP status, 0 when there was none (timeout, connection error). */
  status: number;
  /**
   * post / reply: the id the API acknowledged. like / unlike / repost / unrepost / delete: the
   * post acted on.
   */
  postId?: string;
  /** reply: the post it answers, and that post's author. */
  inReplyTo?: string;
  inReplyToAuthor?: string;
  /**
   * feed: the ids of the posts on the page it read, newest first (the run's reads are checked
   * too): the authors' own entries only, each at its commit position.
   */
  feedIds?: string[];
  /** feed: the ids of the posts the page shows as someone's repost (positioned by the repost). */
  feedRepostIds?: string[];
  /** feed: entries on the page, reposts included. */
  feedSize?: number;
  error?: string;
}

export interface FaultRecord {
  kind: string;
  /** Which form of the kind, e.g. "leader-isolated" for a partition. */
  variant: string;
  /** What was hit, e.g. "etcd1 (leader, pid 1234)". */
  target: string;
  /** When the fault was injected and when the faulty part was back (null: never), ms since the run started. */
  at: number;
  healedAt: number | null;
  /** When getting there began, when that took a while (filling the disk); ms since the run started. */
  preparedAt?: number;
  wallClock: string;
  notes?: string;
  /**
   * While it lasted no write could be acknowledged (the clients could only reach a minority):
   * a write requested after `from` and answered before `to` that was acknowledged is a violation.
   */
  noAckWindow?: { from: number; to: number };
}

/** A post as the API returns it. */
export interface PostView {
  id: string;
  author: string;
  text: string;
  createdAt: string;
  /** In feeds and pages: who reposted it, for an entry that is a repost (null or absent: the post itself). */
  repostedBy?: string | null;
  inReplyTo?: string | null;
  likes?: number;
  reposts?: number;
}

export interface Violation {
  kind: string;
  message: string;
}

/**
 * The follow and unfollow ops of a history, each block standing for an unfollow of both
 * directions besides (a block ends the follows between the two accounts, both ways, in its own
 * transaction, and no follow between them applies while it stands).
 */
export function followChanges(ops: readonly Op[]): Op[] {
  const changes: Op[] = [];
  for (const o of ops) {
    if (!o.target) continue;
    if (o.type === "follow" || o.type === "unfollow") changes.push(o);
    else if (o.type === "block") {
      changes.push({ ...o, type: "unfollow" }, { ...o, type: "unfollow", user: o.target, target: o.user });
    }
  }
  return changes;
}
