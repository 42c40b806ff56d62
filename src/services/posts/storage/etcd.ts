import type { IKeyValue, IRequestOp } from "etcd3";
import { PostRecord } from "../../../gen/flock/storage/v1/records.js";
import {
  absent,
  deleteOp,
  EtcdStore,
  getOp,
  MAX_TXN_OPS,
  putOp,
  type EtcdStorageOptions,
} from "../../../storage/etcd/client.js";
import {
  keyAfter,
  lastSegment,
  newestFirst,
  postIdOfTimelineKey,
  prefixEnd,
} from "../../../storage/etcd/keys.js";
import { postIdTime } from "../../../shared/ids.js";
import type { FeedEntry, PostsStorage } from "../storage.js";

/** Feed entries removed per step of an unfollow cleanup: two deletes each, one txn per step. */
const REMOVE_BATCH = MAX_TXN_OPS / 2;

/**
 * Posts and fanned-out feeds in etcd (layout in storage/etcd/keys.ts). A post is written
 * once, guarded by compares, so a re-sent create finds it instead of duplicating it; feed
 * entries are plain puts and deletes, so re-sending them is harmless.
 */
export class EtcdPostsStorage implements PostsStorage {
  private readonly etcd: EtcdStore;

  constructor(options: EtcdStorageOptions) {
    this.etcd = new EtcdStore(options);
  }

  /**
   * One txn: when neither the post id nor the author's idempotency key exists, write the
   * post, its timeline entry and the key; otherwise read both back in the same round trip
   * and return what is stored.
   */
  async createPost(post: PostRecord, idempotencyKey?: string): Promise<PostRecord> {
    const { keys } = this.etcd;
    const postKey = keys.post(post.id);
    const idemKey = idempotencyKey === undefined ? undefined : keys.idempotency(post.author, idempotencyKey);
    const answer = await this.etcd.txn({
      compare: [absent(postKey), ...(idemKey ? [absent(idemKey)] : [])],
      success: [
        putOp(postKey, PostRecord.encode(post).finish()),
        putOp(keys.authorPost(post.author, post.id), ""),
        putOp(keys.undelivered(post.id), post.author),
        ...(idemKey ? [putOp(idemKey, post.id)] : []),
      ],
      failure: [getOp(postKey), ...(idemKey ? [getOp(idemKey)] : [])],
    });
    if (answer.succeeded) return post;

    const [samePost, sameKey] = answer.responses.map((r) => r.response_range.kvs[0]);
    const earlierId = sameKey?.value.toString();
    if (earlierId === undefined || earlierId === post.id) {
      if (samePost) return PostRecord.decode(samePost.value);
    } else {
      const [earlier] = await this.getPosts([earlierId]);
      if (earlier) return earlier;
    }
    throw new Error(
      `post ${post.id}: create refused, yet neither the post nor its idempotency key's post exists`,
    );
  }

  async listUndelivered(limit: number): Promise<FeedEntry[]> {
    if (limit <= 0) return [];
    const prefix = this.etcd.keys.undeliveredPosts();
    const found = await this.etcd.range({ key: Buffer.from(prefix), range_end: prefixEnd(prefix), limit });
    return found.kvs.map((kv) => ({ id: lastSegment(kv.key.toString()), author: kv.value.toString() }));
  }

  async markDelivered(id: string): Promise<void> {
    await this.etcd.txn({ success: [deleteOp(this.etcd.keys.undelivered(id))] });
  }

  /** One txn of gets (per MAX_TXN_OPS ids), in the order asked. */
  async getPosts(ids: readonly string[]): Promise<PostRecord[]> {
    if (ids.length === 0) return [];
    const answers = await this.etcd.readInBatches(ids.map((id) => getOp(this.etcd.keys.post(id))));
    return answers.flatMap((answer) => answer.kvs.map((kv) => PostRecord.decode(kv.value)));
  }

  async listAuthorPosts(author: string, before: string | undefined, limit: number): Promise<PostRecord[]> {
    const found = await this.newestFirst(this.etcd.keys.authorPostsOf(author), before, limit, true);
    return this.getPosts(found.map((kv) => postIdOfTimelineKey(kv.key.toString())));
  }

