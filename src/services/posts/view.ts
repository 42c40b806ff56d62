import { DeletedPostRecord, PostRecord } from "../../gen/flock/storage/v1/records.js";
import type { KeyValue, WatchEvent } from "../../storage/kv.js";
import { text as textOf } from "../../storage/kv.js";
import { Keys } from "../../storage/keys.js";
import { firstIndexWhere, lowerBoundById } from "../../shared/sorted.js";
import type { Projection } from "../../storage/watch-cache.js";
import type { GraphView } from "../graph/view.js";
import { mergeNewestFirst, mergeOldestFirst, type Slice } from "./merge.js";
import { RecentTexts, textCost } from "./recent-texts.js";
import { searchTerms } from "./text.js";

/** A post as the view holds it. Its id is the revision that created it: ids sort in commit order. */
export interface PostEntry {
  id: number;
  /** The last segment of the post's key, to read its text from the store when the view let it go. */
  key: string;
  author: string;
  createdAtMs: number;
  /** Undefined once the view's text budget let it go (read from the store on demand). */
  text: string | undefined;
  /** The id of the post this one answers (0: none), and its author when this was written. */
  inReplyTo: number;
  inReplyToAuthor: string;
  mentions: readonly string[];
  tags: readonly string[];
  replies: number;
  likes: number;
  reposts: number;
  deleted: boolean;
}

/** A repost: `by` shared `post`; its id is the revision that created the repost. */
export interface RepostEntry {
  id: number;
  post: PostEntry;
  by: string;
  createdAtMs: number;
}

/** What an author's timeline, and so a feed, holds: their posts and their reposts. */
export type TimelineEntry = PostEntry | RepostEntry;

export const isRepost = (entry: TimelineEntry): entry is RepostEntry => "post" in entry;
export const postOf = (entry: TimelineEntry): PostEntry => (isRepost(entry) ? entry.post : entry);

export interface PostsViewOptions {
  /**
   * Bytes of post text the view keeps; older posts' texts beyond it are read from the store on
   * demand. An eighth of it holds the texts so read most recently.
   */
  textBudgetBytes: number;
}

export type { Slice } from "./merge.js";

export interface DeletedPost {
  revision: number;
  id: number;
  author: string;
  /** Who had reposted it (their followers may have seen it). */
  repostedBy: readonly string[];
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * Posts as every backend holds them, derived from the `p/` facts: every post in commit order,
 * each author's timeline (posts and reposts in commit order), replies per post, likes and
 * reposts per post (so counts are O(1)), hashtags and a word index for search. A home feed
 * page is a merge, newest first, over the timelines of the accounts the reader follows: a heap
 * of one cursor per followed account, so a page costs O(followed + limit·log followed),
 * whatever the history, and posting costs the same for 10 or 10,000 followers.
 */
export class PostsView implements Projection {
  readonly prefixes: readonly string[];
  /** Every post ever loaded or created, deleted ones marked, in id (= commit) order. */
  private all: PostEntry[] = [];
  private sorted = true;
  private readonly timelines = new Map<string, TimelineEntry[]>();
  private readonly postCounts = new Map<string, number>();
  private readonly repliesOf = new Map<number, PostEntry[]>();
  private readonly likesOf = new Map<number, Map<string, number>>();
  private readonly repostsOf = new Map<number, Map<string, RepostEntry>>();
  private readonly byTag = new Map<string, PostEntry[]>();
  private readonly byWord = new Map<string, PostEntry[]>();
  /**
   * Every delete, in commit order: from the tombstones (`p/gone/`) at load, then as applied. A
   * stream resuming from any revision is sent the deletes after it (a few dozen bytes each).
   */
  private deletes: DeletedPost[] = [];
  /** Likes and reposts seen while loading, applied once every post is in place. */
  private pendingReactions: KeyValue[] = [];
  private textBytes = 0;
  /** Texts of `all[0 .. evictedUpTo)` have been let go (oldest first). */
  private evictedUpTo = 0;
  /** What the posts' own texts may take: the budget less the recently read texts' share. */
  private readonly keptTextBudget: number;
  private readonly recentTexts: RecentTexts;

  constructor(
    private readonly keys: Keys,
    private readonly graph: GraphView,
    options: PostsViewOptions,
  ) {
    this.prefixes = [keys.posts, keys.likes, keys.reposts, keys.deletedPosts];
    const recentShare = Math.floor(options.textBudgetBytes / 8);
    this.recentTexts = new RecentTexts(recentShare);
    this.keptTextBudget = options.textBudgetBytes - recentShare;
  }

