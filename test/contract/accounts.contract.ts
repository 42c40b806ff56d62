import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { freshStorageEachTest, type StorageUnderTest } from "../fixtures/storage-under-test.js";
import type { AccountRecord, AccountsStorage } from "../../src/services/accounts/storage.js";

/** A fresh, empty store for one test, and how to dispose of it. */
export type AccountsStorageUnderTest = StorageUnderTest<AccountsStorage>;

/**
 * What every AccountsStorage must do, run against each implementation (memory, etcd).
 * Expiry is real time: TTLs are short and checked by polling with a deadline.
 */
export function accountsStorageContract(
  name: string,
  makeStorage: () => Promise<AccountsStorageUnderTest>,
): void {
  describe(`AccountsStorage contract: ${name}`, () => {
    let storage: AccountsStorage;
    freshStorageEachTest(makeStorage, (made) => (storage = made));

    it("creates an account once and reads it back", async () => {
      const alice = account("alice", "hash-1");
      assert.equal(await storage.createAccount(alice), true);
      assert.deepEqual(await storage.getAccount("alice"), alice);
      assert.equal(await storage.getAccount("bob"), undefined);
    });

    it("refuses a taken username and keeps the first account", async () => {
      assert.equal(await storage.createAccount(account("alice", "first")), true);
      assert.equal(await storage.createAccount(account("alice", "second")), false);
      assert.equal((await storage.getAccount("alice"))?.passwordHash, "first");
    });

    it("recognises a re-sent identical record as its own write, not as a taken name", async () => {
      const record = account("resent", "salted-hash-1");
      assert.equal(await storage.createAccount(record), true);
      assert.equal(await storage.createAccount({ ...record }), true);
      assert.equal(await storage.createAccount(account("resent", "salted-hash-2")), false);
    });

    it("lets exactly one of many concurrent signups for one name win", async () => {
      const attempts = Array.from({ length: 25 }, (_, i) => account("contested", `hash-${i}`));
      const results = await Promise.all(attempts.map((a) => storage.createAccount(a)));
      assert.equal(results.filter(Boolean).length, 1);
      const winner = attempts[results.indexOf(true)]!;
      assert.equal((await storage.getAccount("contested"))?.passwordHash, winner.passwordHash);
    });

    it("creates many different accounts concurrently", async () => {
      const names = Array.from({ length: 30 }, (_, i) => `user_${String(i).padStart(2, "0")}`);
      const results = await Promise.all(names.map((n) => storage.createAccount(account(n, "h"))));
      assert.deepEqual(
        results,
        names.map(() => true),
      );
      for (const n of names) assert.equal((await storage.getAccount(n))?.username, n);
    });

    it("searches usernames by prefix, ascending, up to the limit", async () => {
      for (const n of ["bob", "al_x", "alice", "al", "alfred", "alb", "zed"]) {
        assert.equal(await storage.createAccount(account(n, "h")), true);
      }
      assert.deepEqual(await storage.searchUsernames("al", 10), ["al", "al_x", "alb", "alfred", "alice"]);
      assert.deepEqual(await storage.searchUsernames("al", 2), ["al", "al_x"]);
      assert.deepEqual(await storage.searchUsernames("alf", 10), ["alfred"]);
      assert.deepEqual(await storage.searchUsernames("nobody", 10), []);
      assert.deepEqual(await storage.searchUsernames("", 3), ["al", "al_x", "alb"]);
    });

    it("stores, reads and deletes sessions; deleting is idempotent", async () => {
      const session = { username: "alice", createdAtMs: 1_000, expiresAtMs: Date.now() + 3_600_000 };
      await storage.createSession("token-hash-1", session, 3600);
      assert.deepEqual(await storage.getSession("token-hash-1"), session);
      assert.equal(await storage.getSession("token-hash-2"), undefined);
      await storage.deleteSession("token-hash-1");
      assert.equal(await storage.getSession("token-hash-1"), undefined);
      await storage.deleteSession("token-hash-1");
      await storage.deleteSession("never-existed");
    });

    it("forgets a session after its ttl, keeping longer ones", async () => {
      const session = { username: "alice", createdAtMs: Date.now(), expiresAtMs: Date.now() + 1_000 };
      await storage.createSession("short", session, 1);
      await storage.createSession("long", { ...session, expiresAtMs: Date.now() + 3_600_000 }, 3600);
      assert.deepEqual(await storage.getSession("short"), session);
      await eventually(
        "the short session to expire",
        10_000,
        async () => (await storage.getSession("short")) === undefined,
      );
      assert.equal((await storage.getSession("long"))?.username, "alice");
    });

    it("counts login failures per key", async () => {
      assert.equal(await storage.loginFailures("u:alice"), 0);
      assert.equal(await storage.recordLoginFailure("u:alice", 600), 1);
      assert.equal(await storage.recordLoginFailure("u:alice", 600), 2);
      assert.equal(await storage.recordLoginFailure("a:::ffff:127.0.0.1", 600), 1);
      assert.equal(await storage.recordLoginFailure("u:alice", 600), 3);
      assert.equal(await storage.loginFailures("u:alice"), 3);
      assert.equal(await storage.loginFailures("a:::ffff:127.0.0.1"), 1);
      assert.equal(await storage.loginFailures("u:bob"), 0);
    });

    it("counts every one of many concurrent login failures exactly once", async () => {
      const counts = await Promise.all(
        Array.from({ length: 12 }, () => storage.recordLoginFailure("u:target", 600)),
      );
      assert.deepEqual(
        [...counts].sort((a, b) => a - b),
        Array.from({ length: 12 }, (_, i) => i + 1),
      );
      assert.equal(await storage.loginFailures("u:target"), 12);
    });

    it("starts a new login-failure window once the old one has passed", async () => {
      assert.equal(await storage.recordLoginFailure("u:carol", 1), 1);
      assert.equal(await storage.recordLoginFailure("u:carol", 1), 2);
      await eventually(
        "the failure window to close",
        10_000,
        async () => (await storage.loginFailures("u:carol")) === 0,
      );
      assert.equal(await storage.recordLoginFailure("u:carol", 600), 1);
    });
  });
}

function account(username: string, passwordHash: string): AccountRecord {
  return { username, passwordHash, createdAtMs: 1_700_000_000_000 };
}

/** Polls `check` until it holds; fails after `timeoutMs`. */
async function eventually(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
