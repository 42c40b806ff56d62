import type { FeedItem, Post, Thread } from "../../gen/flock/posts/v1/posts.js";
import { systemClock, type Clock } from "../../shared/clock.js";
import { decodeCursor, encodeCursor } from "../../shared/cursor.js";
import { alreadyExists, invalid, notFound, permissionDenied, unauthenticated } from "../../shared/errors.js";
import {
  isValidUsername,
  normalizeLimit,
  normalizePostText,
  normalizeUsername,
} from "../../shared/validation.js";
import type { Keys } from "../../storage/keys.js";
import type { Freshness } from "../../storage/watch-cache.js";
import type { AccountsView } from "../accounts/view.js";
import type { Authenticator, Viewer } from "../shared/auth.js";
import type { GraphView } from "../graph/view.js";
import type { ChangeOutcome, PostsFacts } from "./facts.js";
import type { PostPresenter } from "./present.js";
import { isTag, MAX_QUERY_TERMS, normalizeTag, parseMentions, parseTags, searchTerms } from "./text.js";
import type { PostEntry, PostsView, Slice, TimelineEntry } from "./view.js";

export interface PostPage {
  items: FeedItem[];
  /** "" when there is no next page. */
  nextCursor: string;
}

/** A home feed page, and whose it is (so the web tier needs no second call to know the viewer). */
export interface FeedPage extends PostPage {
  viewer: string;
}

export interface NamePage {
  usernames: string[];
  nextCursor: string;
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_-]{1,64}$/;
/** A post id (a revision), in a request or inside a cursor. */
const POST_ID = /^[1-9][0-9]{0,15}$/;
/** Ancestors a thread shows at most (a longer chain is cut at the top). */
const MAX_ANCESTORS = 40;
const MAX_QUERY_LENGTH = 200;
/** Accounts one GetProfiles call may ask for. */
const MAX_PROFILES = 200;

export interface Profile {
  username: string;
  id: string;
  createdAtMs: number;
  displayName: string;
  bio: string;
  followers: number;
  following: number;
  posts: number;
  lastPostAtMs: number;
}

/**
 * Posts, feeds, threads and reactions. Each change is one fact; every backend's view derives
 * timelines, counts and indexes from the facts, so a home feed page is a merge over the
 * followed accounts' timelines, computed in memory after one shared freshness check, and the
 * cost of a post does not depend on its audience.
 */
export class PostsService {
  constructor(
    private readonly facts: PostsFacts,
    private readonly view: PostsView,
    private readonly graph: GraphView,
    private readonly accounts: AccountsView,
    private readonly present: PostPresenter,
    private readonly freshness: Freshness,
    private readonly auth: Authenticator,
    private readonly keys: Keys,
    private readonly clock: Clock = systemClock,
  ) {}

  async createPost(
    token: string,
    rawText: unknown,
    idempotencyKey = "",
    requestId = "",
    rawInReplyTo = "",
  ): Promise<Post> {
    const viewer = await this.auth.authenticateForWrite(token, "write:statuses");
    const text = normalizePostText(rawText);
    if (idempotencyKey !== "" && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw invalid("idempotency key must be 1–64 characters of A–Z, a–z, 0–9, _ and -");
    }
    const parent = rawInReplyTo === "" ? undefined : await this.replyTarget(viewer, rawInReplyTo);
    const mentions = await this.existingAccounts(parseMentions(text));
    const outcome = await this.facts.createPost(
      viewer,
      {
        id: "",
        author: viewer.username,
        text,
        createdAtMs: this.clock.now(),
        inReplyTo: parent ? String(parent.id) : "",
        inReplyToAuthor: parent?.author ?? "",
        mentions,
        tags: parseTags(text),
        editedAtMs: 0,
      },
      requestId,
      idempotencyKey || undefined,
      parent && { key: this.view.storeKey(parent), id: parent.id, author: parent.author },
    );
    if (outcome.kind === "session-gone") throw unauthenticated("session expired or revoked");
    if (outcome.kind === "key-spent")
      throw alreadyExists("this idempotency key was used for a post that has been deleted");
    if (outcome.kind === "no-parent") throw notFound("the post you reply to does not exist");
    if (outcome.kind === "blocked") throw permissionDenied("you cannot reply to this account");
    await this.freshness.reached(outcome.id);
    const post = this.view.post(outcome.id);
    if (!post) throw notFound("the post was deleted in the meantime");
    return (await this.present.posts([post], viewer.username))[0]!;
  }

