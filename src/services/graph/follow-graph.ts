import type { FollowGraph } from "../deps.js";
import { isValidUsername } from "../../shared/validation.js";
import type { GraphStorage } from "./storage.js";

/**
 * The graph as other services read it (FollowGraph), straight from the graph's storage.
 *
 * Graph and posts need each other: a follow syncs the reader's feed (graph → posts) and a
 * feed is filtered by who follows whom (posts → graph). A backend hosting both breaks the
 * cycle without patching either after construction: it builds this reader first, hands it to
 * the posts service, then hands the posts service to the GraphService (which extends this
 * reader, so it answers the same reads over gRPC).
 */
export class StoredFollowGraph implements FollowGraph {
  constructor(protected readonly storage: GraphStorage) {}

  async isFollowing(follower: string, followee: string): Promise<boolean> {
    if (!isValidUsername(follower) || !isValidUsername(followee)) return false;
    return this.storage.isFollowing(follower.toLowerCase(), followee.toLowerCase());
  }

  async followedAmong(follower: string, candidates: readonly string[]): Promise<Set<string>> {
    if (candidates.length === 0) return new Set();
    return this.storage.followedAmong(follower, candidates);
  }

  async followersPage(user: string, after: string | undefined, limit: number): Promise<string[]> {
    return this.storage.listFollowers(user, after, limit);
  }

  async followingPage(user: string, after: string | undefined, limit: number): Promise<string[]> {
    return this.storage.listFollowing(user, after, limit);
  }
}
