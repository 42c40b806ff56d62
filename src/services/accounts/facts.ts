import { randomBytes } from "node:crypto";
import {
  AccountRecord,
  AppRecord,
  AppSecretRecord,
  AuthorizationCodeRecord,
  CredentialRecord,
  SessionRecord,
  TokenRecord,
} from "../../gen/flock/storage/v1/records.js";
import {
  absent,
  del,
  get,
  LeaseNotFoundError,
  prefixEnd,
  put,
  text,
  unchangedSince,
  type Compare,
} from "../../storage/kv.js";
import type { Keys } from "../../storage/keys.js";
import type { LeaseBuckets } from "../../storage/lease-buckets.js";
import type { FactWriter } from "../../storage/writer.js";
import { sessionStillValid, type Viewer } from "../shared/auth.js";

/** Conflicting increments of one login-failure counter retried before giving up. */
const MAX_COUNTER_ROUNDS = 50;

/**
 * The accounts service's facts in the store: accounts, their credentials (outside the views'
 * range), sessions and login-failure counters. Every write is idempotent under the etcd
 * client's re-sends; each returns the revision a caller waits for before answering.
 */
export class AccountsFacts {
  constructor(
    private readonly writer: FactWriter,
    private readonly keys: Keys,
    private readonly sessionLeases: LeaseBuckets,
    /** Leases of authorization codes (their lifetime, a minute's bucket). */
    private readonly codeLeases: LeaseBuckets,
  ) {}

  /**
   * Creates the account and its credentials in one txn unless the name is taken. A re-sent
   * create that had landed finds its own credentials (the same salted hash) and succeeds.
   * Returns the revision, or undefined when the name is taken.
   */
  async createAccount(account: AccountRecord, passwordHash: string): Promise<number | undefined> {
    const accountKey = this.keys.account(account.username);
    const credentialKey = this.keys.credentials(account.username);
    const answer = await this.writer.txn({
      compare: [absent(accountKey), absent(credentialKey)],
      success: [
        put(accountKey, AccountRecord.encode({ ...account, passwordHash: "" }).finish()),
        put(credentialKey, CredentialRecord.encode({ passwordHash }).finish()),
      ],
      failure: [get(credentialKey)],
    });
    if (answer.succeeded) return answer.revision;
    const stored = answer.results[0]?.kvs[0];
    if (stored && CredentialRecord.decode(stored.value).passwordHash === passwordHash)
      return stored.modRevision;
    return undefined;
  }

  /** Rewrites the public part of the viewer's account while their session and the account exist. */
  async updateAccount(
    viewer: Viewer,
    account: AccountRecord,
    accountRevision: number,
  ): Promise<number | undefined> {
    const key = this.keys.account(account.username);
    const answer = await this.writer.txn({
      compare: [sessionStillValid(viewer), { key, target: "createRevision", equals: accountRevision }],
      success: [put(key, AccountRecord.encode({ ...account, passwordHash: "" }).finish())],
    });
    return answer.succeeded ? answer.revision : undefined;
  }

  /** The password hash of an account (a linearizable read; hashes are in no view). */
  async passwordHash(username: string): Promise<string | undefined> {
    const found = await this.writer.range({ key: this.keys.credentials(username) });
    const kv = found.kvs[0];
    return kv && CredentialRecord.decode(kv.value).passwordHash;
  }

  /**
   * Stores a session under the current bucket's lease and, in the same txn, deletes the
   * sessions named in `evict` (the cap on live sessions per account). A put of a fixed
   * value: a re-send rewrites the same session.
   */
  createSession(tokenHash: string, session: SessionRecord, evict: readonly string[]): Promise<number> {
    return this.sessionLeases.withLease(async (lease) => {
      const answer = await this.writer.txn({
        success: [
          put(this.keys.session(tokenHash), SessionRecord.encode(session).finish(), lease),
          ...evict.map((hash) => del(this.keys.session(hash))),
        ],
      });
      return answer.revision;
    });
  }

  /** Deletes a session: the token stops working at once, everywhere. Idempotent. */
  async deleteSession(tokenHash: string): Promise<number> {
    return (await this.writer.txn({ success: [del(this.keys.session(tokenHash))] })).revision;
  }