  reset(): void {
    this.all = [];
    this.sorted = true;
    for (const map of [this.timelines, this.postCounts, this.repliesOf, this.likesOf, this.repostsOf])
      map.clear();
    this.byTag.clear();
    this.byWord.clear();
    this.deletes = [];
    this.pendingReactions = [];
    this.textBytes = 0;
    this.evictedUpTo = 0;
    this.recentTexts.clear();
  }

  load(kvs: readonly KeyValue[]): void {
    for (const kv of kvs) {
      if (kv.key.startsWith(this.keys.posts)) {
        this.all.push(this.entryOf(kv));
        this.sorted = false;
      } else if (kv.key.startsWith(this.keys.deletedPosts)) {
        this.deletes.push(this.tombstoneOf(kv));
      } else {
        this.pendingReactions.push(kv);
      }
    }
  }

  loaded(): void {
    this.ensureSorted();
    this.deletes.sort((a, b) => a.revision - b.revision);
    for (const post of this.all) this.index(post);
    // Reactions in commit order, so each author's timeline stays in order when reposts join it.
    const reactions = this.pendingReactions.sort((a, b) => a.createRevision - b.createRevision);
    this.pendingReactions = [];
    for (const kv of reactions) this.react(kv, true);
    for (const timeline of this.timelines.values()) timeline.sort((a, b) => a.id - b.id);
    this.enforceBudget();
  }

  apply(event: WatchEvent): void {
    const { key } = event.kv;
    if (key.startsWith(this.keys.posts)) {
      if (event.type === "put") this.putPost(event.kv);
      else if (event.prevKv) this.removePost(event.prevKv.createRevision, event.kv.modRevision);
    } else if (key.startsWith(this.keys.deletedPosts)) {
      if (event.type === "put") this.recordDelete(this.tombstoneOf(event.kv));
    } else if (event.type === "put") {
      this.react(event.kv, false);
    } else if (event.prevKv) {
      this.unreact(event.prevKv);
    }
  }

  /** The live (not deleted) post with this id. */
  post(id: number): PostEntry | undefined {
    const post = this.find(id);
    return post && !post.deleted ? post : undefined;
  }

  /** Calls `visit` with every live post, in commit order. */
  forEachPost(visit: (post: PostEntry) => void): void {
    this.ensureSorted();
    for (const post of this.all) if (!post.deleted) visit(post);
  }

  /** The post with this id, deleted ones included (a thread shows a deleted parent as such). */
  anyPost(id: number): PostEntry | undefined {
    return this.find(id);
  }

  /**
   * Up to `limit` entries of `reader`'s home feed, newest first, with ids below `before`:
   * posts and reposts by the accounts they follow, without muted accounts, without replies
   * to people they neither follow nor are (Mastodon's rule), each post at most once a page.
   */
  feed(reader: string, before: number | undefined, limit: number): Slice<TimelineEntry> {
    const timelines: TimelineEntry[][] = [];
    for (const author of this.graph.followingOf(reader)) {
      const timeline = this.timelines.get(author);
      if (timeline) timelines.push(timeline);
    }
    return mergeNewestFirst(timelines, before ?? Infinity, limit, (entry) => this.inFeed(reader, entry));
  }

  /**
   * The `limit` oldest entries of `reader`'s home feed with ids above `after` (and below
   * `before`), answered newest first: Mastodon's min_id, a client catching up from an id.
   */
  feedAfter(reader: string, after: number, before: number | undefined, limit: number): Slice<TimelineEntry> {
    const timelines: TimelineEntry[][] = [];
    for (const author of this.graph.followingOf(reader)) {
      const timeline = this.timelines.get(author);
      if (timeline) timelines.push(timeline);
    }
    return mergeOldestFirst(timelines, after, before ?? Infinity, limit, (entry) =>
      this.inFeed(reader, entry),
    );
  }

  /** Entries of `reader`'s home feed with ids above `after`, oldest first (a stream resuming). */
  feedSince(reader: string, after: number): TimelineEntry[] {
    const entries: TimelineEntry[] = [];
    for (const author of this.graph.followingOf(reader)) {
      const timeline = this.timelines.get(author) ?? [];
      for (let i = upperBound(timeline, after); i < timeline.length; i++) {
        if (this.inFeed(reader, timeline[i]!)) entries.push(timeline[i]!);
      }
    }
    return entries.sort((a, b) => a.id - b.id);
  }

