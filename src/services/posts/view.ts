import { PostRecord } from "../../gen/flock/storage/v1/records.js";
import type { KeyValue, WatchEvent } from "../../storage/kv.js";
import { Keys } from "../../storage/keys.js";
import type { Projection } from "../../storage/watch-cache.js";
import type { GraphView } from "../graph/view.js";

/** A post as the view holds it. Its id is the revision that created it: ids sort in commit order. */
export interface PostEntry {
  id: number;
  /** The last segment of the post's key, to read its text from the store when the view let it go. */
  key: string;
  author: string;
  createdAtMs: number;
  /** Undefined once the view's text budget let it go (read from the store on demand). */
  text: string | undefined;
  /** The id of the post this one answers (0: none). */
  inReplyTo: number;
  deleted: boolean;
}

export interface PostsViewOptions {
  /** Bytes of post text the view keeps; older posts' texts beyond it are read from the store on demand. */
  textBudgetBytes: number;
}

export interface PostSlice {
  posts: PostEntry[];
  /** There are older posts after these. */
  more: boolean;
}

/** Bytes a kept text costs (UTF-16 in memory, plus the string's header). */
const textCost = (text: string) => 2 * text.length + 16;

/**
 * Posts as every backend holds them, derived from `p/post/` facts: every post in commit order
 * and each author's posts in commit order. A home feed page is a merge, newest first, over
 * the timelines of the accounts the reader follows: a heap of one cursor per followed account,
 * so a page costs O(followed + limit·log followed), whatever the history, and posting costs
 * the same for 10 or 10,000 followers (nothing is written or computed per follower).
 */
export class PostsView implements Projection {
  readonly prefixes: readonly string[];
  /** Every post ever loaded or created, deleted ones marked, in id (= commit) order. */
  private all: PostEntry[] = [];
  private sorted = true;
  private readonly byAuthor = new Map<string, PostEntry[]>();
  private textBytes = 0;
  /** Texts of `all[0 .. evictedUpTo)` have been let go (oldest first). */
  private evictedUpTo = 0;

  constructor(
    private readonly keys: Keys,
    private readonly graph: GraphView,
    private readonly options: PostsViewOptions,
  ) {
    this.prefixes = [keys.posts];
  }

  reset(): void {
    this.all = [];
    this.sorted = true;
    this.byAuthor.clear();
    this.textBytes = 0;
    this.evictedUpTo = 0;
  }

  load(kvs: readonly KeyValue[]): void {
    for (const kv of kvs) {
      this.all.push(this.entryOf(kv));
      this.sorted = false;
    }
  }

  loaded(): void {
    this.ensureSorted();
    for (const post of this.all) {
      if (!post.deleted) timelineOf(this.byAuthor, post.author).push(post);
      this.textBytes += post.text === undefined ? 0 : textCost(post.text);
    }
    this.enforceBudget();
  }

  apply(event: WatchEvent): void {
    if (event.type === "put") this.put(event.kv);
    else if (event.prevKv) this.remove(event.prevKv.createRevision);
  }

  /** The live (not deleted) post with this id. */
  post(id: number): PostEntry | undefined {
    const post = this.find(id);
    return post && !post.deleted ? post : undefined;
  }

  /**
   * Up to `limit` posts by the accounts `reader` follows, newest first, with ids below
   * `before` (all when undefined).
   */
  feed(reader: string, before: number | undefined, limit: number): PostSlice {
    const timelines: PostEntry[][] = [];
    for (const author of this.graph.followingOf(reader)) {
      const timeline = this.byAuthor.get(author);
      if (timeline) timelines.push(timeline);
    }
    return mergeNewestFirst(timelines, before ?? Infinity, limit);
  }

  /** Up to `limit` of `author`'s posts, newest first, with ids below `before`. */
  authorPosts(author: string, before: number | undefined, limit: number): PostSlice {
    const timeline = this.byAuthor.get(author);
    return timeline ? mergeNewestFirst([timeline], before ?? Infinity, limit) : { posts: [], more: false };
  }

  countPosts(author: string): number {
    return this.byAuthor.get(author)?.length ?? 0;
  }

  /** Posts held (deleted ones included) and bytes of text kept, for the memory report. */
  get stats(): { posts: number; textBytes: number; textsLetGo: number } {
    return { posts: this.all.length, textBytes: this.textBytes, textsLetGo: this.evictedUpTo };
  }