  async getPost(token: string, rawId: string): Promise<Post> {
    const viewer = await this.readerOf(token);
    const post = this.visiblePost(parsePostId(rawId), viewer);
    return (await this.present.posts([post], viewer))[0]!;
  }

  async getThread(
    token: string,
    rawId: string,
    rawLimit: number | undefined,
    cursor: string | undefined,
  ): Promise<Thread> {
    const id = parsePostId(rawId);
    const limit = normalizeLimit(rawLimit);
    const after = decodePostCursor(cursor);
    const viewer = await this.readerOf(token);
    const post = this.visiblePost(id, viewer);
    const ancestors: (PostEntry | number)[] = [];
    for (let up = post.inReplyTo; up !== 0 && ancestors.length < MAX_ANCESTORS;) {
      const parent = this.view.anyPost(up);
      const shown =
        parent && !parent.deleted && !(viewer !== "" && this.graph.eitherBlocks(viewer, parent.author));
      ancestors.unshift(shown ? parent : up);
      // A deleted (or hidden) ancestor ends the chain: what was above it is not its to show.
      up = shown ? parent.inReplyTo : 0;
    }
    const replies = this.view.replies(id, after, limit, viewer);
    const livingAncestors = ancestors.filter((a): a is PostEntry => typeof a !== "number");
    const [presentedAncestors, [presentedPost], presentedReplies] = await Promise.all([
      this.present.posts(livingAncestors, viewer),
      this.present.posts([post], viewer),
      this.present.posts(replies.entries, viewer),
    ]);
    const byId = new Map(presentedAncestors.map((p) => [p.id, p]));
    return {
      ancestors: ancestors.map((a) =>
        typeof a === "number" ? this.present.placeholder(a) : byId.get(String(a.id))!,
      ),
      post: presentedPost!,
      replies: presentedReplies,
      nextCursor: cursorAfter(replies),
    };
  }

  /** Deletes the caller's own post; answers it as it was. */
  async deletePost(token: string, rawId: string): Promise<Post> {
    const id = parsePostId(rawId);
    const viewer = await this.auth.authenticate(token, "write:statuses");
    const post = this.view.post(id);
    if (!post) throw notFound(`no post ${id}`);
    if (post.author !== viewer.username) throw permissionDenied("you can only delete your own posts");
    const [before] = await this.present.posts([post], viewer.username);
    await this.settle(
      await this.facts.deletePost(viewer, {
        key: this.view.storeKey(post),
        id,
        repostedBy: this.view.repostersOf(id),
      }),
      id,
    );
    return before!;
  }

  like(token: string, rawId: string): Promise<Post> {
    return this.react(token, rawId, (post, user) => this.keys.like(post, user), true, "write:favourites");
  }

  unlike(token: string, rawId: string): Promise<Post> {
    return this.react(token, rawId, (post, user) => this.keys.like(post, user), false, "write:favourites");
  }

  repost(token: string, rawId: string): Promise<Post> {
    return this.react(token, rawId, (post, user) => this.keys.repost(post, user), true, "write:statuses");
  }

  /** Reposts (idempotently) and answers the post with the repost's own id (Mastodon's reblog id). */
  async repostWithId(token: string, rawId: string): Promise<{ post: Post; repostId: string }> {
    const post = await this.repost(token, rawId);
    const viewer = await this.auth.authenticateForWrite(token, "write:statuses");
    const repost = this.view.repostOf(viewer.username, Number(post.id));
    if (!repost) throw notFound(`no post ${post.id}`);
    return { post, repostId: String(repost.id) };
  }

  unrepost(token: string, rawId: string): Promise<Post> {
    return this.react(token, rawId, (post, user) => this.keys.repost(post, user), false, "write:statuses");
  }

  async listLikes(
    token: string,
    rawId: string,
    rawLimit: number | undefined,
    cursor: string | undefined,
  ): Promise<NamePage> {
    return this.reactions(token, rawId, rawLimit, cursor, (id, before, limit) =>
      this.view.likers(id, before, limit),
    );
  }

  async listReposts(
    token: string,
    rawId: string,
    rawLimit: number | undefined,
    cursor: string | undefined,
  ): Promise<NamePage> {
    return this.reactions(token, rawId, rawLimit, cursor, (id, before, limit) =>
      this.view.reposters(id, before, limit),
    );
  }

