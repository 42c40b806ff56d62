import type { PostRecord } from "../../gen/flock/storage/v1/records.js";

export type { PostRecord };

/** A feed entry: which post, and by whom (so the feed can be filtered by current follows). */
export interface FeedEntry {
  id: string;
  author: string;
}

/**
 * Everything the posts service keeps: posts, each author's list of posts, and each
 * reader's feed (refs fanned out on write). Implementations: storage/memory.ts and
 * storage/etcd.ts; one contract suite (storage.contract.ts) runs against both.
 */
export interface PostsStorage {
  /**
   * Stores a post exactly once, together (atomically) with a note that it still has to be
   * delivered to its author's followers' feeds. When `idempotencyKey` was used by the same
   * author before, or a post with the same id exists, returns the stored post and writes nothing.
   */
  createPost(post: PostRecord, idempotencyKey?: string): Promise<PostRecord>;
  /** Up to `limit` posts not yet marked delivered, oldest first. */
  listUndelivered(limit: number): Promise<FeedEntry[]>;
  /** Marks a post delivered to every follower's feed. Idempotent. */
  markDelivered(id: string): Promise<void>;
  /** The posts with these ids that exist, in the order asked. */
  getPosts(ids: readonly string[]): Promise<PostRecord[]>;
  /** Up to `limit` of an author's posts, newest first, strictly older than `before`. */
  listAuthorPosts(author: string, before: string | undefined, limit: number): Promise<PostRecord[]>;
  countAuthorPosts(author: string): Promise<number>;

  /** Adds entries to one reader's feed. Idempotent. */
  addToFeed(reader: string, entries: readonly FeedEntry[]): Promise<void>;
  /** Adds one entry to many readers' feeds. Idempotent. */
  fanOut(readers: readonly string[], entry: FeedEntry): Promise<void>;
  /** Up to `limit` entries of a reader's feed, newest first, strictly older than `before`. */
  readFeed(reader: string, before: string | undefined, limit: number): Promise<FeedEntry[]>;
  /**
   * Keeps only the newest `keep` entries of a reader's feed, removing older ones (both
   * indexes) so feeds do not grow without bound, and raises the feed's horizon to the newest
   * entry it removed. Idempotent.
   */
  trimFeed(reader: string, keep: number): Promise<void>;
  /** The newest post id ever trimmed from the reader's feed: at and below it the feed is incomplete. */
  feedHorizon(reader: string): Promise<string | undefined>;
  /** For each author, up to `limitEach` of their newest posts strictly older than `before`. */
  listPostsByAuthors(
    authors: readonly string[],
    before: string | undefined,
    limitEach: number,
  ): Promise<FeedEntry[]>;
  /** Removes every entry by `author` from `reader`'s feed. Idempotent. */
  removeAuthorFromFeed(reader: string, author: string): Promise<void>;

  close(): Promise<void>;
}
