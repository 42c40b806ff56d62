import type { Post } from "../../gen/flock/posts/v1/posts.js";
import { systemClock, type Clock } from "../../shared/clock.js";
import { decodeCursor, encodeCursor } from "../../shared/cursor.js";
import { alreadyExists, invalid, unauthenticated } from "../../shared/errors.js";
import { normalizeLimit, normalizePostText, normalizeUsername } from "../../shared/validation.js";
import type { Freshness } from "../../storage/watch-cache.js";
import type { Authenticator } from "../auth.js";
import type { PostsFacts } from "./facts.js";
import type { PostEntry, PostSlice, PostsView } from "./view.js";

export interface PostPage {
  posts: Post[];
  /** "" when there is no next page. */
  nextCursor: string;
}

/** A home feed page, and whose it is (so the web tier needs no second call to know the viewer). */
export interface FeedPage extends PostPage {
  viewer: string;
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_-]{1,64}$/;
/** A post id (a revision) inside a cursor. */
const POST_ID = /^[1-9][0-9]{0,15}$/;

/**
 * Posts and feeds. A post is one fact; every backend's view derives timelines from the
 * facts, so a home feed page is a merge over the followed accounts' timelines, computed in
 * memory after one shared freshness check — nothing is fanned out, so the cost of a post
 * does not depend on its audience, and an unfollow or a new post shows on the next read.
 */
export class PostsService {
  constructor(
    private readonly facts: PostsFacts,
    private readonly view: PostsView,
    private readonly freshness: Freshness,
    private readonly auth: Authenticator,
    private readonly clock: Clock = systemClock,
  ) {}

  async createPost(token: string, rawText: unknown, idempotencyKey = "", requestId = ""): Promise<Post> {
    const viewer = await this.auth.authenticateForWrite(token);
    const text = normalizePostText(rawText);
    if (idempotencyKey !== "" && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw invalid("idempotency key must be 1–64 characters of A–Z, a–z, 0–9, _ and -");
    }
    const outcome = await this.facts.createPost(
      viewer,
      { id: "", author: viewer.username, text, createdAtMs: this.clock.now(), inReplyTo: "" },
      requestId,
      idempotencyKey || undefined,
    );
    if (outcome.kind === "session-gone") throw unauthenticated("session expired or revoked");
    if (outcome.kind === "key-spent")
      throw alreadyExists("this idempotency key was used for a post that has been deleted");
    await this.freshness.reached(outcome.id);
    const post = this.view.post(outcome.id);
    // Deleted already (by its author, on another replica, in between): it was created, though.
    if (!post)
      return { id: String(outcome.id), author: viewer.username, text, createdAtMs: this.clock.now() };
    return (await this.present([post]))[0]!;
  }

  async getFeed(token: string, rawLimit: number | undefined, cursor: string | undefined): Promise<FeedPage> {
    const limit = normalizeLimit(rawLimit);
    const before = decodePostCursor(cursor);
    const viewer = await this.auth.authenticate(token);
    return { ...(await this.page(this.view.feed(viewer.username, before, limit))), viewer: viewer.username };
  }

  async listUserPosts(
    rawUser: unknown,
    rawLimit: number | undefined,
    cursor: string | undefined,
  ): Promise<PostPage> {
    const author = normalizeUsername(rawUser);
    const limit = normalizeLimit(rawLimit);
    const before = decodePostCursor(cursor);
    await this.freshness.fresh();
    return this.page(this.view.authorPosts(author, before, limit));
  }

  async countUserPosts(rawUser: unknown): Promise<number> {
    const author = normalizeUsername(rawUser);
    await this.freshness.fresh();
    return this.view.countPosts(author);
  }

  private async page(slice: PostSlice): Promise<PostPage> {
    const last = slice.posts[slice.posts.length - 1];
    return {
      posts: await this.present(slice.posts),
      nextCursor: slice.more && last ? encodeCursor(String(last.id)) : "",
    };
  }

  /** Wire posts, reading from the store only the texts the view let go. */
  private async present(posts: readonly PostEntry[]): Promise<Post[]> {
    const missing = posts.filter((p) => p.text === undefined).map((p) => this.view.storeKey(p));
    const texts = missing.length > 0 ? await this.facts.texts(missing) : new Map<string, string>();
    return posts.map((p) => ({
      id: String(p.id),
      author: p.author,
      text: p.text ?? texts.get(this.view.storeKey(p)) ?? "",
      createdAtMs: p.createdAtMs,
    }));
  }
}

function decodePostCursor(cursor: string | undefined): number | undefined {
  const position = decodeCursor(cursor, (p) => POST_ID.test(p));
  return position === undefined ? undefined : Number(position);
}
