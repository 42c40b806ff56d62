/**
 * Everything the graph service keeps: one fact per (follower, followee) pair, readable
 * from both ends. Implementations: storage/memory.ts and storage/etcd.ts; one contract
 * suite (storage.contract.ts) runs against both. Usernames arrive validated.
 */
export interface GraphStorage {
  /** Idempotent. */
  follow(follower: string, followee: string, atMs: number): Promise<void>;
  /** Idempotent. */
  unfollow(follower: string, followee: string): Promise<void>;
  isFollowing(follower: string, followee: string): Promise<boolean>;
  /** Which of `candidates` `follower` follows now, in one round trip. */
  followedAmong(follower: string, candidates: readonly string[]): Promise<Set<string>>;
  /** Up to `limit` users `user` follows, ascending, strictly after `after`. */
  listFollowing(user: string, after: string | undefined, limit: number): Promise<string[]>;
  /** Up to `limit` followers of `user`, ascending, strictly after `after`. */
  listFollowers(user: string, after: string | undefined, limit: number): Promise<string[]>;
  countFollowing(user: string): Promise<number>;
  countFollowers(user: string): Promise<number>;
  close(): Promise<void>;
}
