import {
  AccountRecord,
  CredentialRecord,
  PostRecord,
  SessionRecord,
} from "../gen/flock/storage/v1/records.js";
import { postKeyFor } from "../services/posts/facts.js";
import { parseMentions, parseTags } from "../services/posts/text.js";
import { absent, del, get, prefixEnd, put, type KeyValue, type Kv, type Op } from "../storage/kv.js";
import { Keys } from "../storage/keys.js";

/**
 * Upgrades a deployment from key layout v1 (fan-out on write: feed entries per follower) to
 * layout v2 (facts only; views derived in each backend). Run by every backend before it
 * loads its view, and by `npm start` before it starts them: once the v2 marker exists it
 * does nothing. Every step is idempotent (creates compare "absent"), so two backends
 * migrating at once, or a migration cut short and run again, store each fact once.
 *
 * What moves: accounts (the password hash to its own key), live sessions (under leases that
 * end when they would have), follows, and posts in their v1 order (one txn each, so their
 * commit order, which is v2's post order, is v1's time order). What is dropped: feed entries,
 * delivery notes and horizons (v2 derives feeds), and idempotency keys (they expire after a
 * day in v2; a client retrying across the upgrade may post twice). The v1 keys are deleted
 * once everything is copied and the marker is written.
 */

export interface MigrationReport {
  accounts: number;
  sessions: number;
  follows: number;
  posts: number;
  deletedV1Keys: number;
  seconds: number;
}

export interface MigrationLog {
  info(obj: object, msg: string): void;
}

const PAGE = 500;
/** Accounts (2 keys each) and follows per txn, well under etcd's 128 operations. */
const BATCH = 50;

export async function migrateV1(
  kv: Kv,
  prefix: string,
  log?: MigrationLog,
): Promise<MigrationReport | undefined> {
  const keys = new Keys(prefix);
  const v1 = `${prefix}v1/`;
  const marker = `${keys.root}_m/from-v1`;
  const hasV1 = async () =>
    (await kv.range({ key: v1, end: prefixEnd(v1), limit: 1, keysOnly: true })).kvs.length > 0;
  if (!(await hasV1())) return undefined;
  if ((await kv.range({ key: marker })).kvs.length > 0) {
    // Copied before, but the clean-up was cut short.
    await deleteAll(kv, v1);
    return undefined;
  }

  const started = Date.now();
  log?.info({ from: v1, to: keys.root }, "migrating key layout v1 to v2");
  const report: MigrationReport = {
    accounts: 0,
    sessions: 0,
    follows: 0,
    posts: 0,
    deletedV1Keys: 0,
    seconds: 0,
  };

  const usernames = new Set<string>();
  await eachPage(kv, `${v1}acct/`, async (kvs) => {
    for (const batch of chunks(kvs, BATCH)) {
      const ops = batch.flatMap((kv): Op[] => {
        const record = AccountRecord.decode(kv.value);
        usernames.add(record.username);
        return [
          put(keys.account(record.username), AccountRecord.encode({ ...record, passwordHash: "" }).finish()),
          put(
            keys.credentials(record.username),
            CredentialRecord.encode({ passwordHash: record.passwordHash }).finish(),
          ),
        ];
      });
      await putAbsent(kv, ops, keys.tick("a"));
      report.accounts += batch.length;
    }
  });

  const leases = new Map<number, string>();
  await eachPage(kv, `${v1}sess/`, async (kvs) => {
    for (const kv1 of kvs) {
      const session = SessionRecord.decode(kv1.value);
      const seconds = Math.ceil((session.expiresAtMs - Date.now()) / 1000);
      if (seconds <= 0) continue;
      // One lease per hour of expiry, lasting to the end of that hour.
      const hour = Math.ceil(seconds / 3600);
      let lease = leases.get(hour);
      if (!lease) leases.set(hour, (lease = await kv.grantLease(hour * 3600)));
      const key = keys.session(Keys.lastSegment(kv1.key));
      await kv.txn({ compare: [absent(key)], success: [put(key, kv1.value, lease), put(keys.tick("a"))] });
      report.sessions++;
    }
  });

  await eachPage(kv, `${v1}following/`, async (kvs) => {
    for (const batch of chunks(kvs, BATCH)) {
      const ops = batch.map((kv1) => {
        const [follower, followee] = kv1.key.slice(`${v1}following/`.length).split("/");
        return put(keys.follow(follower!, followee!));
      });
      await putAbsent(kv, ops, keys.tick("g"));
      report.follows += batch.length;
    }
  });

  let lastReport = Date.now();
  // v1 post keys are time-ordered ids: reading them in key order and writing them one txn
  // after another gives v2 posts (whose ids are revisions) the same order.
  await eachPage(kv, `${v1}post/`, async (kvs) => {
    for (const kv1 of kvs) {
      const record = PostRecord.decode(kv1.value);
      const key = keys.post(postKeyFor(record.author, `v1:${record.id}`));
      await kv.txn({
        compare: [absent(key)],
        success: [
          put(
            key,
            PostRecord.encode({
              ...record,
              inReplyTo: "",
              inReplyToAuthor: "",
              // What v2 decides when a post is written, decided now for the old ones.
              mentions: parseMentions(record.text).filter((name) => usernames.has(name)),
              tags: parseTags(record.text),
            }).finish(),
          ),
          put(keys.tick("p")),
        ],
      });
      report.posts++;
      if (Date.now() - lastReport > 5_000) {
        lastReport = Date.now();
        log?.info({ posts: report.posts }, "migrating posts");
      }
    }
  });

  await kv.txn({ success: [put(marker, new Date().toISOString())] });
  report.deletedV1Keys = await deleteAll(kv, v1);
  report.seconds = (Date.now() - started) / 1000;
  log?.info({ ...report }, "migrated key layout v1 to v2");
  return report;
}

/** Puts each op's key unless it exists (a re-run or a racing migrator wrote it), with the tick. */
async function putAbsent(kv: Kv, ops: Op[], tick: string): Promise<void> {
  const keysOf = ops.map((op) => op.key);
  const existing = await kv.txn({ success: keysOf.map((key) => get(key)) });
  const missing = ops.filter((_, i) => (existing.results[i]?.kvs.length ?? 0) === 0);
  if (missing.length === 0) return;
  const answer = await kv.txn({
    compare: missing.map((op) => absent(op.key)),
    success: [...missing, put(tick)],
  });
  // Another migrator got some of them in between: put the rest one by one.
  if (!answer.succeeded) {
    for (const op of missing) await kv.txn({ compare: [absent(op.key)], success: [op, put(tick)] });
  }
}

/** Deletes every key under `prefix`, a page at a time; returns how many. */
async function deleteAll(kv: Kv, prefix: string): Promise<number> {
  let deleted = 0;
  for (;;) {
    const page = await kv.range({ key: prefix, end: prefixEnd(prefix), limit: PAGE, keysOnly: true });
    if (page.kvs.length === 0) return deleted;
    for (const batch of chunks(page.kvs, 100)) {
      await kv.txn({ success: batch.map((kv1) => del(kv1.key)) });
      deleted += batch.length;
    }
  }
}

async function eachPage(kv: Kv, prefix: string, each: (kvs: KeyValue[]) => Promise<void>): Promise<void> {
  let from = prefix;
  for (;;) {
    const page = await kv.range({ key: from, end: prefixEnd(prefix), limit: PAGE });
    if (page.kvs.length > 0) await each(page.kvs);
    if (!page.more || page.kvs.length === 0) return;
    from = page.kvs[page.kvs.length - 1]!.key + "\0";
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
