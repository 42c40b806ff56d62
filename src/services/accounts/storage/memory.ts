import type { Clock } from "../../../shared/clock.js";
import { systemClock } from "../../../shared/clock.js";
import { SortedSet } from "../../../shared/sorted-set.js";
import type { AccountRecord, AccountsStorage, SessionRecord } from "../storage.js";

interface Expiring<T> {
  value: T;
  expiresAtMs: number;
}

/**
 * In-memory accounts store. Each method does all its reads and writes without an
 * await in between, so interleaved async callers always see it atomically.
 */
export class MemoryAccountsStorage implements AccountsStorage {
  private readonly accounts = new Map<string, AccountRecord>();
  private readonly names = new SortedSet();
  private readonly sessions = new Map<string, Expiring<SessionRecord>>();
  private readonly failures = new Map<string, Expiring<number>>();

  constructor(private readonly clock: Clock = systemClock) {}

  async createAccount(account: AccountRecord): Promise<boolean> {
    const existing = this.accounts.get(account.username);
    if (existing) return existing.passwordHash === account.passwordHash;
    this.accounts.set(account.username, { ...account });
    this.names.add(account.username);
    return true;
  }

  async getAccount(username: string): Promise<AccountRecord | undefined> {
    const found = this.accounts.get(username);
    return found && { ...found };
  }

  async searchUsernames(prefix: string, limit: number): Promise<string[]> {
    return this.names.withPrefix(prefix, limit);
  }

  async createSession(tokenHash: string, session: SessionRecord, ttlSeconds: number): Promise<void> {
    this.sessions.set(tokenHash, {
      value: { ...session },
      expiresAtMs: this.clock.now() + ttlSeconds * 1000,
    });
  }

  async getSession(tokenHash: string): Promise<SessionRecord | undefined> {
    const found = this.live(this.sessions, tokenHash);
    return found && { ...found.value };
  }

  async deleteSession(tokenHash: string): Promise<void> {
    this.sessions.delete(tokenHash);
  }

  async recordLoginFailure(key: string, windowSeconds: number): Promise<number> {
    const current = this.live(this.failures, key);
    if (current) {
      current.value += 1;
      return current.value;
    }
    this.failures.set(key, { value: 1, expiresAtMs: this.clock.now() + windowSeconds * 1000 });
    return 1;
  }

  async loginFailures(key: string): Promise<number> {
    return this.live(this.failures, key)?.value ?? 0;
  }

  async close(): Promise<void> {}

  /** Returns the entry unless it has expired, dropping expired ones as it meets them. */
  private live<T>(map: Map<string, Expiring<T>>, key: string): Expiring<T> | undefined {
    const entry = map.get(key);
    if (entry && entry.expiresAtMs <= this.clock.now()) {
      map.delete(key);
      return undefined;
    }
    return entry;
  }
}
