import { systemClock, type Clock } from "../../shared/clock.js";
import { alreadyExists, notFound, tooManyRequests, unauthenticated } from "../../shared/errors.js";
import { checkPassword, normalizeLimit, normalizeUsername } from "../../shared/validation.js";
import { DEFAULT_SCRYPT_PARAMS, hashPassword, verifyPassword, type ScryptParams } from "./password.js";
import type { AccountsStorage } from "./storage.js";
import { hashToken, isWellFormedToken, newSessionToken } from "./tokens.js";

export interface AccountsOptions {
  sessionTtlSeconds: number;
  scrypt: ScryptParams;
  /** Failed logins allowed per account, and per client address, within the window. */
  maxFailuresPerAccount: number;
  maxFailuresPerAddress: number;
  failureWindowSeconds: number;
}

export const DEFAULT_ACCOUNTS_OPTIONS: AccountsOptions = {
  sessionTtlSeconds: 7 * 24 * 3600,
  scrypt: DEFAULT_SCRYPT_PARAMS,
  maxFailuresPerAccount: 10,
  maxFailuresPerAddress: 100,
  failureWindowSeconds: 15 * 60,
};

export interface Session {
  token: string;
  username: string;
  expiresAtMs: number;
}

/** Accounts and sessions: the only place that sees passwords and turns tokens into users. */
export class AccountsService {
  /** Verified against when the account does not exist, so both failures take the same time. */
  private readonly decoyHash: Promise<string>;

  constructor(
    private readonly storage: AccountsStorage,
    private readonly options: AccountsOptions = DEFAULT_ACCOUNTS_OPTIONS,
    private readonly clock: Clock = systemClock,
  ) {
    this.decoyHash = hashPassword("decoy password never used", options.scrypt);
  }

  async createAccount(rawUsername: unknown, rawPassword: unknown): Promise<string> {
    const username = normalizeUsername(rawUsername);
    const password = checkPassword(rawPassword);
    const now = this.clock.now();
    const passwordHash = await hashPassword(password, this.options.scrypt);
    // The store recognises a retry of this very write (same salted hash) as success, so a
    // timed-out-then-retried signup is not reported as "taken". Nothing here compares the
    // password with an existing account: that would let signup probe passwords unthrottled.
    if (await this.storage.createAccount({ username, passwordHash, createdAtMs: now })) return username;
    throw alreadyExists(`username "${username}" is taken`);
  }

  async login(rawUsername: unknown, rawPassword: unknown, clientAddress: string): Promise<Session> {
    const username = normalizeUsername(rawUsername);
    const password = checkPassword(rawPassword);
    const accountKey = `u:${username}`;
    const addressKey = `a:${clientAddress || "unknown"}`;
    await this.refuseWhenThrottled(accountKey, addressKey);

    const account = await this.storage.getAccount(username);
    const ok = await verifyPassword(password, account?.passwordHash ?? (await this.decoyHash));
    if (!account || !ok) {
      const window = this.options.failureWindowSeconds;
      await Promise.all([
        this.storage.recordLoginFailure(accountKey, window),
        this.storage.recordLoginFailure(addressKey, window),
      ]);
      throw unauthenticated("wrong username or password");
    }

    const token = newSessionToken();
    const now = this.clock.now();
    const expiresAtMs = now + this.options.sessionTtlSeconds * 1000;
    await this.storage.createSession(
      hashToken(token),
      { username, createdAtMs: now, expiresAtMs },
      this.options.sessionTtlSeconds,
    );
    return { token, username, expiresAtMs };
  }

  async logout(token: string): Promise<void> {
    if (!isWellFormedToken(token)) return;
    await this.storage.deleteSession(hashToken(token));
  }

  /** The user behind a session token; UNAUTHENTICATED when unknown, expired or revoked. */
  async authenticate(token: string): Promise<string> {
    if (!isWellFormedToken(token)) throw unauthenticated();
    const session = await this.storage.getSession(hashToken(token));
    if (!session || session.expiresAtMs <= this.clock.now()) throw unauthenticated("session expired or revoked");
    return session.username;
  }

  async getAccount(rawUsername: unknown): Promise<{ username: string; createdAtMs: number }> {
    const username = normalizeUsername(rawUsername);
    const account = await this.storage.getAccount(username);
    if (!account) throw notFound(`no user "${username}"`);
    return { username: account.username, createdAtMs: account.createdAtMs };
  }

  async exists(username: string): Promise<boolean> {
    return (await this.storage.getAccount(username)) !== undefined;
  }

  async search(rawPrefix: string, limit: number | undefined): Promise<string[]> {
    const prefix = rawPrefix.toLowerCase();
    if (!/^[a-z0-9_]{0,32}$/.test(prefix)) return [];
    return this.storage.searchUsernames(prefix, normalizeLimit(limit));
  }

  private async refuseWhenThrottled(accountKey: string, addressKey: string): Promise<void> {
    const [forAccount, forAddress] = await Promise.all([
      this.storage.loginFailures(accountKey),
      this.storage.loginFailures(addressKey),
    ]);
    if (forAccount >= this.options.maxFailuresPerAccount || forAddress >= this.options.maxFailuresPerAddress) {
      throw tooManyRequests("too many failed logins, try again later", this.options.failureWindowSeconds);
    }
  }
}
