import { systemClock, type Clock } from "../../shared/clock.js";
import { decodeCursor, encodeCursor } from "../../shared/cursor.js";
import type { Authenticator, FeedSync, FollowGraph } from "../deps.js";
import { invalid } from "../../shared/errors.js";
import { isPostId, newPostId } from "../../shared/ids.js";
import {
  isValidUsername,
  normalizeLimit,
  normalizePostText,
  normalizeUsername,
} from "../../shared/validation.js";
import { Delivery, type DeliveryOptions } from "./delivery.js";
import type { FeedEntry, PostRecord, PostsStorage } from "./storage.js";

export interface PostsDeps {
  auth: Authenticator;
  graph: FollowGraph;
  /** Told about deliveries that failed (the sweeper retries them). */
  onDeliveryError?: (entry: FeedEntry, err: unknown) => void;
}

export interface PostsOptions extends DeliveryOptions {
  /** How many of an author's latest posts a new follower's feed receives. */
  backfillCount: number;
  /** Feed entries read per step; entries by authors no longer followed are skipped. */
  feedReadBatch: number;
  /** Steps a feed page may take before it returns what it has. */
  maxFeedSteps: number;
  /** Undelivered posts a feed read looks at (more are only pending while delivery is behind). */
  pendingReadLimit: number;
}

export const DEFAULT_POSTS_OPTIONS: PostsOptions = {
  backfillCount: 50,
  fanOutBatch: 100,
  feedReadBatch: 50,
  maxFeedSteps: 8,
  pendingReadLimit: 200,
  sweepIntervalMs: 1000,
  sweepAfterMs: 5000,
  sweepBatch: 20,
  feedCap: 1000,
  trimRate: 0.02,
};

export interface PostPage {
  posts: PostRecord[];
  /** "" when there are no more posts (proto3's empty string on the wire). */
  nextCursor: string;
}

/** A page of a reader's feed, naming the reader (so the web tier needs no separate Authenticate). */
export interface FeedPage extends PostPage {
  viewer: string;
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_-]{1,64}$/;
/** Followed accounts read per step, and at most, when a deep feed page is read from the authors. */
const FOLLOWING_PAGE = 100;
const MAX_PULLED_AUTHORS = 5000;

/**
 * Posts and feeds. Feeds are fanned out on write, after the acknowledgement: a post is
 * stored with an "undelivered" note in one transaction, then delivered into every follower's
 * feed in the background (see delivery.ts), so writing costs the same for 10 or 10,000
 * followers. A feed read merges the reader's feed with still-undelivered posts of authors
 * they follow, so a post is visible from the moment it is acknowledged. Reads filter by the
 * follows of this moment, so an unfollow takes effect at once even before its cleanup finishes.
 */
export class PostsService implements FeedSync {
  readonly delivery: Delivery;

  constructor(
    private readonly storage: PostsStorage,
    private readonly deps: PostsDeps,
    private readonly options: PostsOptions = DEFAULT_POSTS_OPTIONS,
    private readonly clock: Clock = systemClock,
  ) {
    this.delivery = new Delivery(storage, deps.graph, options, () => clock.now(), deps.onDeliveryError);
  }

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
    void this.delivery.start({ id: post.id, author: post.author });
    return post;
  }

  async getFeed(token: string, rawLimit: number | undefined, cursor: string | undefined): Promise<FeedPage> {
    // Undelivered posts do not depend on the reader: read them while the token is checked.
    const pendingRead = this.storage.listUndelivered(this.options.pendingReadLimit);
    pendingRead.catch(() => undefined);
    const reader = await this.deps.auth.authenticate(token);
    const limit = normalizeLimit(rawLimit);
    let before = decodeCursor(cursor, isPostId);
    const pageStart = before;
    const pending = await pendingRead;
    let kept: FeedEntry[] = [];
    let prefetched: Promise<PostRecord[]> | undefined;
    let exhausted = false;
    for (let step = 0; step < this.options.maxFeedSteps && kept.length <= limit && !exhausted; step++) {
      const batch = Math.max(this.options.feedReadBatch, limit + 1);
      const entries = await this.storage.readFeed(reader, before, batch);
      exhausted = entries.length < batch;
      // This step covers ids in (floor, before); older ones are the next step's.
      const floor = exhausted ? undefined : entries[entries.length - 1]!.id;
      const candidates = newestFirstUnique([
        ...entries,
        ...pending.filter(
          (p) => (before === undefined || p.id < before) && (floor === undefined || p.id > floor),
        ),
      ]);
      if (candidates.length === 0) break;
      // Usually every entry is by someone still followed: fetch the first page of posts
      // while that is checked, instead of after.
      prefetched ??= this.storage.getPosts(candidates.slice(0, limit).map((e) => e.id));
      const followed = await this.deps.graph.followedAmong(reader, [
        ...new Set(candidates.map((e) => e.author)),
      ]);
      kept.push(...candidates.filter((e) => followed.has(e.author)));
      before = floor ?? candidates[candidates.length - 1]!.id;
    }
    const limitedByTrim = kept.length <= limit && exhausted;
    if (limitedByTrim)
      kept = newestFirstUnique([...kept, ...(await this.olderThanHorizon(reader, pageStart, limit + 1))]);
    const page = kept.slice(0, limit);
    const posts = await this.postsInOrder(
      page.map((e) => e.id),
      (await prefetched) ?? [],
    );
    const more = kept.length > limit || !exhausted;
    const lastId = page.length > 0 ? page[page.length - 1]!.id : before;
    return { posts, nextCursor: more && lastId ? encodeCursor(lastId) : "", viewer: reader };
  }

  /**
   * Below a feed's horizon (where trimming removed entries) the feed is read from the authors
   * the reader follows now: up to `count` posts strictly older than `before` and at or below
   * the horizon. Only deep pages of long feeds come here; they cost one range per followed
   * account (128 to a transaction).
   */
  private async olderThanHorizon(
    reader: string,
    before: string | undefined,
    count: number,
  ): Promise<FeedEntry[]> {
    const horizon = await this.storage.feedHorizon(reader);
    if (horizon === undefined) return [];
    const authors: string[] = [];
    for (let after: string | undefined; authors.length < MAX_PULLED_AUTHORS;) {
      const page = await this.deps.graph.followingPage(reader, after, FOLLOWING_PAGE);
      authors.push(...page);
      if (page.length < FOLLOWING_PAGE) break;
      after = page[page.length - 1];
    }
    const posts = await this.storage.listPostsByAuthors(authors, before, count);
    return newestFirstUnique(posts.filter((p) => p.id <= horizon)).slice(0, count);
  }

  /** The posts with these ids, in order, reading only those not already at hand. */
  private async postsInOrder(ids: string[], atHand: PostRecord[]): Promise<PostRecord[]> {
    const byId = new Map(atHand.map((p) => [p.id, p]));
    const missing = ids.filter((id) => !byId.has(id));
    if (missing.length > 0) for (const p of await this.storage.getPosts(missing)) byId.set(p.id, p);
    return ids.flatMap((id) => {
      const post = byId.get(id);
      return post ? [post] : [];
    });
  }

  async listUserPosts(
    rawUser: unknown,
    rawLimit: number | undefined,
    cursor: string | undefined,
  ): Promise<PostPage> {
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
    if (!isValidUsername(reader) || !isValidUsername(author))
      throw invalid("reader and author must be usernames");
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
}

/** Entries sorted newest first, each post once. */
function newestFirstUnique(entries: FeedEntry[]): FeedEntry[] {
  const byId = new Map(entries.map((e) => [e.id, e]));
  return [...byId.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}
