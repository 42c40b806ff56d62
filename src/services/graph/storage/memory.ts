import { SortedSet, sortedSetFor } from "../../../shared/sorted-set.js";
import type { GraphStorage } from "../storage.js";

/**
 * In-memory graph store. Each method does its reads and writes without an await in
 * between, so interleaved async callers always see it atomically.
 */
export class MemoryGraphStorage implements GraphStorage {
  private readonly following = new Map<string, SortedSet>();
  private readonly followers = new Map<string, SortedSet>();

  async follow(follower: string, followee: string): Promise<void> {
    sortedSetFor(this.following, follower).add(followee);
    sortedSetFor(this.followers, followee).add(follower);
  }

  async unfollow(follower: string, followee: string): Promise<void> {
    this.following.get(follower)?.delete(followee);
    this.followers.get(followee)?.delete(follower);
  }

  async isFollowing(follower: string, followee: string): Promise<boolean> {
    return this.following.get(follower)?.has(followee) ?? false;
  }

  async followedAmong(follower: string, candidates: readonly string[]): Promise<Set<string>> {
    const set = this.following.get(follower);
    return new Set(candidates.filter((c) => set?.has(c)));
  }

  async listFollowing(user: string, after: string | undefined, limit: number): Promise<string[]> {
    return this.following.get(user)?.ascendingAfter(after, limit) ?? [];
  }

  async listFollowers(user: string, after: string | undefined, limit: number): Promise<string[]> {
    return this.followers.get(user)?.ascendingAfter(after, limit) ?? [];
  }

  async countFollowing(user: string): Promise<number> {
    return this.following.get(user)?.size ?? 0;
  }

  async countFollowers(user: string): Promise<number> {
    return this.followers.get(user)?.size ?? 0;
  }

  async close(): Promise<void> {}
}