  /** Whether an entry belongs in `reader`'s home feed (its author's timeline being followed). */
  inFeed(reader: string, entry: TimelineEntry): boolean {
    const post = postOf(entry);
    if (post.deleted || !this.visibleTo(reader, post)) return false;
    if (isRepost(entry)) return !this.graph.isMuting(reader, entry.by);
    if (post.inReplyTo !== 0) {
      const parentAuthor = post.inReplyToAuthor;
      if (parentAuthor !== reader && !this.graph.isFollowing(reader, parentAuthor)) return false;
    }
    return true;
  }

  /** Whether `viewer` ("" for anonymous) may see a post: not when either blocks the other, not a muted author's. */
  visibleTo(viewer: string, post: PostEntry): boolean {
    if (viewer === "") return true;
    return !this.graph.eitherBlocks(viewer, post.author) && !this.graph.isMuting(viewer, post.author);
  }

  /**
   * Up to `limit` of `author`'s timeline (posts and reposts), newest first, below `before`; with
   * `after`, the `limit` oldest above it (answered newest first).
   */
  authorTimeline(
    author: string,
    before: number | undefined,
    limit: number,
    viewer: string,
    after?: number,
  ): Slice<TimelineEntry> {
    const timeline = this.timelines.get(author);
    if (!timeline || (viewer !== "" && this.graph.eitherBlocks(viewer, author)))
      return { entries: [], more: false };
    const keep = (entry: TimelineEntry) => {
      const post = postOf(entry);
      return !post.deleted && (viewer === "" || !this.graph.eitherBlocks(viewer, post.author));
    };
    return after === undefined
      ? mergeNewestFirst([timeline], before ?? Infinity, limit, keep)
      : mergeOldestFirst([timeline], after, before ?? Infinity, limit, keep);
  }

  /** When `author`'s newest post was written (0: none). Reposts are not theirs. */
  lastPostAtMs(author: string): number {
    const timeline = this.timelines.get(author) ?? [];
    for (let i = timeline.length - 1; i >= 0; i--) {
      const entry = timeline[i]!;
      if (!isRepost(entry)) return entry.createdAtMs;
    }
    return 0;
  }

  countPosts(author: string): number {
    return this.postCounts.get(author) ?? 0;
  }

  /** Live posts of every author (walks the authors: for rare callers). */
  countAllPosts(): number {
    let total = 0;
    for (const count of this.postCounts.values()) total += count;
    return total;
  }

  /** Direct replies to a post, oldest first, with ids above `after`. */
  replies(id: number, after: number | undefined, limit: number, viewer: string): Slice<PostEntry> {
    const replies = this.repliesOf.get(id) ?? [];
    const entries: PostEntry[] = [];
    let i = after === undefined ? 0 : upperBound(replies, after);
    for (; i < replies.length && entries.length < limit; i++) {
      const reply = replies[i]!;
      if (!reply.deleted && (viewer === "" || !this.graph.eitherBlocks(viewer, reply.author)))
        entries.push(reply);
    }
    return { entries, more: i < replies.length };
  }

  /** Who liked a post, newest first, with like revisions below `before`. */
  likers(id: number, before: number | undefined, limit: number): Slice<{ user: string; revision: number }> {
    return newestReactions(
      [...(this.likesOf.get(id) ?? new Map<string, number>())].map(([user, revision]) => ({
        user,
        revision,
      })),
      before,
      limit,
    );
  }

  /** Who reposted a post, newest first, with repost revisions below `before`. */
  reposters(
    id: number,
    before: number | undefined,
    limit: number,
  ): Slice<{ user: string; revision: number }> {
    return newestReactions(
      [...(this.repostsOf.get(id)?.values() ?? [])].map((r) => ({ user: r.by, revision: r.id })),
      before,
      limit,
    );
  }

  hasLiked(user: string, id: number): boolean {
    return this.likesOf.get(id)?.has(user) ?? false;
  }

  repostOf(user: string, id: number): RepostEntry | undefined {
    return this.repostsOf.get(id)?.get(user);
  }

