import { AccountRecord, AppRecord, SessionRecord, TokenRecord } from "../../gen/flock/storage/v1/records.js";
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
  /** "" for an app's own OAuth token (client_credentials). */
  username: string;
  createdAtMs: number;
  /** 0: never (OAuth tokens). */
  expiresAtMs: number;
  /** Create revision of the session's key: writes compare it, so a logout wins over a racing write. */
  revision: number;
  /** The key it is stored under (a session's or an OAuth token's). */
  key: string;
  /** Set for an OAuth access token: the app it was issued to and the scopes it holds. */
  oauth?: { clientId: string; scopes: readonly string[] };
}

/** An OAuth client app. */
export interface App {
  clientId: string;
  name: string;
  website: string;
  redirectUris: readonly string[];
  scopes: readonly string[];
  createdAtMs: number;
  /** Create revision of its key: its numeric id, and what a token's issue compares. */
  revision: number;
}

/**
 * Accounts, sessions, OAuth apps and access tokens as every backend holds them, derived from
 * `a/acct/`, `a/sess/`, `a/app/` and `a/tok/` (password and client-secret hashes are not in
 * the watched range and never reach a view). Sessions and access tokens are one map by token
 * hash: authentication is the same lookup for both.
 */
export class AccountsView implements Projection {
  readonly prefixes: readonly string[];
  private readonly accounts = new Map<string, Account>();
  private readonly names = new SortedSet();
  private readonly sessions = new Map<string, Session>();
  private readonly sessionsByUser = new Map<string, Set<string>>();
  /** Access tokens by holder: `u:<username>` for a user's, `a:<clientId>` for an app's own. */
  private readonly tokensByHolder = new Map<string, Set<string>>();
  private readonly apps = new Map<string, App>();
  private readonly byId = new Map<number, string>();

  constructor(private readonly keys: Keys) {
    this.prefixes = [keys.accounts, keys.sessions, keys.apps, keys.tokens];
  }

  reset(): void {
    this.accounts.clear();
    this.names.clear();
    this.sessions.clear();
    this.sessionsByUser.clear();
    this.tokensByHolder.clear();
    this.apps.clear();
    this.byId.clear();
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

  /** The account with this numeric id (its key's create revision). */
  accountById(id: number): Account | undefined {
    const username = this.byId.get(id);
    return username === undefined ? undefined : this.accounts.get(username);
  }

  app(clientId: string): App | undefined {
    return this.apps.get(clientId);
  }

  /** A user's OAuth access tokens (or, with `app:` names, an app's own), oldest first. */
  tokensOf(holder: { username: string } | { clientId: string }): Session[] {
    const hashes = this.tokensByHolder.get(holderKey(holder));
    if (!hashes) return [];
    return [...hashes].map((h) => this.sessions.get(h)!).sort((a, b) => a.revision - b.revision);
  }

  /** Up to `limit` usernames starting with `prefix`, in name order. */
  search(prefix: string, limit: number): string[] {
    return this.names.withPrefix(prefix, limit);
  }

  session(tokenHash: string): Session | undefined {
    return this.sessions.get(tokenHash);
  }

  /** A user's Flock sessions (not their OAuth tokens), oldest first. */
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
      apps: [...this.apps.values()].sort((a, b) => a.clientId.localeCompare(b.clientId)),
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
      this.byId.set(kv.createRevision, username);
    } else if (kv.key.startsWith(this.keys.sessions)) {
      const record = SessionRecord.decode(kv.value);
      const tokenHash = Keys.lastSegment(kv.key);
      this.sessions.set(tokenHash, {
        tokenHash,
        username: record.username,
        createdAtMs: record.createdAtMs,
        expiresAtMs: record.expiresAtMs,
        revision: kv.createRevision,
        key: kv.key,
      });
      addTo(this.sessionsByUser, record.username, tokenHash);
    } else if (kv.key.startsWith(this.keys.apps)) {
      const record = AppRecord.decode(kv.value);
      const clientId = Keys.lastSegment(kv.key);
      this.apps.set(clientId, {
        clientId,
        name: record.name,
        website: record.website,
        redirectUris: record.redirectUris,
        scopes: record.scopes,
        createdAtMs: record.createdAtMs,
        revision: kv.createRevision,
      });
    } else if (kv.key.startsWith(this.keys.tokens)) {
      const record = TokenRecord.decode(kv.value);
      const [clientId, tokenHash, extra] = kv.key.slice(this.keys.tokens.length).split("/");
      if (!clientId || !tokenHash || extra !== undefined) return;
      this.sessions.set(tokenHash, {
        tokenHash,
        username: record.username,
        createdAtMs: record.createdAtMs,
        expiresAtMs: 0,
        revision: kv.createRevision,
        key: kv.key,
        oauth: { clientId, scopes: record.scopes },
      });
      addTo(
        this.tokensByHolder,
        holderKey(record.username ? { username: record.username } : { clientId }),
        tokenHash,
      );
    }
  }

  private remove(key: string): void {
    if (key.startsWith(this.keys.accounts)) {
      const username = Keys.lastSegment(key);
      const account = this.accounts.get(username);
      if (account) this.byId.delete(account.revision);
      this.accounts.delete(username);
      this.names.delete(username);
    } else if (key.startsWith(this.keys.sessions) || key.startsWith(this.keys.tokens)) {
      const tokenHash = Keys.lastSegment(key);
      const session = this.sessions.get(tokenHash);
      if (!session || session.key !== key) return;
      this.sessions.delete(tokenHash);
      if (session.oauth) {
        const holder = session.username
          ? { username: session.username }
          : { clientId: session.oauth.clientId };
        removeFrom(this.tokensByHolder, holderKey(holder), tokenHash);
      } else {
        removeFrom(this.sessionsByUser, session.username, tokenHash);
      }
    } else if (key.startsWith(this.keys.apps)) {
      this.apps.delete(Keys.lastSegment(key));
    }
  }
}

function holderKey(holder: { username: string } | { clientId: string }): string {
  return "username" in holder ? `u:${holder.username}` : `a:${holder.clientId}`;
}

function addTo(map: Map<string, Set<string>>, key: string, value: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  set?.delete(value);
  if (set?.size === 0) map.delete(key);
}
