import { isIP } from "node:net";
import { systemClock, type Clock } from "../../shared/clock.js";
import {
  alreadyExists,
  notFound,
  permissionDenied,
  tooManyRequests,
  unauthenticated,
} from "../../shared/errors.js";
import { covers, isOAuthTokenShape } from "../../shared/oauth.js";
import {
  checkPassword,
  normalizeBio,
  normalizeDisplayName,
  normalizeLimit,
  normalizeUsername,
} from "../../shared/validation.js";
import type { Keys } from "../../storage/keys.js";
import type { Freshness } from "../../storage/watch-cache.js";
import type { Authenticator, Viewer } from "../shared/auth.js";
import type { AccountsFacts } from "./facts.js";
import { DEFAULT_SCRYPT_PARAMS, hashPassword, verifyPassword, type ScryptParams } from "./password.js";
import { hashToken, isWellFormedToken, newSessionToken } from "./tokens.js";
import type { Account, AccountsView, Session } from "./view.js";

export interface AccountsOptions {
  sessionTtlSeconds: number;
  scrypt: ScryptParams;
  /** Failed logins allowed per account, and per client address, within the window. */
  maxFailuresPerAccount: number;
  maxFailuresPerAddress: number;
  failureWindowSeconds: number;
  /** Live sessions an account may hold; a login beyond it ends the oldest. */
  maxSessionsPerAccount: number;
}

export const DEFAULT_ACCOUNTS_OPTIONS: AccountsOptions = {
  sessionTtlSeconds: 7 * 24 * 3600,
  scrypt: DEFAULT_SCRYPT_PARAMS,
  maxFailuresPerAccount: 10,
  maxFailuresPerAddress: 100,
  failureWindowSeconds: 15 * 60,
  maxSessionsPerAccount: 50,
};

export interface NewSession {
  token: string;
  username: string;
  expiresAtMs: number;
}

/** What a token is, as the Authenticate call answers it. */
export interface Identity {
  /** "" for an app's own token. */
  username: string;
  kind: "session" | "oauth" | "app";
  /** OAuth tokens: the scopes granted and the app. */
  scopes: readonly string[];
  clientId: string;
}

/**
 * Accounts and sessions: the only place that sees passwords and turns tokens into users.
 * Writes are facts (AccountsFacts); reads come from this backend's view (AccountsView),
 * made fresh first, so they reflect every write acknowledged anywhere before them.
 */
export class AccountsService implements Authenticator {
  /** Verified against when the account does not exist, so both failures take the same time. */
  private readonly decoyHash: Promise<string>;
  private readonly accountGate = new KeyedGate(1, 16);
  private readonly addressGate = new KeyedGate(4, 1024);

  constructor(
    private readonly facts: AccountsFacts,
    private readonly view: AccountsView,
    private readonly freshness: Freshness,
    private readonly keys: Keys,
    private readonly options: AccountsOptions = DEFAULT_ACCOUNTS_OPTIONS,
    private readonly clock: Clock = systemClock,
  ) {
    this.decoyHash = hashPassword("decoy password never used", options.scrypt);
    // Awaited only when an unknown user logs in: a failure must not go unhandled meanwhile.
    this.decoyHash.catch(() => undefined);
  }

  async createAccount(rawUsername: unknown, rawPassword: unknown): Promise<string> {
    const username = normalizeUsername(rawUsername);
    const password = checkPassword(rawPassword);
    const now = this.clock.now();
    const passwordHash = await hashPassword(password, this.options.scrypt);
    // The store recognises a retry of this very write (same salted hash) as success, so a
    // timed-out-then-retried signup is not reported as "taken". Nothing here compares the
    // password with an existing account: that would let signup probe passwords unthrottled.
    const revision = await this.facts.createAccount(
      { username, passwordHash: "", createdAtMs: now, displayName: "", bio: "" },
      passwordHash,
    );
    if (revision === undefined) throw alreadyExists(`username "${username}" is taken`);
    await this.freshness.reached(revision);
    return username;
  }

  async login(rawUsername: unknown, rawPassword: unknown, clientAddress: string): Promise<NewSession> {
    const username = normalizeUsername(rawUsername);
    const password = checkPassword(rawPassword);
    const accountKey = `u:${username}`;
    const addressKey = `a:${throttleAddress(clientAddress)}`;
    // The throttle counts failures only after a password check, so checks running side by side
    // would all pass it: a burst of parallel guesses must queue instead. Per process, one check
    // per account and a few per address run at a time, each re-reading the counts first.
    return this.accountGate.run(accountKey, () =>
      this.addressGate.run(addressKey, () =>
        this.checkAndOpenSession(username, password, accountKey, addressKey),
      ),
    );
  }

