import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AccountRecord, PostRecord, SessionRecord } from "../gen/flock/storage/v1/records.js";
import { hashPassword } from "../services/accounts/password.js";
import { hashToken, newSessionToken } from "../services/accounts/tokens.js";
import { createServices } from "../services/services.js";
import { prefixEnd, put } from "../storage/kv.js";
import { MemoryKv } from "../storage/memory/kv.js";
import { migrateV1 } from "./migrate-v1.js";

const SCRYPT = { logN: 4, r: 8, p: 1 };

/** Data as the previous version of Flock left it: facts plus fanned-out feed entries. */
async function writeV1(kv: MemoryKv): Promise<{ token: string; postIds: string[] }> {
  const v1 = "flock/v1/";
  for (const name of ["alice", "bob"]) {
    const passwordHash = await hashPassword("password123", SCRYPT);
    await kv.txn({
      success: [
        put(
          `${v1}acct/${name}`,
          AccountRecord.encode({
            username: name,
            passwordHash,
            createdAtMs: 1,
            displayName: "",
            bio: "",
          }).finish(),
        ),
      ],
    });
  }
  const token = newSessionToken();
  const lease = await kv.grantLease(3600);
  const session = SessionRecord.encode({
    username: "bob",
    createdAtMs: Date.now(),
    expiresAtMs: Date.now() + 3_600_000,
  });
  await kv.txn({ success: [put(`${v1}sess/${hashToken(token)}`, session.finish(), lease)] });
  await kv.txn({ success: [put(`${v1}following/bob/alice`, "1"), put(`${v1}followers/alice/bob`, "1")] });
  const postIds: string[] = [];
  // Written out of order on purpose: v1's order is its ids' (time) order, not the write order.
  for (const ms of [1_700_000_000_300, 1_700_000_000_100, 1_700_000_000_200]) {
    const id = `${ms}000000000abc`;
    postIds.push(id);
    await kv.txn({
      success: [
        put(
          `${v1}post/${id}`,
          PostRecord.encode({
            id,
            author: "alice",
            text: `at ${ms}`,
            createdAtMs: ms,
            inReplyTo: "",
            inReplyToAuthor: "",
            mentions: [],
            tags: [],
            editedAtMs: 0,
          }).finish(),
        ),
        put(`${v1}feed/bob/${id}`, "alice"),
        put(`${v1}feedby/bob/alice/${id}`, ""),
      ],
    });
  }
  return { token, postIds };
}

describe("upgrading key layout v1 to v2", () => {
  it("moves accounts, sessions, follows and posts in order, once, and removes v1", async () => {
    const kv = new MemoryKv();
    try {
      const { token } = await writeV1(kv);
      const report = await migrateV1(kv, "flock/");
      assert.deepEqual(
        { ...report, seconds: 0 },
        { accounts: 2, sessions: 1, follows: 1, posts: 3, deletedV1Keys: 14, seconds: 0 },
      );
      assert.equal(await migrateV1(kv, "flock/"), undefined, "a second run has nothing to do");
      assert.equal((await kv.range({ key: "flock/v1/", end: prefixEnd("flock/v1/") })).kvs.length, 0);

      const services = createServices(
        { accounts: kv, graph: kv, posts: kv, reader: kv },
        { prefix: "flock/", accounts: { scrypt: SCRYPT } },
      );
      try {
        await services.model.cache.start();
        const feed = await services.posts.getFeed(token, 10, undefined);
        assert.deepEqual(
          feed.items.map((i) => i.post!).map((p) => p.text),
          ["at 1700000000300", "at 1700000000200", "at 1700000000100"],
          "the old session works and the feed keeps v1's time order",
        );
        await services.accounts.login("alice", "password123", "127.0.0.1");
        assert.deepEqual(await services.graph.counts("alice"), { followers: 1, following: 0 });
      } finally {
        await services.close();
      }
    } finally {
      await kv.close();
    }
  });

  it("does nothing on a store without v1 data", async () => {
    const kv = new MemoryKv();
    try {
      assert.equal(await migrateV1(kv, "flock/"), undefined);
      assert.equal(kv.currentRevision, 0);
    } finally {
      await kv.close();
    }
  });
});
