import { AccountRecord, SessionRecord } from "../../gen/flock/storage/v1/records.js";
import type { KeyValue, WatchEvent } from "../../storage/kv.js";
import { Keys } from "../../storage/keys.js";
import type { Projection } from "../../storage/watch-cache.js";
import { SortedSet } from "../../shared/sorted-set.js";

export interface Account {
  username: string;
  createdAtMs: number;
  displayName: string;
  bio: string;
  /** Create revision of the account's key: a write that needs the account to exist compares it. */
  revision: number;
}

export interface Session {
  tokenHash: string;
  username: string;
  createdAtMs: number;
  expiresAtMs: number;
  /** Create revision of the session's key: writes compare it, so a logout wins over a racing write. */
  revision: number;
}

/**
 * Accounts and sessions as every backend holds them, derived from `a/acct/` and `a/sess/`
 * (password hashes are not in the watched range and never reach a view).
 */
export class AccountsView implements Projection {
  readonly prefixes: readonly string[];
  private readonly accounts = new Map<string, Account>();
  private readonly names = new SortedSet();
  private readonly sessions = new Map<string, Session>();
  private readonly sessionsByUser = new Map<string, Set<string>>();

  constructor(private readonly keys: Keys) {
    this.prefixes = [keys.accounts, keys.sessions];
  }

  reset(): void {
    this.accounts.clear();
    this.names.clear();
    this.sessions.clear();
    this.sessionsByUser.clear();
  }

  load(kvs: readonly KeyValue[]): void {
    for (const kv of kvs) this.put(kv);
  }

  loaded(): void {}

  apply(event: WatchEvent): void {
    if (event.type === "put") this.put(event.kv);
    else this.remove(event.kv.key);
  }

  account(username: string): Account | undefined {
    return this.accounts.get(username);
  }

  /** Up to `limit` usernames starting with `prefix`, in name order. */
  search(prefix: string, limit: number): string[] {
    return this.names.withPrefix(prefix, limit);
  }

  session(tokenHash: string): Session | undefined {
    return this.sessions.get(tokenHash);
  }

  /** A user's sessions, oldest first. */
  sessionsOf(username: string): Session[] {
    const hashes = this.sessionsByUser.get(username);
    if (!hashes) return [];
    return [...hashes].map((h) => this.sessions.get(h)!).sort((a, b) => a.revision - b.revision);
  }

  get accountCount(): number {
    return this.accounts.size;
  }

  /** Everything this view holds, canonically ordered: two views of the same facts digest alike. */
  digest(): unknown {
    return {
      accounts: [...this.accounts.values()].sort((a, b) => a.username.localeCompare(b.username)),
      names: this.names.ascendingAfter(undefined, Infinity),
      sessions: [...this.sessions.values()].sort((a, b) => a.tokenHash.localeCompare(b.tokenHash)),
    };
  }

  private put(kv: KeyValue): void {
    if (kv.key.startsWith(this.keys.accounts)) {
      const record = AccountRecord.decode(kv.value);
      const username = Keys.lastSegment(kv.key);
      this.accounts.set(username, {
        username,
        createdAtMs: record.createdAtMs,
        displayName: record.displayName,
        bio: record.bio,
        revision: kv.createRevision,
      });
      this.names.add(username);
    } else if (kv.key.startsWith(this.keys.sessions)) {
      const record = SessionRecord.decode(kv.value);
      const tokenHash = Keys.lastSegment(kv.key);
      this.sessions.set(tokenHash, {
        tokenHash,
        username: record.username,
        createdAtMs: record.createdAtMs,
        expiresAtMs: record.expiresAtMs,
        revision: kv.createRevision,
      });
      let mine = this.sessionsByUser.get(record.username);
      if (!mine) this.sessionsByUser.set(record.username, (mine = new Set()));
      mine.add(tokenHash);
    }
  }

  private remove(key: string): void {
    if (key.startsWith(this.keys.accounts)) {
      const username = Keys.lastSegment(key);
      this.accounts.delete(username);
      this.names.delete(username);
    } else if (key.startsWith(this.keys.sessions)) {
      const tokenHash = Keys.lastSegment(key);
      const session = this.sessions.get(tokenHash);
      if (!session) return;
      this.sessions.delete(tokenHash);
      const mine = this.sessionsByUser.get(session.username);
      mine?.delete(tokenHash);
      if (mine?.size === 0) this.sessionsByUser.delete(session.username);
    }
  }
}