  private async checkAndOpenSession(
    username: string,
    password: string,
    accountKey: string,
    addressKey: string,
  ): Promise<NewSession> {
    await this.refuseWhenThrottled(accountKey, addressKey);

    const passwordHash = await this.facts.passwordHash(username);
    const ok = await verifyPassword(password, passwordHash ?? (await this.decoyHash));
    if (passwordHash === undefined || !ok) {
      const window = this.options.failureWindowSeconds;
      await Promise.all([
        this.facts.recordLoginFailure(accountKey, window),
        this.facts.recordLoginFailure(addressKey, window),
      ]);
      throw unauthenticated("wrong username or password");
    }

    const token = newSessionToken();
    const now = this.clock.now();
    const expiresAtMs = now + this.options.sessionTtlSeconds * 1000;
    const live = this.view.sessionsOf(username);
    const evict = live
      .slice(0, Math.max(0, live.length - (this.options.maxSessionsPerAccount - 1)))
      .map((s) => s.tokenHash);
    const revision = await this.facts.createSession(
      hashToken(token),
      { username, createdAtMs: now, expiresAtMs },
      evict,
    );
    await this.freshness.reached(revision);
    return { token, username, expiresAtMs };
  }

  /**
   * Ends the session (or revokes the OAuth token) named by the token and returns its user. A
   * token that names no live session writes nothing and returns "", so a caller can answer it
   * as unauthenticated.
   */
  async logout(token: string): Promise<string> {
    if (!isTokenShape(token)) return "";
    await this.freshness.fresh();
    const session = this.sessionOf(token);
    if (!session) return "";
    await this.freshness.reached(await this.facts.deleteKey(session.key));
    return session.username;
  }

  async authenticate(token: string, scope?: string): Promise<Viewer> {
    if (!isTokenShape(token)) throw unauthenticated();
    await this.freshness.fresh();
    return this.admit(this.sessionOf(token), scope);
  }

  async authenticateForWrite(token: string, scope?: string): Promise<Viewer> {
    if (!isTokenShape(token)) throw unauthenticated();
    const known = this.sessionOf(token);
    if (known) return this.admit(known, scope);
    // Perhaps a session opened on another backend that this view has not seen yet.
    await this.freshness.fresh();
    return this.admit(this.sessionOf(token), scope);
  }

  /** What any live token is (a session, an OAuth token of a user, an app's own), as of now. */
  async identify(token: string): Promise<Identity> {
    if (!isTokenShape(token)) throw unauthenticated();
    await this.freshness.fresh();
    const session = this.sessionOf(token) ?? this.refuse();
    if (!session.oauth) return { username: session.username, kind: "session", scopes: [], clientId: "" };
    return {
      username: session.username,
      kind: session.username === "" ? "app" : "oauth",
      scopes: session.oauth.scopes,
      clientId: session.oauth.clientId,
    };
  }

  async getAccount(rawUsername: unknown): Promise<Account> {
    const username = normalizeUsername(rawUsername);
    await this.freshness.fresh();
    const account = this.view.account(username);
    if (!account) throw notFound(`no user "${username}"`);
    return account;
  }

  /** Sets the caller's display name and bio; returns the account as it is now. */
  async updateProfile(token: string, rawDisplayName: unknown, rawBio: unknown): Promise<Account> {
    const viewer = await this.authenticateForWrite(token, "write:accounts");
    const displayName = normalizeDisplayName(rawDisplayName);
    const bio = normalizeBio(rawBio);
    const account = this.view.account(viewer.username);
    if (!account) throw unauthenticated("the account is gone");
    const revision = await this.facts.updateAccount(
      viewer,
      { username: account.username, passwordHash: "", createdAtMs: account.createdAtMs, displayName, bio },
      account.revision,
    );
    if (revision === undefined) throw unauthenticated("session expired or revoked");
    await this.freshness.reached(revision);
    return this.view.account(viewer.username) ?? { ...account, displayName, bio };
  }

  async search(rawPrefix: string, limit: number | undefined): Promise<string[]> {
    const prefix = rawPrefix.toLowerCase();
    if (!/^[a-z0-9_]{0,32}$/.test(prefix)) return [];
    const max = normalizeLimit(limit);
    await this.freshness.fresh();
    return this.view.search(prefix, max);
  }