  /**
   * Posts with a hashtag, newest first, below `before`, that `viewer` may see; with `after`, the
   * `limit` oldest above it (answered newest first).
   */
  tagged(
    tag: string,
    before: number | undefined,
    limit: number,
    viewer: string,
    after?: number,
  ): Slice<PostEntry> {
    const keep = (p: PostEntry) => this.searchable(p, viewer);
    const list = this.byTag.get(tag) ?? [];
    return after === undefined
      ? mergeNewestFirst([list], before ?? Infinity, limit, keep)
      : mergeOldestFirst([list], after, before ?? Infinity, limit, keep);
  }

  /**
   * Posts holding every term (words and #tags, as `searchTerms` makes them), newest first,
   * below `before`: the rarest term's list is walked and each post checked for the others.
   */
  search(
    terms: readonly string[],
    before: number | undefined,
    limit: number,
    viewer: string,
  ): Slice<PostEntry> {
    if (terms.length === 0) return { entries: [], more: false };
    const lists = terms.map(
      (term) => (term.startsWith("#") ? this.byTag.get(term.slice(1)) : this.byWord.get(term)) ?? [],
    );
    const rarest = lists.reduce((a, b) => (b.length < a.length ? b : a));
    const others = lists.filter((list) => list !== rarest);
    return mergeNewestFirst(
      [rarest],
      before ?? Infinity,
      limit,
      (post) =>
        this.searchable(post, viewer) && others.every((list) => list[lowerBoundById(list, post.id)] === post),
    );
  }

  /** Deletes after `revision`, oldest first. */
  deletesSince(revision: number): readonly DeletedPost[] {
    return this.deletes.slice(
      firstIndexWhere(this.deletes.length, (i) => this.deletes[i]!.revision > revision),
    );
  }

  /** Who has reposted a post now (what its tombstone records when it is deleted). */
  repostersOf(id: number): string[] {
    return [...(this.repostsOf.get(id)?.keys() ?? [])];
  }

  /** Held posts and bytes of text kept, for the memory report. */
  get stats(): { posts: number; textBytes: number; textsLetGo: number; recentTexts: number } {
    return {
      posts: this.all.length,
      textBytes: this.textBytes + this.recentTexts.bytes,
      textsLetGo: this.evictedUpTo,
      recentTexts: this.recentTexts.size,
    };
  }

  /** A post's text when memory holds it: its own, or one read from the store lately. */
  textOf(post: PostEntry): string | undefined {
    return post.text ?? this.recentTexts.get(post.id);
  }

  /**
   * Keeps a text read from the store for a post whose text the view let go. A post deleted or
   * changed while the text was being read is left alone: its text is no longer the one read.
   */
  rememberText(post: PostEntry, text: string): void {
    if (post.text === undefined && !post.deleted && this.find(post.id) === post) {
      this.recentTexts.remember(post.id, text);
    }
  }

  /** The store key of a post (to read a text the view let go). */
  storeKey(post: PostEntry): string {
    return this.keys.post(post.key);
  }

  /** Everything this view holds, canonically ordered: two views of the same facts digest alike. */
  digest(): unknown {
    this.ensureSorted();
    const live = this.all.filter((p) => !p.deleted).map(({ text: _text, ...rest }) => rest);
    const timelines = [...this.timelines.keys()]
      .sort()
      .map((a) => [
        a,
        this.timelines.get(a)!.map((e) => (isRepost(e) ? `r${e.id}:${e.post.id}` : `p${e.id}`)),
      ]);
    const likes = [...this.likesOf.keys()]
      .sort((a, b) => a - b)
      .map((id) => [id, [...this.likesOf.get(id)!].sort()]);
    const deletes = this.deletes.map((d) => ({ ...d, repostedBy: [...d.repostedBy].sort() }));
    return { live, timelines, likes, deletes };
  }

  private searchable(post: PostEntry, viewer: string): boolean {
    return !post.deleted && (viewer === "" || !this.graph.eitherBlocks(viewer, post.author));
  }

  private tombstoneOf(kv: KeyValue): DeletedPost {
    const record = DeletedPostRecord.decode(kv.value);
    return {
      revision: kv.createRevision,
      id: Number(Keys.lastSegment(kv.key)),
      author: record.author,
      repostedBy: record.repostedBy,
    };
  }

