import { SortedSet, sortedSetFor } from "../../../shared/sorted-set.js";
import type { FeedEntry, PostRecord, PostsStorage } from "../storage.js";

/**
 * In-memory posts store. Each method does its reads and writes without an await in
 * between, so interleaved async callers always see it atomically.
 */
export class MemoryPostsStorage implements PostsStorage {
  private readonly posts = new Map<string, PostRecord>();
  private readonly byAuthor = new Map<string, SortedSet>();
  private readonly idempotency = new Map<string, string>();
  /** reader → post ids in their feed; the author of each id is in `posts`. */
  private readonly feeds = new Map<string, SortedSet>();
  private readonly feedAuthors = new Map<string, string>();
  private readonly undelivered = new SortedSet();
  private readonly horizons = new Map<string, string>();

  async createPost(post: PostRecord, idempotencyKey?: string): Promise<PostRecord> {
    const keyName = idempotencyKey ? `${post.author}/${idempotencyKey}` : undefined;
    const earlierId = keyName ? this.idempotency.get(keyName) : undefined;
    const earlier = this.posts.get(earlierId ?? post.id);
    if (earlier) return { ...earlier };
    this.posts.set(post.id, { ...post });
    sortedSetFor(this.byAuthor, post.author).add(post.id);
    if (keyName) this.idempotency.set(keyName, post.id);
    this.undelivered.add(post.id);
    return { ...post };
  }

  async listUndelivered(limit: number): Promise<FeedEntry[]> {
    return this.undelivered
      .ascendingAfter(undefined, limit)
      .map((id) => ({ id, author: this.posts.get(id)!.author }));
  }

  async markDelivered(id: string): Promise<void> {
    this.undelivered.delete(id);
  }

  async getPosts(ids: readonly string[]): Promise<PostRecord[]> {
    return ids.flatMap((id) => {
      const post = this.posts.get(id);
      return post ? [{ ...post }] : [];
    });
  }

  async listAuthorPosts(author: string, before: string | undefined, limit: number): Promise<PostRecord[]> {
    const ids = this.byAuthor.get(author)?.descendingBefore(before, limit) ?? [];
    return ids.map((id) => ({ ...this.posts.get(id)! }));
  }

  async countAuthorPosts(author: string): Promise<number> {
    return this.byAuthor.get(author)?.size ?? 0;
  }

  async addToFeed(reader: string, entries: readonly FeedEntry[]): Promise<void> {
    const feed = sortedSetFor(this.feeds, reader);
    for (const entry of entries) {
      feed.add(entry.id);
      this.feedAuthors.set(entry.id, entry.author);
    }
  }

  async fanOut(readers: readonly string[], entry: FeedEntry): Promise<void> {
    this.feedAuthors.set(entry.id, entry.author);
    for (const reader of readers) sortedSetFor(this.feeds, reader).add(entry.id);
  }

  async readFeed(reader: string, before: string | undefined, limit: number): Promise<FeedEntry[]> {
    const ids = this.feeds.get(reader)?.descendingBefore(before, limit) ?? [];
    return ids.map((id) => ({ id, author: this.feedAuthors.get(id)! }));
  }

  async trimFeed(reader: string, keep: number): Promise<void> {
    const feed = this.feeds.get(reader);
    if (!feed || feed.size <= keep) return;
    const newest = feed.descendingBefore(undefined, keep);
    const oldestKept = newest[newest.length - 1];
    const removed = feed.descendingBefore(oldestKept, Infinity);
    const horizon = this.horizons.get(reader);
    if (removed[0] !== undefined && (horizon === undefined || removed[0] > horizon)) {
      this.horizons.set(reader, removed[0]);
    }
    for (const id of removed) feed.delete(id);
  }

  async feedHorizon(reader: string): Promise<string | undefined> {
    return this.horizons.get(reader);
  }

  async listPostsByAuthors(authors: readonly string[], before: string | undefined, limitEach: number) {
    return authors.flatMap((author) =>
      (this.byAuthor.get(author)?.descendingBefore(before, limitEach) ?? []).map((id) => ({ id, author })),
    );
  }

  async removeAuthorFromFeed(reader: string, author: string): Promise<void> {
    const feed = this.feeds.get(reader);
    if (!feed) return;
    for (const id of this.byAuthor.get(author)?.descendingBefore(undefined, Infinity) ?? []) feed.delete(id);
  }

  async close(): Promise<void> {}
}
