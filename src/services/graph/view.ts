import type { KeyValue, WatchEvent } from "../../storage/kv.js";
import type { Keys } from "../../storage/keys.js";
import type { Projection } from "../../storage/watch-cache.js";
import { SortedSet, sortedSetFor } from "../../shared/sorted-set.js";

/**
 * The follow graph as every backend holds it, derived from the `follow/<a>/<b>` facts:
 * both directions, in name order, with O(1) counts.
 */
export class GraphView implements Projection {
  readonly prefixes: readonly string[];
  private readonly following = new Map<string, SortedSet>();
  private readonly followers = new Map<string, SortedSet>();

  constructor(private readonly keys: Keys) {
    this.prefixes = [keys.follows];
  }

  reset(): void {
    this.following.clear();
    this.followers.clear();
  }

  load(kvs: readonly KeyValue[]): void {
    for (const kv of kvs) this.add(kv.key);
  }

  loaded(): void {}

  apply(event: WatchEvent): void {
    if (event.type === "put") this.add(event.kv.key);
    else this.remove(event.kv.key);
  }

  isFollowing(follower: string, followee: string): boolean {
    return this.following.get(follower)?.has(followee) ?? false;
  }

  /** Whom `user` follows, in name order. */
  followingOf(user: string): readonly string[] {
    return this.following.get(user)?.ascendingAfter(undefined, Infinity) ?? [];
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
    return { following: both(this.following), followers: both(this.followers) };
  }

  private add(key: string): void {
    const pair = this.pairOf(key);
    if (!pair) return;
    sortedSetFor(this.following, pair.follower).add(pair.followee);
    sortedSetFor(this.followers, pair.followee).add(pair.follower);
  }

  private remove(key: string): void {
    const pair = this.pairOf(key);
    if (!pair) return;
    removeFrom(this.following, pair.follower, pair.followee);
    removeFrom(this.followers, pair.followee, pair.follower);
  }

  private pairOf(key: string): { follower: string; followee: string } | undefined {
    const [follower, followee, extra] = key.slice(this.keys.follows.length).split("/");
    if (!follower || !followee || extra !== undefined) return undefined;
    return { follower, followee };
  }
}

function removeFrom(map: Map<string, SortedSet>, key: string, value: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
