import { createHash, randomBytes } from "node:crypto";
import { DeletedPostRecord, PostRecord } from "../../gen/flock/storage/v1/records.js";
import {
  absent,
  del,
  get,
  prefixEnd,
  put,
  text,
  type Compare,
  type Op,
  type TxnResult,
} from "../../storage/kv.js";
import type { Keys } from "../../storage/keys.js";
import type { LeaseBuckets } from "../../storage/lease-buckets.js";
import type { FactWriter } from "../../storage/writer.js";
import { sessionStillValid, type Viewer } from "../shared/auth.js";

/** etcd runs at most 128 operations in one txn. */
const MAX_TXN_OPS = 128;

export type CreateOutcome =
  | { kind: "created" | "existing"; id: number }
  | { kind: "session-gone" }
  /** The Idempotency-Key made a post that has been deleted since. */
  | { kind: "key-spent" }
  /** The post it answers is gone, or its author blocks the caller. */
  | { kind: "no-parent" }
  | { kind: "blocked" };

/** What a reply needs to hold at commit: the parent still there, no block between the two. */
export interface ParentCheck {
  key: string;
  id: number;
  author: string;
}

export type ChangeOutcome =
  { kind: "done"; revision: number } | { kind: "session-gone" } | { kind: "gone" } | { kind: "blocked" };

/**
 * The posts service's facts: a post is one txn of one key (two when the client sent an
 * Idempotency-Key), whatever the author's audience; nothing is written per follower.
 */
export class PostsFacts {
  constructor(
    private readonly writer: FactWriter,
    private readonly keys: Keys,
    private readonly idempotencyLeases: LeaseBuckets,
  ) {}

  /**
   * Stores a post once. Its key is derived from the author and the request's id, so a
   * request re-sent after a lost answer (by the etcd client or by gRPC) finds the post it
   * made; a client's Idempotency-Key finds the post that key made earlier, for a day.
   * The post's id is the create revision of its key.
   */
  async createPost(
    viewer: Viewer,
    post: PostRecord,
    requestId: string,
    idempotencyKey: string | undefined,
    parent?: ParentCheck,
  ): Promise<CreateOutcome> {
    const postKey = this.keys.post(postKeyFor(viewer.username, requestId));
    const idemKey = idempotencyKey ? this.keys.idempotency(viewer.username, idempotencyKey) : undefined;
    const blockKey = parent ? this.keys.block(parent.author, viewer.username) : undefined;
    const value = PostRecord.encode(post).finish();
    const send = (lease?: string) => {
      const compare: Compare[] = [sessionStillValid(viewer), absent(postKey)];
      const success: Op[] = [put(postKey, value)];
      const failure: Op[] = [get(viewer.sessionKey), get(postKey)];
      if (parent && blockKey) {
        compare.push({ key: parent.key, target: "createRevision", equals: parent.id }, absent(blockKey));
        failure.push(get(parent.key), get(blockKey));
      }
      if (idemKey) {
        compare.push(absent(idemKey));
        success.push(put(idemKey, postKey, lease));
        failure.push(get(idemKey));
      }
      return this.writer.txn({ compare, success, failure });
    };
    const answer = idemKey ? await this.idempotencyLeases.withLease(send) : await send();
    if (answer.succeeded) return { kind: "created", id: answer.revision };

    const [session, samePost, ...rest] = answer.results.map((r) => r?.kvs[0]);
    const [parentNow, block] = parent ? rest : [];
    const sameKey = rest[parent ? 2 : 0];
    if (samePost) return { kind: "existing", id: samePost.createRevision };
    if (sameKey) {
      const earlier = (await this.writer.range({ key: text(sameKey.value) })).kvs[0];
      return earlier ? { kind: "existing", id: earlier.createRevision } : { kind: "key-spent" };
    }
    if (!session || session.createRevision !== viewer.sessionRevision) return { kind: "session-gone" };
    if (parent && parentNow?.createRevision !== parent.id) return { kind: "no-parent" };
    if (block) return { kind: "blocked" };
    throw new Error(`post ${postKey}: create refused, yet neither it nor its idempotency key's post exists`);
  }

