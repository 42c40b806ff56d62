import { createHash, randomBytes } from "node:crypto";
import { PostRecord } from "../../gen/flock/storage/v1/records.js";
import { absent, get, put, text, type Compare, type Op } from "../../storage/kv.js";
import type { Keys } from "../../storage/keys.js";
import type { LeaseBuckets } from "../../storage/lease-buckets.js";
import type { FactWriter } from "../../storage/writer.js";
import { sessionStillValid, type Viewer } from "../auth.js";

/** etcd runs at most 128 operations in one txn. */
const MAX_TXN_OPS = 128;

export type CreateOutcome =
  | { kind: "created" | "existing"; id: number }
  | { kind: "session-gone" }
  /** The Idempotency-Key made a post that has been deleted since. */
  | { kind: "key-spent" };

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
  ): Promise<CreateOutcome> {
    const postKey = this.keys.post(postKeyFor(viewer.username, requestId));
    const idemKey = idempotencyKey ? this.keys.idempotency(viewer.username, idempotencyKey) : undefined;
    const value = PostRecord.encode(post).finish();
    const send = (lease?: string) => {
      const compare: Compare[] = [sessionStillValid(viewer), absent(postKey)];
      const success: Op[] = [put(postKey, value)];
      const failure: Op[] = [get(viewer.sessionKey), get(postKey)];
      if (idemKey) {
        compare.push(absent(idemKey));
        success.push(put(idemKey, postKey, lease));
        failure.push(get(idemKey));
      }
      return this.writer.txn({ compare, success, failure });
    };
    const answer = idemKey ? await this.idempotencyLeases.withLease(send) : await send();
    if (answer.succeeded) return { kind: "created", id: answer.revision };

    const [session, samePost, sameKey] = answer.results.map((r) => r?.kvs[0]);
    if (samePost) return { kind: "existing", id: samePost.createRevision };
    if (sameKey) {
      const earlier = (await this.writer.range({ key: text(sameKey.value) })).kvs[0];
      return earlier ? { kind: "existing", id: earlier.createRevision } : { kind: "key-spent" };
    }
    if (!session || session.createRevision !== viewer.sessionRevision) return { kind: "session-gone" };
    throw new Error(`post ${postKey}: create refused, yet neither it nor its idempotency key's post exists`);
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
