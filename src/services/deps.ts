/**
 * What one service needs from another. In a backend that hosts both, these are the
 * other service's objects; otherwise they are thin gRPC clients (src/backend/peers.ts).
 */

/** Turns a session token into the username behind it, or throws UNAUTHENTICATED. */
export interface Authenticator {
  authenticate(token: string): Promise<string>;
}

export interface AccountDirectory {
  exists(username: string): Promise<boolean>;
}

/** The graph as the feed sees it. */
export interface FollowGraph {
  isFollowing(follower: string, followee: string): Promise<boolean>;
  followedAmong(follower: string, candidates: readonly string[]): Promise<Set<string>>;
  /** Followers of `user` ascending, strictly after `after`. */
  followersPage(user: string, after: string | undefined, limit: number): Promise<string[]>;
  /** Whom `user` follows, ascending, strictly after `after`. */
  followingPage(user: string, after: string | undefined, limit: number): Promise<string[]>;
}

/** Called by the graph after each follow or unfollow; brings the reader's feed in line. */
export interface FeedSync {
  syncFeedWithFollow(reader: string, author: string): Promise<void>;
}