  /**
   * Deletes a post with its likes and reposts, in one txn, while it is still the author's, and
   * leaves its tombstone: the delete as a fact a view loaded later still knows (streams resuming
   * from before it are sent it). `repostedBy` is who had reposted it, as the caller's view knew.
   */
  async deletePost(
    viewer: Viewer,
    post: { key: string; id: number; repostedBy: readonly string[] },
  ): Promise<ChangeOutcome> {
    const tombstone = DeletedPostRecord.encode({
      author: viewer.username,
      repostedBy: [...post.repostedBy],
    }).finish();
    const answer = await this.writer.txn({
      compare: [sessionStillValid(viewer), { key: post.key, target: "createRevision", equals: post.id }],
      success: [
        del(post.key),
        put(this.keys.deletedPost(post.id), tombstone),
        { type: "delete", key: this.keys.likesOf(post.id), end: prefixEnd(this.keys.likesOf(post.id)) },
        { type: "delete", key: this.keys.repostsOf(post.id), end: prefixEnd(this.keys.repostsOf(post.id)) },
      ],
      failure: [get(viewer.sessionKey)],
    });
    return this.settled(viewer, answer);
  }

  /**
   * A like or a repost (`key`), while the post exists and its author does not block the
   * caller. A put of a fixed value when absent: repeating it writes nothing.
   */
  async react(viewer: Viewer, key: string, post: { key: string; id: number; author: string }, nowMs: number) {
    const blockKey = this.keys.block(post.author, viewer.username);
    const answer = await this.writer.txn({
      compare: [
        sessionStillValid(viewer),
        { key: post.key, target: "createRevision", equals: post.id },
        absent(blockKey),
        absent(key),
      ],
      success: [put(key, String(nowMs))],
      failure: [get(viewer.sessionKey), get(post.key), get(blockKey), get(key)],
    });
    if (answer.succeeded) return { kind: "done" as const, revision: answer.revision };
    const [session, postNow, block, existing] = answer.results.map((r) => r?.kvs[0]);
    if (!session || session.createRevision !== viewer.sessionRevision)
      return { kind: "session-gone" as const };
    if (postNow?.createRevision !== post.id) return { kind: "gone" as const };
    if (block) return { kind: "blocked" as const };
    return { kind: "done" as const, revision: existing!.modRevision };
  }

  /** Takes back a like or a repost. Idempotent. */
  async unreact(viewer: Viewer, key: string): Promise<ChangeOutcome> {
    const answer = await this.writer.txn({
      compare: [sessionStillValid(viewer)],
      success: [del(key)],
      failure: [get(viewer.sessionKey)],
    });
    return this.settled(viewer, answer);
  }

  /** Sets a notification mark (read up to, cleared up to) or dismisses one notification. */
  async mark(viewer: Viewer, key: string, value: string): Promise<ChangeOutcome> {
    const answer = await this.writer.txn({
      compare: [sessionStillValid(viewer)],
      success: [put(key, value)],
      failure: [get(viewer.sessionKey)],
    });
    return this.settled(viewer, answer);
  }

  private settled(viewer: Viewer, answer: TxnResult): ChangeOutcome {
    if (answer.succeeded) return { kind: "done", revision: answer.revision };
    const session = answer.results[0]?.kvs[0];
    return !session || session.createRevision !== viewer.sessionRevision
      ? { kind: "session-gone" }
      : { kind: "gone" };
  }

  /** The texts stored under these post keys (for posts whose text the view let go). */
  async texts(postKeys: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (let i = 0; i < postKeys.length; i += MAX_TXN_OPS) {
      const chunk = postKeys.slice(i, i + MAX_TXN_OPS);
      const answer = await this.writer.kv.txn({ success: chunk.map((key) => get(key)) });
      for (const result of answer.results) {
        const kv = result?.kvs[0];
        if (kv) found.set(kv.key, PostRecord.decode(kv.value).text);
      }
    }
    return found;
  }
}

/** A post's key: hex, so snapshots can read posts in small ranges; derived, so re-sends find it. */
export function postKeyFor(author: string, requestId: string): string {
  const seed = requestId === "" ? randomBytes(16).toString("hex") : requestId;
  return createHash("sha256").update(`${author}\n${seed}`).digest("hex").slice(0, 24);
}