  /** The live session or OAuth token a token names, from the view as it is. */
  private sessionOf(token: string): Session | undefined {
    const session = this.view.session(hashToken(token));
    if (!session) return undefined;
    // Each kind only in its own shape: a session is never taken for a token, nor the reverse.
    if ((session.oauth !== undefined) !== isOAuthTokenShape(token)) return undefined;
    if (session.expiresAtMs !== 0 && session.expiresAtMs <= this.clock.now()) return undefined;
    return session;
  }

  /**
   * The viewer a live session or token acts as, for a call needing `scope`: an OAuth token
   * must act for a user and cover the scope, and a call that names no scope takes none.
   */
  private admit(session: Session | undefined, scope: string | undefined): Viewer {
    if (!session) this.refuse();
    if (session.oauth) {
      if (session.username === "") throw permissionDenied("This method requires an authenticated user");
      if (scope === undefined) throw permissionDenied("This call does not take an OAuth access token");
      if (!covers(session.oauth.scopes, scope))
        throw permissionDenied("This action is outside the authorized scopes");
    }
    return {
      username: session.username,
      sessionKey: session.key,
      sessionRevision: session.revision,
      ...(session.oauth ? { oauth: session.oauth } : {}),
    };
  }

  private refuse(): never {
    throw unauthenticated("session expired or revoked");
  }

  private async refuseWhenThrottled(accountKey: string, addressKey: string): Promise<void> {
    const [forAccount, forAddress] = await Promise.all([
      this.facts.loginFailures(accountKey),
      this.facts.loginFailures(addressKey),
    ]);
    if (
      forAccount >= this.options.maxFailuresPerAccount ||
      forAddress >= this.options.maxFailuresPerAddress
    ) {
      throw tooManyRequests("too many failed logins, try again later", this.options.failureWindowSeconds);
    }
  }
}

function isTokenShape(token: string): boolean {
  return isWellFormedToken(token) || isOAuthTokenShape(token);
}

/**
 * The throttle's name for a client address: an IPv4 address as is (also when IPv4-mapped),
 * an IPv6 address by its /64 (what one subscriber usually holds, so rotating through it
 * does not reset the count). Anything else, empty or not an IP address at all, is "unknown":
 * one shared bucket, so junk neither reaches a storage key nor escapes the count.
 */
export function throttleAddress(raw: string): string {
  const address = raw.trim().toLowerCase();
  if (address.length > 64) return "unknown";
  const mapped = /^::ffff:([0-9.]+)$/.exec(address)?.[1];
  if (mapped !== undefined && isIP(mapped) === 4) return mapped;
  const version = isIP(address);
  if (version === 4) return address;
  if (version !== 6) return "unknown";
  const [head = "", tail] = address.split("%")[0]!.split("::");
  const groups = (part: string | undefined) => (part ? part.split(":") : []);
  const before = groups(head);
  const after = groups(tail);
  const width = (gs: string[]) => gs.reduce((n, g) => n + (g.includes(".") ? 2 : 1), 0);
  const zeros = Array<string>(Math.max(0, 8 - width(before) - width(after))).fill("0");
  const first4 = [...before, ...zeros, ...after].slice(0, 4).map((g) => parseInt(g, 16).toString(16));
  return `${first4.join(":")}::/64`;
}

/**
 * Runs work for a key with at most `concurrency` at once in this process; others wait in
 * arrival order, up to `maxWaiting`, beyond which they are refused (RESOURCE_EXHAUSTED).
 */
class KeyedGate {
  private readonly slots = new Map<string, { running: number; waiting: (() => void)[] }>();

  constructor(
    private readonly concurrency: number,
    private readonly maxWaiting: number,
  ) {}

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { running: 0, waiting: [] };
      this.slots.set(key, slot);
    }
    if (slot.running < this.concurrency) {
      slot.running++;
    } else {
      if (slot.waiting.length >= this.maxWaiting) {
        throw tooManyRequests("too many logins in progress, try again shortly", 1);
      }
      const queue = slot.waiting;
      await new Promise<void>((resolve) => queue.push(resolve));
    }
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next in line, or give it back.
      const next = slot.waiting.shift();
      if (next) next();
      else if (--slot.running === 0) this.slots.delete(key);
    }
  }
}
