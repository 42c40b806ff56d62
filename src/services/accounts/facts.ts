import { randomBytes } from "node:crypto";
import { AccountRecord, CredentialRecord, SessionRecord } from "../../gen/flock/storage/v1/records.js";
import { absent, del, get, LeaseNotFoundError, put, text, unchangedSince } from "../../storage/kv.js";
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
}

function parseCounter(value: string): { count: number; nonce: string } | undefined {
  const [count, nonce = ""] = value.split(" ");
  const parsed = Number(count);
  return Number.isInteger(parsed) && parsed > 0 ? { count: parsed, nonce } : undefined;
}