  /**
   * Logs a delete. Its transaction shows up twice in one batch, as the post key's delete (who
   * reposted it, as this view knew) and as its tombstone's creation (as the deleting backend
   * knew), in either order: the two become one entry naming every reposter either knew of.
   */
  private recordDelete(deleted: DeletedPost): void {
    const last = this.deletes.at(-1);
    if (last?.id === deleted.id && last.revision === deleted.revision) {
      last.repostedBy = [...new Set([...last.repostedBy, ...deleted.repostedBy])];
    } else {
      this.deletes.push(deleted);
    }
  }

  private entryOf(kv: KeyValue): PostEntry {
    const record = PostRecord.decode(kv.value);
    return {
      id: kv.createRevision,
      key: Keys.lastSegment(kv.key),
      author: record.author,
      createdAtMs: record.createdAtMs,
      text: record.text,
      inReplyTo: record.inReplyTo === "" ? 0 : Number(record.inReplyTo),
      inReplyToAuthor: record.inReplyToAuthor,
      // Most posts have neither: one shared empty list instead of two arrays per post.
      mentions: record.mentions.length > 0 ? record.mentions : NONE,
      tags: record.tags.length > 0 ? record.tags : NONE,
      replies: 0,
      likes: 0,
      reposts: 0,
      deleted: false,
    };
  }

  /** Puts a new post into every index (its timeline last: callers keep timelines sorted). */
  private index(post: PostEntry): void {
    if (post.deleted) return;
    listOf(this.timelines, post.author).push(post);
    this.postCounts.set(post.author, this.countPosts(post.author) + 1);
    if (post.inReplyTo !== 0) {
      listOf(this.repliesOf, post.inReplyTo).push(post);
      const parent = this.find(post.inReplyTo);
      if (parent) parent.replies++;
    }
    for (const tag of post.tags) listOf(this.byTag, tag).push(post);
    for (const word of searchTerms(post.text ?? "", false)) listOf(this.byWord, word).push(post);
    this.textBytes += post.text === undefined ? 0 : textCost(post.text);
  }

  private putPost(kv: KeyValue): void {
    const existing = this.find(kv.createRevision);
    const entry = this.entryOf(kv);
    if (existing) {
      // A later version of a post (an edit): same id, same place; its words are indexed anew.
      if (existing.text !== undefined) this.textBytes -= textCost(existing.text);
      this.recentTexts.forget(existing.id);
      this.unindexWords(existing);
      Object.assign(existing, { text: entry.text, createdAtMs: entry.createdAtMs });
      for (const word of searchTerms(entry.text ?? "", false))
        insertSorted(listOf(this.byWord, word), existing);
      this.textBytes += textCost(entry.text!);
    } else {
      // Revisions only grow, so a new post goes at the end of every list it is in.
      this.all.push(entry);
      this.index(entry);
    }
    this.enforceBudget();
  }

  private removePost(id: number, revision: number): void {
    const post = this.find(id);
    if (!post || post.deleted) return;
    const reposts = this.repostsOf.get(id);
    this.recordDelete({ revision, id, author: post.author, repostedBy: [...(reposts?.keys() ?? [])] });
    post.deleted = true;
    this.recentTexts.forget(id);
    if (post.text !== undefined) this.textBytes -= textCost(post.text);
    this.unindexWords(post);
    post.text = undefined;
    removeSorted(this.timelines, post.author, post);
    this.postCounts.set(post.author, this.countPosts(post.author) - 1);
    if (this.countPosts(post.author) === 0) this.postCounts.delete(post.author);
    if (post.inReplyTo !== 0) {
      removeSorted(this.repliesOf, post.inReplyTo, post);
      const parent = this.find(post.inReplyTo);
      if (parent) parent.replies = Math.max(0, parent.replies - 1);
    }
    for (const tag of post.tags) removeSorted(this.byTag, tag, post);
    // Its likes and reposts go in the same transaction; they are dropped here already.
    for (const repost of reposts?.values() ?? []) removeSorted(this.timelines, repost.by, repost);
    this.repostsOf.delete(id);
    this.likesOf.delete(id);
    post.likes = 0;
    post.reposts = 0;
  }