  /**
   * Counts one failed login under `key` in a window of `windowSeconds` that starts at the
   * first failure; returns the count so far. Compare-and-swap on the counter's mod revision;
   * each increment carries a nonce, so a re-sent increment that had landed is recognised
   * and not counted twice. The window is a lease granted with the first failure.
   */
  async recordLoginFailure(key: string, windowSeconds: number): Promise<number> {
    const counterKey = this.keys.loginFailures(key);
    const nonce = randomBytes(8).toString("hex");
    let lease: string | undefined;
    for (let round = 0; round < MAX_COUNTER_ROUNDS; round++) {
      const current = (await this.writer.range({ key: counterKey })).kvs[0];
      const counter = current ? parseCounter(text(current.value)) : undefined;
      if (current && counter?.nonce === nonce) return counter.count;
      const count = (counter?.count ?? 0) + 1;
      const value = `${count} ${nonce}`;
      if (current) {
        // The window's lease carries over; if it expired meanwhile the counter is gone too.
        const answer = await this.writer.kv
          .txn({
            compare: [unchangedSince(counterKey, current.modRevision)],
            success: [put(counterKey, value, current.lease)],
          })
          .catch((err: unknown) => {
            if (err instanceof LeaseNotFoundError) return undefined;
            throw err;
          });
        if (answer?.succeeded) return count;
        continue;
      }
      lease ??= await this.writer.kv.grantLease(windowSeconds);
      const created = await this.writer.kv.txn({
        compare: [absent(counterKey)],
        success: [put(counterKey, value, lease)],
      });
      if (created.succeeded) return count;
      // Someone else started the window: ours is surely unused now, so let it go. (A lease
      // whose create had an unknown outcome is never revoked: it may hold the counter.)
      void this.writer.kv.revokeLease(lease).catch(() => undefined);
      lease = undefined;
    }
    throw new Error(`login failure counter ${key}: gave up after ${MAX_COUNTER_ROUNDS} conflicting writes`);
  }

  /** Failures counted under `key` in its current window (0 when none or expired). */
  async loginFailures(key: string): Promise<number> {
    const kv = (await this.writer.range({ key: this.keys.loginFailures(key) })).kvs[0];
    return kv ? (parseCounter(text(kv.value))?.count ?? 0) : 0;
  }
  // OAuth: apps, authorization codes, access tokens.

  /**
   * Registers an app and its secret's hash in one txn. A re-sent create that had landed finds
   * its own secret hash and succeeds. Returns the app's revision.
   */
  async createApp(clientId: string, app: AppRecord, secretHash: string): Promise<number> {
    const appKey = this.keys.app(clientId);
    const secretKey = this.keys.appSecret(clientId);
    const answer = await this.writer.txn({
      compare: [absent(appKey), absent(secretKey)],
      success: [
        put(appKey, AppRecord.encode(app).finish()),
        put(secretKey, AppSecretRecord.encode({ secretHash }).finish()),
      ],
      failure: [get(secretKey)],
    });
    if (answer.succeeded) return answer.revision;
    const stored = answer.results[0]?.kvs[0];
    if (stored && AppSecretRecord.decode(stored.value).secretHash === secretHash) return stored.modRevision;
    throw new Error(`client id ${clientId} collided`);
  }

  /**
   * Deletes an app, every token it holds (one range) and its secret, in one txn, if it is the
   * app registered at `appRevision`. Returns the revision (undefined when it was gone already).
   */
  async deleteApp(clientId: string, appRevision: number): Promise<number | undefined> {
    const answer = await this.writer.txn({
      compare: [{ key: this.keys.app(clientId), target: "createRevision", equals: appRevision }],
      success: [
        del(this.keys.app(clientId)),
        { type: "delete", key: this.keys.tokensOf(clientId), end: prefixEnd(this.keys.tokensOf(clientId)) },
        del(this.keys.appSecret(clientId)),
      ],
    });
    return answer.succeeded ? answer.revision : undefined;
  }

