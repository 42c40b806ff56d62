import type { AccountRecord, SessionRecord } from "../../gen/flock/storage/v1/records.js";

export type { AccountRecord, SessionRecord };

/**
 * Everything the accounts service keeps. Implementations: storage/memory.ts (tests,
 * STORAGE=memory) and storage/etcd.ts. One contract suite (storage.contract.ts) runs
 * against both. Usernames arrive already validated and case-folded.
 */
export interface AccountsStorage {
  /**
   * Stores a new account; false when the username is taken. Atomic: of two racing calls one
   * wins. True also when the stored record is this very one (a retried write that had landed).
   */
  createAccount(account: AccountRecord): Promise<boolean>;
  getAccount(username: string): Promise<AccountRecord | undefined>;
  /** Up to `limit` usernames starting with `prefix`, ascending. */
  searchUsernames(prefix: string, limit: number): Promise<string[]>;

  /** Stores a session under the hash of its token; the store forgets it after `ttlSeconds`. */
  createSession(tokenHash: string, session: SessionRecord, ttlSeconds: number): Promise<void>;
  getSession(tokenHash: string): Promise<SessionRecord | undefined>;
  /** Idempotent. */
  deleteSession(tokenHash: string): Promise<void>;

  /**
   * Counts one failed login under `key` in a window of `windowSeconds` that starts at the
   * first failure, and returns the count so far in that window.
   */
  recordLoginFailure(key: string, windowSeconds: number): Promise<number>;
  /** Failures counted under `key` in its current window (0 when none or expired). */
  loginFailures(key: string): Promise<number>;

  close(): Promise<void>;
}
