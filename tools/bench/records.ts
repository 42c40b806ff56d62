import type { IRequestOp } from "etcd3";
import { AccountRecord, PostRecord, SessionRecord } from "../../src/gen/flock/storage/v1/records.js";
import { hashToken } from "../../src/services/accounts/tokens.js";
import { putOp } from "../../src/storage/etcd/client.js";
import type { KeyLayout } from "../../src/storage/etcd/keys.js";

/**
 * The records a bulk seed writes, built exactly as the services write them: the keys from
 * KeyLayout, the values from the generated protobuf encoders (or the plain values the
 * graph and posts storages use). Seeding with these is the same data the API would have
 * written, minus the per-request work.
 */
export class SeedRecords {
  constructor(readonly keys: KeyLayout) {}

  account(username: string, passwordHash: string, createdAtMs: number): IRequestOp[] {
    const record = AccountRecord.encode({ username, passwordHash, createdAtMs }).finish();
    return [putOp(this.keys.account(username), record)];
  }

  /** A session as a login stores it: under the sha256 of the token, on a lease. */
  session(
    token: string,
    username: string,
    leaseId: string,
    nowMs: number,
    expiresAtMs: number,
  ): IRequestOp[] {
    const record = SessionRecord.encode({ username, createdAtMs: nowMs, expiresAtMs }).finish();
    return [putOp(this.keys.session(hashToken(token)), record, { id: leaseId })];
  }

  /** Both directions of a follow, as the graph storage writes them (followed-at ms, decimal). */
  follow(follower: string, followee: string, atMs: number): IRequestOp[] {
    const since = String(atMs);
    return [
      putOp(this.keys.following(follower, followee), since),
      putOp(this.keys.follower(followee, follower), since),
    ];
  }

  /** A post and its entry in the author's timeline. */
  post(post: PostRecord): IRequestOp[] {
    return [
      putOp(this.keys.post(post.id), PostRecord.encode(post).finish()),
      putOp(this.keys.authorPost(post.author, post.id), ""),
    ];
  }

  /** A post fanned out to one reader's feed, with the by-author index entry. */
  feedEntry(reader: string, postId: string, author: string): IRequestOp[] {
    return [
      putOp(this.keys.feedEntry(reader, postId), author),
      putOp(this.keys.feedEntryByAuthor(reader, author, postId), ""),
    ];
  }
}
