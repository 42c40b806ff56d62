import {
  countOp,
  deleteOp,
  EtcdStore,
  putOp,
  type EtcdStorageOptions,
} from "../../../storage/etcd/client.js";
import { keyAfter, lastSegment, prefixEnd } from "../../../storage/etcd/keys.js";
import type { GraphStorage } from "../storage.js";

/**
 * The follow graph in etcd (layout in storage/etcd/keys.ts): one key per fact and
 * direction. Both directions change in one txn, so the two sides can never disagree,
 * and each change is a plain put or delete, so a re-sent one is harmless.
 */
export class EtcdGraphStorage implements GraphStorage {
  private readonly etcd: EtcdStore;

  constructor(options: EtcdStorageOptions) {
    this.etcd = new EtcdStore(options);
  }

  async follow(follower: string, followee: string, atMs: number): Promise<void> {
    const { keys } = this.etcd;
    const since = String(atMs);
    await this.etcd.txn({
      success: [
        putOp(keys.following(follower, followee), since),
        putOp(keys.follower(followee, follower), since),
      ],
    });
  }

  async unfollow(follower: string, followee: string): Promise<void> {
    const { keys } = this.etcd;
    await this.etcd.txn({
      success: [deleteOp(keys.following(follower, followee)), deleteOp(keys.follower(followee, follower))],
    });
  }

  async isFollowing(follower: string, followee: string): Promise<boolean> {
    const found = await this.etcd.range({
      key: Buffer.from(this.etcd.keys.following(follower, followee)),
      count_only: true,
    });
    return Number(found.count) > 0;
  }

  async followedAmong(follower: string, candidates: readonly string[]): Promise<Set<string>> {
    const unique = [...new Set(candidates)];
    const answers = await this.etcd.readInBatches(
      unique.map((candidate) => countOp(this.etcd.keys.following(follower, candidate))),
    );
    return new Set(unique.filter((_, i) => Number(answers[i]?.count ?? 0) > 0));
  }

  listFollowing(user: string, after: string | undefined, limit: number): Promise<string[]> {
    return this.namesAfter(this.etcd.keys.followingOf(user), after, limit);
  }

  listFollowers(user: string, after: string | undefined, limit: number): Promise<string[]> {
    return this.namesAfter(this.etcd.keys.followersOf(user), after, limit);
  }

  countFollowing(user: string): Promise<number> {
    return this.count(this.etcd.keys.followingOf(user));
  }

  countFollowers(user: string): Promise<number> {
    return this.count(this.etcd.keys.followersOf(user));
  }

  async close(): Promise<void> {
    this.etcd.close();
  }

  /** Up to `limit` usernames under `prefix`, ascending, strictly after `after`. */
  private async namesAfter(prefix: string, after: string | undefined, limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    const start = after === undefined ? Buffer.from(prefix) : keyAfter(prefix + after);
    const found = await this.etcd.range({ key: start, range_end: prefixEnd(prefix), limit, keys_only: true });
    return found.kvs.map((kv) => lastSegment(kv.key.toString()));
  }

  private async count(prefix: string): Promise<number> {
    const found = await this.etcd.range({
      key: Buffer.from(prefix),
      range_end: prefixEnd(prefix),
      count_only: true,
    });
    return Number(found.count);
  }
}