  /**
   * A page of the caller's home feed: newest first below the cursor, or (with `afterId`, for
   * Mastodon's min_id) the `limit` oldest entries above that id, still answered newest first.
   */
  async getFeed(
    token: string,
    rawLimit: number | undefined,
    cursor: string | undefined,
    rawAfterId = "",
  ): Promise<FeedPage> {
    const limit = normalizeLimit(rawLimit);
    const before = decodePostCursor(cursor);
    const after = parseAfterId(rawAfterId);
    const viewer = (await this.auth.authenticate(token, "read:statuses")).username;
    const slice =
      after === undefined
        ? this.view.feed(viewer, before, limit)
        : this.view.feedAfter(viewer, after, before, limit);
    return { ...(await this.page(slice, viewer, after !== undefined)), viewer };
  }

  async listUserPosts(
    token: string,
    rawUser: unknown,
    rawLimit: number | undefined,
    cursor: string | undefined,
    rawAfterId = "",
  ): Promise<PostPage> {
    const author = normalizeUsername(rawUser);
    const limit = normalizeLimit(rawLimit);
    const before = decodePostCursor(cursor);
    const after = parseAfterId(rawAfterId);
    const viewer = await this.readerOf(token);
    return this.page(
      this.view.authorTimeline(author, before, limit, viewer, after),
      viewer,
      after !== undefined,
    );
  }

  async countUserPosts(rawUser: unknown): Promise<number> {
    const author = normalizeUsername(rawUser);
    await this.freshness.fresh();
    return this.view.countPosts(author);
  }