  /** The hash of an app's client secret (a linearizable read; it is in no view). */
  async appSecretHash(clientId: string): Promise<string | undefined> {
    const kv = (await this.writer.range({ key: this.keys.appSecret(clientId) })).kvs[0];
    return kv && AppSecretRecord.decode(kv.value).secretHash;
  }

  /**
   * Stores an authorization code under its bucket's lease while the granting session lasts.
   * A put of a fixed value: a re-send rewrites the same code. False when the session is gone.
   */
  storeCode(viewer: Viewer, codeHash: string, code: AuthorizationCodeRecord): Promise<boolean> {
    return this.codeLeases.withLease(async (lease) => {
      const answer = await this.writer.kv.txn({
        compare: [sessionStillValid(viewer)],
        success: [
          put(this.keys.authorizationCode(codeHash), AuthorizationCodeRecord.encode(code).finish(), lease),
        ],
      });
      return answer.succeeded;
    });
  }

  /** An authorization code as stored, with what redeeming it compares (a linearizable read). */
  async readCode(codeHash: string): Promise<StoredCode | undefined> {
    const kv = (await this.writer.range({ key: this.keys.authorizationCode(codeHash) })).kvs[0];
    if (!kv) return undefined;
    return { record: AuthorizationCodeRecord.decode(kv.value), modRevision: kv.modRevision, lease: kv.lease };
  }

  /**
   * Redeems a code: marks it used (with the token's hash, under its own lease) and stores the
   * token, in one txn, if the code is unchanged since it was read and the app and the account
   * are the ones it was issued for. `evict` names tokens to delete (the cap per holder).
   * Returns the revision, or undefined when a compare failed or the code's lease ran out.
   */
  async redeemCode(
    codeHash: string,
    code: StoredCode,
    token: NewToken,
    guards: { appRevision: number; accountKey: string; accountRevision: number },
    evict: readonly string[],
  ): Promise<number | undefined> {
    const answer = await this.writer
      .txn({
        compare: [
          unchangedSince(this.keys.authorizationCode(codeHash), code.modRevision),
          { key: this.keys.app(token.clientId), target: "createRevision", equals: guards.appRevision },
          { key: guards.accountKey, target: "createRevision", equals: guards.accountRevision },
        ],
        success: [
          put(
            this.keys.authorizationCode(codeHash),
            AuthorizationCodeRecord.encode({ ...code.record, tokenHash: token.tokenHash }).finish(),
            code.lease,
          ),
          put(this.keys.token(token.clientId, token.tokenHash), TokenRecord.encode(token.record).finish()),
          ...evict.map((key) => del(key)),
        ],
      })
      .catch((err: unknown) => {
        if (err instanceof LeaseNotFoundError) return undefined;
        throw err;
      });
    return answer?.succeeded ? answer.revision : undefined;
  }

  /**
   * Stores a token while `guards` hold (the app, as registered), deleting `evict`. A put of a
   * fixed value: a re-send rewrites it. Returns the revision, or undefined when a guard failed.
   */
  async createToken(
    token: NewToken,
    guards: Compare[],
    evict: readonly string[],
  ): Promise<number | undefined> {
    const answer = await this.writer.txn({
      compare: guards,
      success: [
        put(this.keys.token(token.clientId, token.tokenHash), TokenRecord.encode(token.record).finish()),
        ...evict.map((key) => del(key)),
      ],
    });
    return answer.succeeded ? answer.revision : undefined;
  }

  /** Deletes a session or a token by its key: it stops working at once, everywhere. Idempotent. */
  async deleteKey(key: string): Promise<number> {
    return (await this.writer.txn({ success: [del(key)] })).revision;
  }
}

export interface StoredCode {
  record: AuthorizationCodeRecord;
  modRevision: number;
  lease: string;
}

export interface NewToken {
  clientId: string;
  tokenHash: string;
  record: TokenRecord;
}

function parseCounter(value: string): { count: number; nonce: string } | undefined {
  const [count, nonce = ""] = value.split(" ");
  const parsed = Number(count);
  return Number.isInteger(parsed) && parsed > 0 ? { count: parsed, nonce } : undefined;
}