  /** Everything this view holds, canonically ordered: two views of the same facts digest alike. */
  digest(): unknown {
    this.ensureSorted();
    const live = this.all.filter((p) => !p.deleted).map(({ text: _text, ...rest }) => rest);
    const authors = [...this.byAuthor.keys()].sort().map((a) => [a, this.byAuthor.get(a)!.map((p) => p.id)]);
    return { live, authors };
  }

  /** The store key of a post (to read a text the view let go). */
  storeKey(post: PostEntry): string {
    return this.keys.post(post.key);
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
      deleted: false,
    };
  }

  private put(kv: KeyValue): void {
    const existing = this.find(kv.createRevision);
    const entry = this.entryOf(kv);
    if (existing) {
      // A later version of a post (an edit): same id, same place.
      if (existing.text !== undefined) this.textBytes -= textCost(existing.text);
      Object.assign(existing, { text: entry.text, createdAtMs: entry.createdAtMs });
      this.textBytes += textCost(entry.text!);
    } else {
      // Revisions only grow, so a new post goes at the end of every list it is in.
      this.all.push(entry);
      timelineOf(this.byAuthor, entry.author).push(entry);
      this.textBytes += textCost(entry.text!);
    }
    this.enforceBudget();
  }

  private remove(id: number): void {
    const post = this.find(id);
    if (!post || post.deleted) return;
    post.deleted = true;
    if (post.text !== undefined) this.textBytes -= textCost(post.text);
    post.text = undefined;
    const timeline = this.byAuthor.get(post.author);
    if (timeline) {
      const at = lowerBound(timeline, id);
      if (timeline[at] === post) timeline.splice(at, 1);
      if (timeline.length === 0) this.byAuthor.delete(post.author);
    }
  }

  private find(id: number): PostEntry | undefined {
    this.ensureSorted();
    const at = lowerBound(this.all, id);
    const post = this.all[at];
    return post?.id === id ? post : undefined;
  }

  private ensureSorted(): void {
    if (this.sorted) return;
    this.all.sort((a, b) => a.id - b.id);
    this.sorted = true;
  }

  /** Lets go of the oldest texts until the kept ones fit the budget. */
  private enforceBudget(): void {
    while (this.textBytes > this.options.textBudgetBytes && this.evictedUpTo < this.all.length) {
      const post = this.all[this.evictedUpTo++]!;
      if (post.text !== undefined) {
        this.textBytes -= textCost(post.text);
        post.text = undefined;
      }
    }
  }
}

function timelineOf(map: Map<string, PostEntry[]>, author: string): PostEntry[] {
  let timeline = map.get(author);
  if (!timeline) map.set(author, (timeline = []));
  return timeline;
}

/** The first index whose post id is >= `id` (lists are in ascending id order). */
function lowerBound(posts: readonly PostEntry[], id: number): number {
  let lo = 0;
  let hi = posts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (posts[mid]!.id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The `limit` newest posts below `before` across ascending `timelines`, newest first: a
 * max-heap holds one cursor per timeline (its newest post below `before`).
 */
export function mergeNewestFirst(
  timelines: readonly PostEntry[][],
  before: number,
  limit: number,
): PostSlice {
  const heap: { timeline: PostEntry[]; at: number }[] = [];
  for (const timeline of timelines) {
    const at = (before === Infinity ? timeline.length : lowerBound(timeline, before)) - 1;
    if (at >= 0) heap.push({ timeline, at });
  }
  const idOf = (i: number) => heap[i]!.timeline[heap[i]!.at]!.id;
  const swap = (i: number, j: number) => ([heap[i], heap[j]] = [heap[j]!, heap[i]!]);
  const siftDown = (start: number) => {
    for (let i = start; ;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let largest = i;
      if (left < heap.length && idOf(left) > idOf(largest)) largest = left;
      if (right < heap.length && idOf(right) > idOf(largest)) largest = right;
      if (largest === i) return;
      swap(i, largest);
      i = largest;
    }
  };
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(i);
  const posts: PostEntry[] = [];
  while (heap.length > 0 && posts.length < limit) {
    const top = heap[0]!;
    posts.push(top.timeline[top.at]!);
    if (--top.at < 0) {
      heap[0] = heap[heap.length - 1]!;
      heap.pop();
    }
    siftDown(0);
  }
  return { posts, more: heap.length > 0 };
}
