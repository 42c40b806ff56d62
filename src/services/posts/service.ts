import { systemClock, type Clock } from "../../shared/clock.js";
import { decodeCursor, encodeCursor } from "../../shared/cursor.js";
import type { Authenticator, FeedSync, FollowGraph } from "../../shared/deps.js";
import { invalid } from "../../shared/errors.js";
import { isPostId, newPostId } from "../../shared/ids.js";
import { isValidUsername, normalizeLimit, normalizePostText, normalizeUsername } from "../../shared/validation.js";
import type { FeedEntry, PostRecord, PostsStorage } from "./storage.js";

export interface PostsDeps {
  auth: Authenticator;
  graph: FollowGraph;
}

export interface PostsOptions {
  /** How many of an author's latest posts a new follower's feed receives. */
  backfillCount: number;
  /** Followers read (and fanned out to) per step while delivering a post. */
  fanOutBatch: number;
  /** Feed entries read per step; entries by authors no longer followed are skipped. */
  feedReadBatch: number;
  /** Steps a feed page may take before it returns what it has. */
  maxFeedSteps: number;
}

export const DEFAULT_POSTS_OPTIONS: PostsOptions = {
  backfillCount: 50,
  fanOutBatch: 100,
  feedReadBatch: 50,
  maxFeedSteps: 8,
};

export interface PostPage {
  posts: PostRecord[];
  nextCursor: string;
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Posts and feeds. Feeds are fanned out on write: a new post's id lands in every
 * follower's feed before the post is acknowledged. Reads filter by the follows of
 * this moment, so an unfollow takes effect at once even before its cleanup finishes.
 */
export class PostsService implements FeedSync {
  constructor(
    private readonly storage: PostsStorage,
    private readonly deps: PostsDeps,
    private readonly options: PostsOptions = DEFAULT_POSTS_OPTIONS,
    private readonly clock: Clock = systemClock,
  ) {}

  async createPost(token: string, rawText: unknown, idempotencyKey = ""): Promise<PostRecord> {
    const author = await this.deps.auth.authenticate(token);
    const text = normalizePostText(rawText);
    if (idempotencyKey !== "" && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw invalid("idempotency key must be 1–64 characters of A–Z, a–z, 0–9, _ and -");
    }
    const now = this.clock.now();
    const post = await this.storage.createPost(
      { id: newPostId(now), author, text, createdAtMs: now },
      idempotencyKey || undefined,
    );
    await this.fanOut(post);
    return post;
  }

  async getFeed(token: string, rawLimit: number | undefined, cursor: string | undefined): Promise<PostPage> {
    const reader = await this.deps.auth.authenticate(token);
    const limit = normalizeLimit(rawLimit);
    let before = decodeCursor(cursor, isPostId);
    const kept: FeedEntry[] = [];
    let exhausted = false;
    for (let step = 0; step < this.options.maxFeedSteps && kept.length <= limit && !exhausted; step++) {
      const batch = Math.max(this.options.feedReadBatch, limit + 1);
      const entries = await this.storage.readFeed(reader, before, batch);
      exhausted = entries.length < batch;
      if (entries.length === 0) break;
      const followed = await this.deps.graph.followedAmong(reader, [...new Set(entries.map((e) => e.author))]);
      kept.push(...entries.filter((e) => followed.has(e.author)));
      before = entries[entries.length - 1]!.id;
    }
    const page = kept.slice(0, limit);
    const posts = await this.storage.getPosts(page.map((e) => e.id));
    const more = kept.length > limit || !exhausted;
    const lastId = page.length > 0 ? page[page.length - 1]!.id : before;
    return { posts, nextCursor: more && lastId ? encodeCursor(lastId) : "" };
  }

  async listUserPosts(rawUser: unknown, rawLimit: number | undefined, cursor: string | undefined): Promise<PostPage> {
    const author = normalizeUsername(rawUser);
    const limit = normalizeLimit(rawLimit);
    const before = decodeCursor(cursor, isPostId);
    const posts = await this.storage.listAuthorPosts(author, before, limit + 1);
    const page = posts.slice(0, limit);
    return { posts: page, nextCursor: posts.length > limit ? encodeCursor(page[page.length - 1]!.id) : "" };
  }

  async countUserPosts(rawUser: unknown): Promise<number> {
    return this.storage.countAuthorPosts(normalizeUsername(rawUser));
  }

  /** Idempotent: driven by the follow fact as stored now, whoever calls and however often. */
  async syncFeedWithFollow(reader: string, author: string): Promise<void> {
    if (!isValidUsername(reader) || !isValidUsername(author)) throw invalid("reader and author must be usernames");
    if (await this.deps.graph.isFollowing(reader, author)) {
      const recent = await this.storage.listAuthorPosts(author, undefined, this.options.backfillCount);
      await this.storage.addToFeed(
        reader,
        recent.map((p) => ({ id: p.id, author: p.author })),
      );
    } else {
      await this.storage.removeAuthorFromFeed(reader, author);
    }
  }

  /** Delivers a post to every follower's feed, a batch of followers at a time. */
  private async fanOut(post: PostRecord): Promise<void> {
    const entry = { id: post.id, author: post.author };
    let after: string | undefined;
    for (;;) {
      const followers = await this.deps.graph.followersPage(post.author, after, this.options.fanOutBatch);
      if (followers.length > 0) await this.storage.fanOut(followers, entry);
      if (followers.length < this.options.fanOutBatch) return;
      after = followers[followers.length - 1];
    }
  }
}