  async listTagPosts(
    token: string,
    rawTag: string,
    rawLimit: number | undefined,
    cursor: string | undefined,
    rawAfterId = "",
  ): Promise<PostPage> {
    const tag = normalizeTag(rawTag.replace(/^#/, ""));
    if (!isTag(tag)) throw invalid("a tag is 1–64 letters, digits or _, not only digits");
    const limit = normalizeLimit(rawLimit);
    const before = decodePostCursor(cursor);
    const after = parseAfterId(rawAfterId);
    const viewer = await this.readerOf(token);
    return this.page(this.view.tagged(tag, before, limit, viewer, after), viewer, after !== undefined);
  }

  async searchPosts(
    token: string,
    query: string,
    rawLimit: number | undefined,
    cursor: string | undefined,
  ): Promise<PostPage> {
    if (query.length > MAX_QUERY_LENGTH) throw invalid(`a query is at most ${MAX_QUERY_LENGTH} characters`);
    const terms = searchTerms(query, true).slice(0, MAX_QUERY_TERMS);
    const limit = normalizeLimit(rawLimit);
    const before = decodePostCursor(cursor);
    const viewer = await this.readerOf(token, "read:search");
    return this.page(this.view.search(terms, before, limit, viewer), viewer);
  }

  /**
   * Accounts with their counts, by username or numeric id, in the order asked (unknown ones
   * left out): what a client shows beside a page of posts, in one call.
   */
  async getProfiles(rawNames: readonly string[], rawIds: readonly string[]): Promise<Profile[]> {
    if (rawNames.length + rawIds.length > MAX_PROFILES)
      throw invalid(`ask for at most ${MAX_PROFILES} accounts at once`);
    await this.freshness.fresh();
    const found = [
      ...rawNames.map((name) =>
        isValidUsername(name) ? this.accounts.account(name.toLowerCase()) : undefined,
      ),
      ...rawIds.map((id) => (POST_ID.test(id) ? this.accounts.accountById(Number(id)) : undefined)),
    ];
    const seen = new Set<string>();
    const profiles: Profile[] = [];
    for (const account of found) {
      if (!account || seen.has(account.username)) continue;
      seen.add(account.username);
      profiles.push({
        username: account.username,
        id: String(account.revision),
        createdAtMs: account.createdAtMs,
        displayName: account.displayName,
        bio: account.bio,
        followers: this.graph.countFollowers(account.username),
        following: this.graph.countFollowing(account.username),
        posts: this.view.countPosts(account.username),
        lastPostAtMs: this.view.lastPostAtMs(account.username),
      });
    }
    return profiles;
  }

  /** Accounts and live posts, as of now (instance statistics: O(authors), asked rarely). */
  async stats(): Promise<{ accounts: number; posts: number }> {
    await this.freshness.fresh();
    return { accounts: this.accounts.accountCount, posts: this.view.countAllPosts() };
  }

  /** The viewer behind an optional token (""), after a freshness check either way. */
  private async readerOf(token: string, scope = "read:statuses"): Promise<string> {
    if (token === "") {
      await this.freshness.fresh();
      return "";
    }
    return (await this.auth.authenticate(token, scope)).username;
  }

  /** A live post `viewer` may see (NOT_FOUND otherwise: a block hides the post's existence). */
  private visiblePost(id: number, viewer: string): PostEntry {
    const post = this.view.post(id);
    if (!post || (viewer !== "" && this.graph.eitherBlocks(viewer, post.author)))
      throw notFound(`no post ${id}`);
    return post;
  }

  private async replyTarget(viewer: Viewer, rawId: string): Promise<PostEntry> {
    const id = parsePostId(rawId);
    let parent = this.view.post(id);
    if (!parent) {
      await this.freshness.fresh();
      parent = this.view.post(id);
      if (!parent) throw notFound("the post you reply to does not exist");
    }
    if (this.graph.eitherBlocks(viewer.username, parent.author))
      throw permissionDenied("you cannot reply to this account");
    return parent;
  }

  /** The names of accounts that exist, looking again (fresh) only when some are unknown to the view. */
  private async existingAccounts(names: readonly string[]): Promise<string[]> {
    if (names.some((name) => !this.accounts.account(name))) await this.freshness.fresh();
    return names.filter((name) => this.accounts.account(name) !== undefined);
  }

  private async react(
    token: string,
    rawId: string,
    keyOf: (postId: number, user: string) => string,
    add: boolean,
    scope: string,
  ): Promise<Post> {
    const id = parsePostId(rawId);
    const viewer = await this.auth.authenticateForWrite(token, scope);
    let post = this.view.post(id);
    if (!post) {
      await this.freshness.fresh();
      post = this.view.post(id);
      if (!post) throw notFound(`no post ${id}`);
    }
    if (add && this.graph.isBlocking(post.author, viewer.username))
      throw permissionDenied("you cannot react to this post");
    const key = keyOf(id, viewer.username);
    const outcome = add
      ? await this.facts.react(
          viewer,
          key,
          { key: this.view.storeKey(post), id, author: post.author },
          this.clock.now(),
        )
      : await this.facts.unreact(viewer, key);
    await this.settle(outcome, id);
    const now = this.view.post(id);
    if (!now) throw notFound(`no post ${id}`);
    return (await this.present.posts([now], viewer.username))[0]!;
  }

  /** Who reacted to a post `token`'s holder may see (NOT_FOUND when a block hides it from them). */
  private async reactions(
    token: string,
    rawId: string,
    rawLimit: number | undefined,
    cursor: string | undefined,
    read: (
      id: number,
      before: number | undefined,
      limit: number,
    ) => Slice<{ user: string; revision: number }>,
  ): Promise<NamePage> {
    const id = parsePostId(rawId);
    const limit = normalizeLimit(rawLimit);
    const before = decodePostCursor(cursor);
    this.visiblePost(id, await this.readerOf(token));
    const slice = read(id, before, limit);
    const last = slice.entries[slice.entries.length - 1];
    return {
      usernames: slice.entries.map((r) => r.user),
      nextCursor: slice.more && last ? encodeCursor(String(last.revision)) : "",
    };
  }

  private async settle(outcome: ChangeOutcome, id: number): Promise<void> {
    if (outcome.kind === "session-gone") throw unauthenticated("session expired or revoked");
    if (outcome.kind === "gone") throw notFound(`no post ${id}`);
    if (outcome.kind === "blocked") throw permissionDenied("you cannot react to this post");
    await this.freshness.reached(outcome.revision);
  }

  /** A page of entries; an ascending one (`afterId`) has no next cursor: the caller pages by ids. */
  private async page(slice: Slice<TimelineEntry>, viewer: string, ascending = false): Promise<PostPage> {
    return {
      items: await this.present.items(slice.entries, viewer),
      nextCursor: ascending ? "" : cursorAfter(slice),
    };
  }
}

function cursorAfter(slice: Slice<{ id: number }>): string {
  const last = slice.entries[slice.entries.length - 1];
  return slice.more && last ? encodeCursor(String(last.id)) : "";
}

function parsePostId(raw: string): number {
  if (!POST_ID.test(raw)) throw invalid("a post id is a positive whole number");
  return Number(raw);
}

/** An `afterId` (Mastodon's min_id): "" for none, else a post id. */
function parseAfterId(raw: string): number | undefined {
  if (raw === "") return undefined;
  if (!POST_ID.test(raw)) throw invalid("after_id is a positive whole number");
  return Number(raw);
}

function decodePostCursor(cursor: string | undefined): number | undefined {
  const position = decodeCursor(cursor, (p) => POST_ID.test(p));
  return position === undefined ? undefined : Number(position);
}