  async countAuthorPosts(author: string): Promise<number> {
    const prefix = this.etcd.keys.authorPostsOf(author);
    const found = await this.etcd.range({
      key: Buffer.from(prefix),
      range_end: prefixEnd(prefix),
      count_only: true,
    });
    return Number(found.count);
  }

  async addToFeed(reader: string, entries: readonly FeedEntry[]): Promise<void> {
    await this.etcd.writeInBatches(entries.flatMap((entry) => this.feedEntryOps(reader, entry)));
  }

  /** 64 readers per txn (two keys each), a few txns in flight: cost grows with readers, not history. */
  async fanOut(readers: readonly string[], entry: FeedEntry): Promise<void> {
    await this.etcd.writeInBatches(readers.flatMap((reader) => this.feedEntryOps(reader, entry)));
  }

  async readFeed(reader: string, before: string | undefined, limit: number): Promise<FeedEntry[]> {
    const found = await this.newestFirst(this.etcd.keys.feedOf(reader), before, limit, false);
    return found.map((kv) => ({ id: postIdOfTimelineKey(kv.key.toString()), author: kv.value.toString() }));
  }

  /**
   * Counts the feed (count-only), and only when it is over `keep` finds the first entry past
   * the newest `keep` (keys only) and deletes from there on in bounded batches, with their
   * by-author mirrors (the entry's value names the author).
   */
  async trimFeed(reader: string, keep: number): Promise<void> {
    const { keys } = this.etcd;
    const prefix = keys.feedOf(reader);
    const all = { key: Buffer.from(prefix), range_end: prefixEnd(prefix) };
    const counted = await this.etcd.range({ ...all, count_only: true });
    if (Number(counted.count) <= keep) return;
    const newest = await this.etcd.range({ ...all, limit: keep, keys_only: true });
    const lastKept = newest.kvs[newest.kvs.length - 1];
    let from = lastKept ? keyAfter(lastKept.key.toString()) : Buffer.from(prefix);
    let first = true;
    for (;;) {
      const older = await this.etcd.range({ key: from, range_end: all.range_end, limit: REMOVE_BATCH });
      if (older.kvs.length === 0) return;
      // The newest entry about to go bounds what the feed may now miss: recorded before any
      // delete, so a trim cut short still leaves its horizon behind.
      if (first) await this.raiseHorizon(reader, postIdOfTimelineKey(older.kvs[0]!.key.toString()));
      first = false;
      await this.etcd.txn({
        success: older.kvs.flatMap((kv) => {
          const id = postIdOfTimelineKey(kv.key.toString());
          return [
            deleteOp(kv.key.toString()),
            deleteOp(keys.feedEntryByAuthor(reader, kv.value.toString(), id)),
          ];
        }),
      });
      if (!older.more) return;
      from = keyAfter(older.kvs[older.kvs.length - 1]!.key.toString());
    }
  }

  async feedHorizon(reader: string): Promise<string | undefined> {
    const found = await this.etcd.range({ key: Buffer.from(this.etcd.keys.feedHorizon(reader)) });
    return found.kvs[0]?.value.toString();
  }

  /** One range per author, a txn of up to 128 of them: the deep pages of a trimmed feed. */
  async listPostsByAuthors(
    authors: readonly string[],
    before: string | undefined,
    limitEach: number,
  ): Promise<FeedEntry[]> {
    if (authors.length === 0 || limitEach <= 0) return [];
    const { keys } = this.etcd;
    const answers = await this.etcd.readInBatches(
      authors.map((author) => {
        const prefix = keys.authorPostsOf(author);
        const start = before === undefined ? Buffer.from(prefix) : keyAfter(prefix + newestFirst(before));
        return {
          request_range: { key: start, range_end: prefixEnd(prefix), limit: limitEach, keys_only: true },
        };
      }),
    );
    return answers.flatMap((answer, i) =>
      answer.kvs.map((kv) => ({ id: postIdOfTimelineKey(kv.key.toString()), author: authors[i]! })),
    );
  }

