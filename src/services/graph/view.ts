import type { KeyValue, WatchEvent } from "../../storage/kv.js";
import type { Keys } from "../../storage/keys.js";
import type { Projection } from "../../storage/watch-cache.js";
import { SortedSet, sortedSetFor } from "../../shared/sorted-set.js";

const NOBODY: readonly string[] = Object.freeze([]);

/** One relation of the graph (follows, blocks or mutes), from both ends, in name order. */
class Relation {
  readonly from = new Map<string, SortedSet>();
  readonly to = new Map<string, SortedSet>();

  add(a: string, b: string): void {
    sortedSetFor(this.from, a).add(b);
    sortedSetFor(this.to, b).add(a);
  }
  remove(a: string, b: string): void {
    removeFrom(this.from, a, b);
    removeFrom(this.to, b, a);
  }
  has(a: string, b: string): boolean {
    return this.from.get(a)?.has(b) ?? false;
  }
  clear(): void {
    this.from.clear();
    this.to.clear();
  }
}

/**
 * The social graph as every backend holds it, derived from the `follow/`, `block/` and
 * `mute/` facts: each relation from both ends, in name order, with O(1) counts.
 */
export class GraphView implements Projection {
  readonly prefixes: readonly string[];
  private readonly followRelation = new Relation();
  private readonly blocks = new Relation();
  private readonly mutes = new Relation();
  private readonly following: Map<string, SortedSet>;
  private readonly followers: Map<string, SortedSet>;

  constructor(private readonly keys: Keys) {
    this.prefixes = [keys.follows, keys.blocks, keys.mutes];
    this.following = this.followRelation.from;
    this.followers = this.followRelation.to;
  }

  reset(): void {
    this.followRelation.clear();
    this.blocks.clear();
    this.mutes.clear();
  }

  load(kvs: readonly KeyValue[]): void {
    for (const kv of kvs) this.change(kv.key, true);
  }

  loaded(): void {}

  apply(event: WatchEvent): void {
    this.change(event.kv.key, event.type === "put");
  }

  /** `blocker` blocks `blocked`. */
  isBlocking(blocker: string, blocked: string): boolean {
    return this.blocks.has(blocker, blocked);
  }

  /** Either blocks the other: then neither sees or touches the other's posts. */
  eitherBlocks(a: string, b: string): boolean {
    return this.blocks.has(a, b) || this.blocks.has(b, a);
  }

  isMuting(muter: string, muted: string): boolean {
    return this.mutes.has(muter, muted);
  }

  /** Whom `user` blocks / mutes, in name order, strictly after `after`. */
  blocksPage(user: string, after: string | undefined, limit: number): string[] {
    return this.blocks.from.get(user)?.ascendingAfter(after, limit) ?? [];
  }
  mutesPage(user: string, after: string | undefined, limit: number): string[] {
    return this.mutes.from.get(user)?.ascendingAfter(after, limit) ?? [];
  }

  /** Who follows `user` (in name order): whose feeds a post of theirs reaches. */
  followersOf(user: string): readonly string[] {
    return this.followers.get(user)?.values() ?? NOBODY;
  }

  isFollowing(follower: string, followee: string): boolean {
    return this.following.get(follower)?.has(followee) ?? false;
  }

  /** Whom `user` follows, in name order. */
  followingOf(user: string): readonly string[] {
    return this.following.get(user)?.values() ?? NOBODY;
  }

  /** Up to `limit` of whom `user` follows, in name order, strictly after `after`. */
  followingPage(user: string, after: string | undefined, limit: number): string[] {
    return this.following.get(user)?.ascendingAfter(after, limit) ?? [];
  }

  /** Up to `limit` of `user`'s followers, in name order, strictly after `after`. */
  followersPage(user: string, after: string | undefined, limit: number): string[] {
    return this.followers.get(user)?.ascendingAfter(after, limit) ?? [];
  }

  countFollowing(user: string): number {
    return this.following.get(user)?.size ?? 0;
  }

  countFollowers(user: string): number {
    return this.followers.get(user)?.size ?? 0;
  }

  /** Follows held (for the memory report). */
  get follows(): number {
    let count = 0;
    for (const set of this.following.values()) count += set.size;
    return count;
  }

  /** Everything this view holds, canonically ordered: two views of the same facts digest alike. */
  digest(): unknown {
    const both = (map: Map<string, SortedSet>) =>
      [...map.keys()].sort().map((user) => [user, map.get(user)!.ascendingAfter(undefined, Infinity)]);
    return {
      following: both(this.followRelation.from),
      followers: both(this.followRelation.to),
      blocks: both(this.blocks.from),
      blockedBy: both(this.blocks.to),
      mutes: both(this.mutes.from),
    };
  }

  private change(key: string, present: boolean): void {
    for (const [prefix, relation] of [
      [this.keys.follows, this.followRelation],
      [this.keys.blocks, this.blocks],
      [this.keys.mutes, this.mutes],
    ] as const) {
      if (!key.startsWith(prefix)) continue;
      const [a, b, extra] = key.slice(prefix.length).split("/");
      if (!a || !b || extra !== undefined) return;
      if (present) relation.add(a, b);
      else relation.remove(a, b);
      return;
    }
  }
}

function removeFrom(map: Map<string, SortedSet>, key: string, value: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
