import { randomBytes } from "node:crypto";
import { AccountRecord, SessionRecord } from "../../../gen/flock/storage/v1/records.js";
import {
  absent,
  getOp,
  EtcdStore,
  putOp,
  retryOnConflict,
  unchangedSince,
  type EtcdStorageOptions,
} from "../../../storage/etcd/client.js";
import { lastSegment, prefixEnd } from "../../../storage/etcd/keys.js";
import type { AccountsStorage } from "../storage.js";

/**
 * Accounts in etcd (layout in storage/etcd/keys.ts). Sessions and login-failure windows
 * live under etcd leases, so the store forgets them itself: no sweeper, no clock here.
 */
export class EtcdAccountsStorage implements AccountsStorage {
  private readonly etcd: EtcdStore;

  constructor(options: EtcdStorageOptions) {
    this.etcd = new EtcdStore(options);
  }

  /**
   * Create-if-absent in one txn, so of two racing signups exactly one wins. When the txn
   * finds the key taken, it reads the record in the same round trip: a record with this very
   * salted hash is our own earlier attempt (re-sent after a lost answer), so that is success.
   */
  async createAccount(account: AccountRecord): Promise<boolean> {
    const key = this.etcd.keys.account(account.username);
    const answer = await this.etcd.txn({
      compare: [absent(key)],
      success: [putOp(key, AccountRecord.encode(account).finish())],
      failure: [getOp(key)],
    });
    if (answer.succeeded) return true;
    const stored = answer.responses[0]?.response_range.kvs[0];
    return stored !== undefined && AccountRecord.decode(stored.value).passwordHash === account.passwordHash;
  }

  async getAccount(username: string): Promise<AccountRecord | undefined> {
    const found = await this.etcd.range({ key: Buffer.from(this.etcd.keys.account(username)) });
    const kv = found.kvs[0];
    return kv && AccountRecord.decode(kv.value);
  }

  async searchUsernames(prefix: string, limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    const start = this.etcd.keys.accountsStartingWith(prefix);
    const found = await this.etcd.range({
      key: Buffer.from(start),
      range_end: prefixEnd(start),
      limit,
      keys_only: true,
    });
    return found.kvs.map((kv) => lastSegment(kv.key.toString()));
  }

  /** A put under a fresh lease: re-sending it rewrites the same session, so it is idempotent. */
  async createSession(tokenHash: string, session: SessionRecord, ttlSeconds: number): Promise<void> {
    const lease = await this.etcd.grantLease(ttlSeconds);
    await this.etcd.txn({
      success: [
        putOp(this.etcd.keys.session(tokenHash), SessionRecord.encode(session).finish(), { id: lease }),
      ],
    });
  }

  async getSession(tokenHash: string): Promise<SessionRecord | undefined> {
    const found = await this.etcd.range({ key: Buffer.from(this.etcd.keys.session(tokenHash)) });
    const kv = found.kvs[0];
    return kv && SessionRecord.decode(kv.value);
  }

  /** Deletes the key (the token stops working now), then lets go of its lease instead of keeping it for the TTL. */
  async deleteSession(tokenHash: string): Promise<void> {
    const removed = await this.etcd.delete(this.etcd.keys.session(tokenHash));
    if (removed && removed.lease !== "0") this.etcd.revokeLeaseLater(removed.lease);
  }

  /**
   * Compare-and-swap on the key's mod revision. The window is a lease granted with the first
   * failure; increments keep it (ignore_lease). Each increment carries a nonce, so when the
   * answer to an applied increment is lost and its re-send then fails the compare, the re-read
   * finds our own write and does not count the failure twice (unless another increment has
   * landed on top in between: then it may count once more, which only throttles sooner).
   */
  async recordLoginFailure(key: string, windowSeconds: number): Promise<number> {
    const etcdKey = this.etcd.keys.loginFailures(key);
    const nonce = randomBytes(8).toString("hex");
    let unusedLease: string | undefined;
    try {
      return await retryOnConflict(async () => {
        const current = await this.etcd.range({ key: Buffer.from(etcdKey) });
        const kv = current.kvs[0];
        const counter = kv ? parseCounter(kv.value.toString()) : undefined;
        if (kv && counter?.nonce === nonce) {
          if (kv.lease === unusedLease) unusedLease = undefined;
          return counter.count;
        }
        const count = (counter?.count ?? 0) + 1;
        const value = `${count} ${nonce}`;
        if (kv) {
          const answer = await this.etcd.txn({
            compare: [unchangedSince(etcdKey, kv.mod_revision)],
            success: [putOp(etcdKey, value, { keep: true })],
          });
          return answer.succeeded ? count : undefined;
        }
        unusedLease ??= await this.etcd.grantLease(windowSeconds);
        const answer = await this.etcd.txn({
          compare: [absent(etcdKey)],
          success: [putOp(etcdKey, value, { id: unusedLease })],
        });
        if (!answer.succeeded) return undefined;
        unusedLease = undefined;
        return count;
      });
    } finally {
      if (unusedLease !== undefined) this.etcd.revokeLeaseLater(unusedLease);
    }
  }

  async loginFailures(key: string): Promise<number> {
    const found = await this.etcd.range({ key: Buffer.from(this.etcd.keys.loginFailures(key)) });
    const kv = found.kvs[0];
    return kv ? (parseCounter(kv.value.toString())?.count ?? 0) : 0;
  }

  async close(): Promise<void> {
    this.etcd.close();
  }
}

function parseCounter(value: string): { count: number; nonce: string } | undefined {
  const [count, nonce = ""] = value.split(" ");
  const parsed = Number(count);
  return Number.isInteger(parsed) && parsed > 0 ? { count: parsed, nonce } : undefined;
}