  /** A like or a repost (`loading`: the timelines are sorted afterwards). */
  private react(kv: KeyValue, loading: boolean): void {
    const parsed = this.reactionOf(kv.key);
    if (!parsed) return;
    const post = this.post(parsed.postId);
    if (!post) return;
    if (parsed.kind === "like") {
      let likes = this.likesOf.get(post.id);
      if (!likes) this.likesOf.set(post.id, (likes = new Map()));
      if (likes.has(parsed.user)) return;
      likes.set(parsed.user, kv.createRevision);
      post.likes++;
    } else {
      let reposts = this.repostsOf.get(post.id);
      if (!reposts) this.repostsOf.set(post.id, (reposts = new Map()));
      if (reposts.has(parsed.user)) return;
      const repost: RepostEntry = {
        id: kv.createRevision,
        post,
        by: parsed.user,
        createdAtMs: Number(textOf(kv.value)) || 0,
      };
      reposts.set(parsed.user, repost);
      post.reposts++;
      const timeline = listOf(this.timelines, parsed.user);
      if (loading) timeline.push(repost);
      else insertSorted(timeline, repost);
    }
  }

  private unreact(prev: KeyValue): void {
    const parsed = this.reactionOf(prev.key);
    if (!parsed) return;
    const post = this.find(parsed.postId);
    if (!post) return;
    if (parsed.kind === "like") {
      const likes = this.likesOf.get(post.id);
      if (likes?.delete(parsed.user)) post.likes = Math.max(0, post.likes - 1);
      if (likes?.size === 0) this.likesOf.delete(post.id);
    } else {
      const reposts = this.repostsOf.get(post.id);
      const repost = reposts?.get(parsed.user);
      if (!reposts || !repost) return;
      reposts.delete(parsed.user);
      if (reposts.size === 0) this.repostsOf.delete(post.id);
      post.reposts = Math.max(0, post.reposts - 1);
      removeSorted(this.timelines, parsed.user, repost);
    }
  }

  private reactionOf(key: string): { kind: "like" | "repost"; postId: number; user: string } | undefined {
    const kind = key.startsWith(this.keys.likes)
      ? "like"
      : key.startsWith(this.keys.reposts)
        ? "repost"
        : undefined;
    if (!kind) return undefined;
    const [postId, user, extra] = key
      .slice((kind === "like" ? this.keys.likes : this.keys.reposts).length)
      .split("/");
    if (!postId || !user || extra !== undefined) return undefined;
    return { kind, postId: Number(postId), user };
  }

  private unindexWords(post: PostEntry): void {
    for (const word of searchTerms(post.text ?? "", false)) removeSorted(this.byWord, word, post);
  }

  private find(id: number): PostEntry | undefined {
    this.ensureSorted();
    const at = lowerBoundById(this.all, id);
    const post = this.all[at];
    return post?.id === id ? post : undefined;
  }

  private ensureSorted(): void {
    if (this.sorted) return;
    this.all.sort((a, b) => a.id - b.id);
    this.sorted = true;
  }

  /** Lets go of the oldest texts until the kept ones fit the budget (the word index stays). */
  private enforceBudget(): void {
    while (this.textBytes > this.keptTextBudget && this.evictedUpTo < this.all.length) {
      const post = this.all[this.evictedUpTo++]!;
      if (post.text !== undefined) {
        this.textBytes -= textCost(post.text);
        post.text = undefined;
      }
    }
  }
}

function listOf<K, T>(map: Map<K, T[]>, key: K): T[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}

/** Inserts into an id-sorted list (at the end, usually: revisions grow). */
function insertSorted<T extends { id: number }>(list: T[], item: T): void {
  if (list.length === 0 || list[list.length - 1]!.id < item.id) list.push(item);
  else list.splice(lowerBoundById(list, item.id), 0, item);
}

/** Removes `item` from the id-sorted list under `key` (and the list when it empties). */
function removeSorted<K, T extends { id: number }>(map: Map<K, T[]>, key: K, item: T): void {
  const list = map.get(key);
  if (!list) return;
  const at = lowerBoundById(list, item.id);
  if (list[at] === item) list.splice(at, 1);
  if (list.length === 0) map.delete(key);
}

/** The first index whose id is > `id`. */
function upperBound(list: readonly { id: number }[], id: number): number {
  return lowerBoundById(list, id + 1);
}

function newestReactions(
  all: { user: string; revision: number }[],
  before: number | undefined,
  limit: number,
): Slice<{ user: string; revision: number }> {
  const older = all
    .filter((r) => before === undefined || r.revision < before)
    .sort((a, b) => b.revision - a.revision);
  return { entries: older.slice(0, limit), more: older.length > limit };
}
