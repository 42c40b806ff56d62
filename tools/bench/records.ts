import {
  AccountRecord,
  CredentialRecord,
  PostRecord,
  SessionRecord,
} from "../../src/gen/flock/storage/v1/records.js";
import { postKeyFor } from "../../src/services/posts/facts.js";
import { parseTags } from "../../src/services/posts/text.js";
import { hashToken } from "../../src/services/accounts/tokens.js";
import { absent, put, type Compare, type Op } from "../../src/storage/kv.js";
import type { Keys } from "../../src/storage/keys.js";

/** One fact as the services write it: the ops of its transaction, and its compares. */
export interface Fact {
  success: Op[];
  compare?: Compare[];
}

/**
 * The facts a seed writes, built exactly as the services write them (services/*\/facts.ts):
 * keys from THE key layout (storage/keys.ts), values from the generated protobuf encoders.
 * The seeder adds the writer's tick to every transaction, as FactWriter does.
 */
export class SeedRecords {
  constructor(readonly keys: Keys) {}

  /** An account and its credentials (one txn in the accounts service). */
  account(username: string, passwordHash: string, createdAtMs: number): Fact {
    const account = AccountRecord.encode({
      username,
      passwordHash: "",
      createdAtMs,
      displayName: "",
      bio: "",
    }).finish();
    return {
      success: [
        put(this.keys.account(username), account),
        put(this.keys.credentials(username), CredentialRecord.encode({ passwordHash }).finish()),
      ],
    };
  }

  /** A session as a login stores it: under the sha256 of the token, on a shared lease. */
  session(token: string, username: string, lease: string, nowMs: number, expiresAtMs: number): Fact {
    const record = SessionRecord.encode({ username, createdAtMs: nowMs, expiresAtMs }).finish();
    return { success: [put(this.keys.session(hashToken(token)), record, lease)] };
  }

  /** One key per follow. */
  follow(follower: string, followee: string): Fact {
    return { success: [put(this.keys.follow(follower, followee), String(Date.now()))] };
  }

  /**
   * A post: one key, created once (its id is the key's create revision, so a re-sent txn
   * must not write it again). The key comes from the product's own postKeyFor.
   */
  post(author: string, requestId: string, text: string, createdAtMs: number): Fact {
    const key = this.keys.post(postKeyFor(author, requestId));
    const value = PostRecord.encode({
      id: "",
      author,
      text,
      createdAtMs,
      inReplyTo: "",
      inReplyToAuthor: "",
      mentions: [],
      tags: parseTags(text),
      editedAtMs: 0,
    }).finish();
    return { compare: [absent(key)], success: [put(key, value)] };
  }
}
