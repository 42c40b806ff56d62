import { lowerBoundById } from "../../shared/sorted.js";

/**
 * Pages merged from many id-sorted lists (a home feed is one cursor per followed account's
 * timeline): a binary heap of cursors, each post taken at most once.
 *
 * A reader following 5,000 accounts builds a heap of 5,000 cursors for every page, so the heap
 * keeps them in flat arrays (the id under each cursor beside it) rather than one object per
 * cursor: no allocation per cursor, and comparisons read numbers, not three objects deep.
 */

export interface Slice<T> {
  entries: T[];
  /** There are more after these. */
  more: boolean;
}

interface Entry {
  id: number;
  /** A repost's post: the same post is taken once, whether posted or reposted. */
  post?: { id: number };
}

/**
 * The `limit` newest entries below `before` across ascending `lists` that `keep` accepts,
 * newest first, each post at most once. `more` says whether a further accepted entry exists.
 */
export function mergeNewestFirst<T extends Entry>(
  lists: readonly (readonly T[])[],
  before: number,
  limit: number,
  keep: (entry: T) => boolean = () => true,
): Slice<T> {
  const heap = new CursorHeap<T>(lists.length, (a, b) => a > b);
  for (const list of lists) {
    const at = (before === Infinity ? list.length : lowerBoundById(list, before)) - 1;
    if (at >= 0) heap.add(list, at, list[at]!.id);
  }
  heap.build();
  return take(heap, limit, keep, (list, at) => (at > 0 ? at - 1 : -1));
}

/**
 * The `limit` oldest entries with ids in (`after`, `before`) across ascending `lists` that
 * `keep` accepts, each post at most once, answered newest first (as every page is). `more`
 * says whether a further accepted entry exists above them.
 */
export function mergeOldestFirst<T extends Entry>(
  lists: readonly (readonly T[])[],
  after: number,
  before: number,
  limit: number,
  keep: (entry: T) => boolean = () => true,
): Slice<T> {
  const heap = new CursorHeap<T>(lists.length, (a, b) => a < b);
  for (const list of lists) {
    const at = lowerBoundById(list, after + 1);
    if (at < list.length && list[at]!.id < before) heap.add(list, at, list[at]!.id);
  }
  heap.build();
  const slice = take(heap, limit, keep, (list, at) =>
    at + 1 < list.length && list[at + 1]!.id < before ? at + 1 : -1,
  );
  slice.entries.reverse();
  return slice;
}

/** Pops entries in heap order until `limit` are accepted; `next` moves a cursor on (-1: done). */
function take<T extends Entry>(
  heap: CursorHeap<T>,
  limit: number,
  keep: (entry: T) => boolean,
  next: (list: readonly T[], at: number) => number,
): Slice<T> {
  const entries: T[] = [];
  const seen = new Set<number>();
  while (!heap.empty) {
    const entry = heap.advanceTop(next);
    const post = entry.post?.id ?? entry.id;
    if (seen.has(post) || !keep(entry)) continue;
    if (entries.length === limit) return { entries, more: true };
    seen.add(post);
    entries.push(entry);
  }
  return { entries, more: false };
}

/** Cursors (a list and a position in it), ordered by the id under them; the top is first. */
class CursorHeap<T extends Entry> {
  private readonly lists: (readonly T[])[] = [];
  private readonly at: Int32Array;
  private readonly ids: Float64Array;
  /** Cursor numbers in heap order. */
  private readonly order: Int32Array;
  private size = 0;

  constructor(
    capacity: number,
    private readonly before: (a: number, b: number) => boolean,
  ) {
    this.at = new Int32Array(capacity);
    this.ids = new Float64Array(capacity);
    this.order = new Int32Array(capacity);
  }

  get empty(): boolean {
    return this.size === 0;
  }

  add(list: readonly T[], at: number, id: number): void {
    const cursor = this.size++;
    this.lists.push(list);
    this.at[cursor] = at;
    this.ids[cursor] = id;
    this.order[cursor] = cursor;
  }

  build(): void {
    for (let i = (this.size >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** The top cursor's entry; the cursor moves to `next` of it, or leaves the heap. */
  advanceTop(next: (list: readonly T[], at: number) => number): T {
    const cursor = this.order[0]!;
    const list = this.lists[cursor]!;
    const entry = list[this.at[cursor]!]!;
    const moved = next(list, this.at[cursor]!);
    if (moved >= 0) {
      this.at[cursor] = moved;
      this.ids[cursor] = list[moved]!.id;
    } else {
      this.order[0] = this.order[--this.size]!;
    }
    this.siftDown(0);
    return entry;
  }

  private siftDown(start: number): void {
    const { order, ids, before } = this;
    for (let i = start; ;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let top = i;
      if (left < this.size && before(ids[order[left]!]!, ids[order[top]!]!)) top = left;
      if (right < this.size && before(ids[order[right]!]!, ids[order[top]!]!)) top = right;
      if (top === i) return;
      const swap = order[i]!;
      order[i] = order[top]!;
      order[top] = swap;
      i = top;
    }
  }
}