  /** Sets the horizon to `id` unless it is already at or above it (ids compare as strings). */
  private async raiseHorizon(reader: string, id: string): Promise<void> {
    const key = this.etcd.keys.feedHorizon(reader);
    for (let attempt = 0; attempt < 5; attempt++) {
      const raised = await this.etcd.txn({
        compare: [{ key: Buffer.from(key), target: "Value", result: "Less", value: Buffer.from(id) }],
        success: [putOp(key, id)],
        failure: [getOp(key)],
      });
      if (raised.succeeded || raised.responses[0]!.response_range.kvs.length > 0) return;
      const created = await this.etcd.txn({ compare: [absent(key)], success: [putOp(key, id)] });
      if (created.succeeded) return;
    }
  }

  /** Bounded steps: read a batch of this author's entries via the by-author index, delete them, repeat. */
  async removeAuthorFromFeed(reader: string, author: string): Promise<void> {
    const { keys } = this.etcd;
    const prefix = keys.feedByAuthorOf(reader, author);
    for (;;) {
      const found = await this.etcd.range({
        key: Buffer.from(prefix),
        range_end: prefixEnd(prefix),
        limit: REMOVE_BATCH,
        keys_only: true,
      });
      const ids = found.kvs.map((kv) => lastSegment(kv.key.toString()));
      if (ids.length > 0) {
        await this.etcd.txn({
          success: ids.flatMap((id) => [
            deleteOp(keys.feedEntry(reader, id)),
            deleteOp(keys.feedEntryByAuthor(reader, author, id)),
          ]),
        });
      }
      if (!found.more) return;
    }
  }

  async close(): Promise<void> {
    this.etcd.close();
  }

  private feedEntryOps(reader: string, entry: FeedEntry): IRequestOp[] {
    const { keys } = this.etcd;
    return [
      putOp(keys.feedEntry(reader, entry.id), entry.author),
      putOp(keys.feedEntryByAuthor(reader, entry.author, entry.id), ""),
    ];
  }

  /**
   * Up to `limit` timeline keys under `prefix` for posts strictly older than `before`, newest
   * first. Timeline keys are newestFirst(id), so this is an ascending range. etcd 3.4 walks
   * its whole in-memory index over [key, range_end) even when a limit is set, so the range
   * is also bounded in time: posts of the last hour before `before`, and only if those are
   * too few, of a day, a week, a month, then all. A page costs what its window holds, not
   * the whole history.
   */
  private async newestFirst(
    prefix: string,
    before: string | undefined,
    limit: number,
    keysOnly: boolean,
  ): Promise<IKeyValue[]> {
    if (limit <= 0) return [];
    const from = before === undefined ? Buffer.from(prefix) : keyAfter(prefix + newestFirst(before));
    const topMs = before === undefined ? Date.now() + CLOCK_SKEW_MS : postIdTime(before);
    for (const windowMs of TIME_WINDOWS_MS) {
      const oldestMs = topMs - windowMs;
      const unbounded = !(oldestMs > 0);
      const rangeEnd = unbounded
        ? prefixEnd(prefix)
        : keyAfter(prefix + newestFirst(oldestPostIdAt(oldestMs)));
      const found = await this.etcd.range({ key: from, range_end: rangeEnd, limit, keys_only: keysOnly });
      if (found.kvs.length >= limit || unbounded) return found.kvs;
    }
    return [];
  }
}

/** Growing windows a newest-first read tries, each only when the previous held too few posts. */
const HOUR_MS = 3_600_000;
const TIME_WINDOWS_MS = [HOUR_MS, 24 * HOUR_MS, 7 * 24 * HOUR_MS, 30 * 24 * HOUR_MS, Infinity];
/** Posts stamped by a backend whose clock runs ahead still fall in the first window. */
const CLOCK_SKEW_MS = 60_000;

/** The smallest post id of a millisecond: every post of `ms` or later sorts at or above it. */
function oldestPostIdAt(ms: number): string {
  return String(ms).padStart(13, "0") + "000000000000";
}
