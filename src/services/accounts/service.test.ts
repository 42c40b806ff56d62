import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { status } from "@grpc/grpc-js";
import { FakeClock } from "../../../test/fixtures/fake-clock.js";
import {
  KEYS,
  logIn,
  memoryServicesFor,
  PASSWORD,
  signUp,
  storedKeys,
} from "../../../test/fixtures/memory-services.js";
import { AccountRecord, CredentialRecord, SessionRecord } from "../../gen/flock/storage/v1/records.js";
import { FlockError } from "../../shared/errors.js";
import { text, type TxnRequest, type TxnResult } from "../../storage/kv.js";
import { MemoryKv } from "../../storage/memory/kv.js";
import { verifyPassword } from "./password.js";
import type { AccountsOptions } from "./service.js";
import { hashToken, newSessionToken } from "./tokens.js";

const OPTIONS: Partial<AccountsOptions> = {
  sessionTtlSeconds: 3600,
  maxFailuresPerAccount: 3,
  maxFailuresPerAddress: 5,
  failureWindowSeconds: 60,
};
const ADDRESS = "192.0.2.1";

async function setup(t: TestContext, options: Partial<AccountsOptions> = {}, kv?: MemoryKv) {
  const clock = new FakeClock();
  const s = await memoryServicesFor(t, { accounts: { ...OPTIONS, ...options }, clock, kv });
  const one = async (key: string) => (await s.kv.range({ key })).kvs[0];
  return { ...s, clock, one, signupAndLogin: (username: string) => signUp(s, username) };
}

/**
 * Failure windows are leases in the store, which expire on the store's timers: the test
 * drives them with mock timers (the fake clock drives session expiry, not the store).
 */
function mockStoreTimers(t: TestContext) {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  return (ms: number) => t.mock.timers.tick(ms);
}

const flockError = (code: status) => (err: unknown) => {
  assert.ok(err instanceof FlockError, `expected a FlockError, got ${String(err)}`);
  assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code]}: ${err.message}`);
  return true;
};
const INVALID = flockError(status.INVALID_ARGUMENT);
const UNAUTHENTICATED = flockError(status.UNAUTHENTICATED);
const THROTTLED = flockError(status.RESOURCE_EXHAUSTED);

describe("AccountsService.createAccount", () => {
  it("stores a case-folded account, and the password's hash only outside the views' range", async (t) => {
    const { accounts, kv, clock, one } = await setup(t);
    assert.equal(await accounts.createAccount("Alice_1", PASSWORD), "alice_1");

    const account = await one(KEYS.account("alice_1"));
    assert.ok(account);
    assert.deepEqual(AccountRecord.decode(account.value), {
      username: "alice_1",
      passwordHash: "",
      createdAtMs: clock.now(),
      displayName: "",
      bio: "",
    });
    const credentials = await one(KEYS.credentials("alice_1"));
    assert.ok(credentials);
    const { passwordHash } = CredentialRecord.decode(credentials.value);
    assert.equal(await verifyPassword(PASSWORD, passwordHash), true);
    const { key, end } = KEYS.watched;
    assert.ok(credentials.key < key || credentials.key >= end, "the hash must not be in the watched range");

    const stored = await storedKeys(kv);
    assert.ok(!stored.some((entry) => entry.key.includes("Alice_1")));
    assert.ok(!stored.some((entry) => text(entry.value).includes(PASSWORD)), "the password is stored");
    const found = await accounts.getAccount("ALICE_1");
    assert.equal(found.username, "alice_1");
    assert.equal(found.createdAtMs, clock.now());
  });

  it("refuses a taken username with ALREADY_EXISTS, whatever its case, and stores nothing", async (t) => {
    const { accounts, kv } = await setup(t);
    await accounts.createAccount("alice", PASSWORD);
    const before = await storedKeys(kv);
    await assert.rejects(
      accounts.createAccount("alice", "another password"),
      flockError(status.ALREADY_EXISTS),
    );
    await assert.rejects(
      accounts.createAccount("ALICE", "another password"),
      flockError(status.ALREADY_EXISTS),
    );
    assert.deepEqual(await storedKeys(kv), before);
    await assert.rejects(accounts.login("alice", "another password", ADDRESS), UNAUTHENTICATED);
  });

  it("succeeds when the store retries a signup write that had already landed", async (t) => {
    // The etcd client re-sends a timed-out write; the first attempt may have been applied.
    class ReplayingKv extends MemoryKv {
      resent = 0;
      override async txn(request: TxnRequest): Promise<TxnResult> {
        if (request.success.some((op) => op.type === "put" && op.key.startsWith(KEYS.credentials("")))) {
          await super.txn(request); // applied, but the answer was lost
          this.resent++;
        }
        return super.txn(request); // the client's retry of the very same write
      }
    }
    const store = new ReplayingKv();
    const { accounts, kv } = await setup(t, {}, store);
    assert.equal(await accounts.createAccount("Alice", PASSWORD), "alice");
    assert.equal(store.resent, 1);
    assert.equal(kv.currentRevision, 1, "the retry wrote nothing");
    assert.deepEqual(await accounts.search("", 10), ["alice"]);
    assert.equal((await accounts.login("alice", PASSWORD, ADDRESS)).username, "alice");
  });

  it("answers a second signup with the same name and password as taken, so signup cannot probe passwords", async (t) => {
    const { accounts, kv, clock } = await setup(t);
    await accounts.createAccount("alice", PASSWORD);
    const before = await storedKeys(kv);
    clock.advance(1000);
    await assert.rejects(accounts.createAccount("alice", PASSWORD), flockError(status.ALREADY_EXISTS));
    assert.deepEqual(await storedKeys(kv), before);
  });

  it("of two racing signups for one name exactly one wins", async (t) => {
    const { accounts } = await setup(t);
    const results = await Promise.allSettled([
      accounts.createAccount("alice", "first password"),
      accounts.createAccount("alice", "second password"),
    ]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    const loser = results.find((r) => r.status === "rejected");
    assert.ok(loser && flockError(status.ALREADY_EXISTS)(loser.reason));
    const firstWon = results[0]!.status === "fulfilled";
    const [won, lost] = firstWon
      ? ["first password", "second password"]
      : ["second password", "first password"];
    assert.equal((await accounts.login("alice", won, ADDRESS)).username, "alice");
    await assert.rejects(accounts.login("alice", lost, ADDRESS), UNAUTHENTICATED);
  });

  it("rejects invalid input with INVALID_ARGUMENT and stores nothing", async (t) => {
    const { accounts, kv } = await setup(t);
    const cases: [unknown, unknown][] = [
      ["ab", PASSWORD],
      ["a".repeat(33), PASSWORD],
      ["al ice", PASSWORD],
      ["\u212Aevin", PASSWORD],
      [undefined, PASSWORD],
      [42, PASSWORD],
      ["alice", "short"],
      ["alice", "x".repeat(257)],
      ["alice", "password\u0000"],
      ["alice", undefined],
      ["alice", { length: 10 }],
    ];
    for (const [username, password] of cases) {
      await assert.rejects(accounts.createAccount(username, password), INVALID, JSON.stringify([username]));
    }
    assert.equal(kv.currentRevision, 0);
    assert.deepEqual(await storedKeys(kv), []);
    assert.deepEqual(await accounts.search("", 100), []);
  });

  it("an account created on one backend is seen by another at once", async (t) => {
    const { accounts, another } = await setup(t);
    const other = await another();
    for (const name of ["alice", "bob", "carol"]) {
      await accounts.createAccount(name, PASSWORD);
      assert.equal((await other.accounts.getAccount(name)).username, name);
      assert.ok((await other.accounts.search("", 10)).includes(name));
      assert.equal((await other.accounts.login(name, PASSWORD, ADDRESS)).username, name);
    }
  });
});

describe("AccountsService.login", () => {
  it("returns a 43-character token for the right password and stores only its hash", async (t) => {
    const { accounts, kv, clock, one } = await setup(t);
    await accounts.createAccount("alice", PASSWORD);
    const session = await accounts.login("ALICE", PASSWORD, ADDRESS);
    assert.match(session.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(session.username, "alice");
    assert.equal(session.expiresAtMs, clock.now() + OPTIONS.sessionTtlSeconds! * 1000);

    const sessions = await storedKeys(kv, KEYS.sessions);
    assert.equal(sessions.length, 1);
    const written = sessions[0]!;
    assert.equal(written.key, KEYS.session(hashToken(session.token)));
    assert.notEqual(written.lease, "0", "a session lives under a lease");
    assert.deepEqual(SessionRecord.decode(written.value), {
      username: "alice",
      createdAtMs: clock.now(),
      expiresAtMs: session.expiresAtMs,
    });
    assert.equal(await one(KEYS.session(session.token)), undefined);
    for (const entry of await storedKeys(kv)) {
      assert.ok(!entry.key.includes(session.token) && !text(entry.value).includes(session.token), entry.key);
    }
  });

  it("answers a wrong password and an unknown user alike, with UNAUTHENTICATED, and opens no session", async (t) => {
    const { accounts, kv } = await setup(t);
    await accounts.createAccount("alice", PASSWORD);
    const wrong = await accounts.login("alice", "wrong password", ADDRESS).catch((e: unknown) => e);
    const unknown = await accounts.login("nobody", PASSWORD, ADDRESS).catch((e: unknown) => e);
    UNAUTHENTICATED(wrong);
    UNAUTHENTICATED(unknown);
    assert.equal((wrong as FlockError).message, (unknown as FlockError).message);
    assert.deepEqual(await storedKeys(kv, KEYS.sessions), []);
  });

  it("rejects malformed credentials with INVALID_ARGUMENT and stores nothing", async (t) => {
    const { accounts, kv } = await setup(t);
    await accounts.createAccount("alice", PASSWORD);
    const revision = kv.currentRevision;
    await assert.rejects(accounts.login("a", PASSWORD, ADDRESS), INVALID);
    await assert.rejects(accounts.login("alice", "short", ADDRESS), INVALID);
    await assert.rejects(accounts.login(undefined, undefined, ADDRESS), INVALID);
    assert.equal(kv.currentRevision, revision);
  });

  it("throttles an account after too many failures, even for the right password, until the window passes", async (t) => {
    const tick = mockStoreTimers(t);
    const { accounts } = await setup(t);
    await accounts.createAccount("alice", PASSWORD);
    for (let i = 0; i < OPTIONS.maxFailuresPerAccount!; i++) {
      await assert.rejects(accounts.login("alice", "wrong password", `198.51.100.${i}`), UNAUTHENTICATED);
    }
    const refused = await accounts.login("alice", PASSWORD, "203.0.113.9").catch((e: unknown) => e);
    THROTTLED(refused);
    assert.equal((refused as FlockError).retryAfterSeconds, OPTIONS.failureWindowSeconds);

    tick(OPTIONS.failureWindowSeconds! * 1000 - 1);
    await assert.rejects(accounts.login("alice", PASSWORD, ADDRESS), THROTTLED);
    tick(1);
    const session = await accounts.login("alice", PASSWORD, ADDRESS);
    assert.equal(session.username, "alice");
  });

  it("does not throttle below the limit", async (t) => {
    const { accounts } = await setup(t);
    await accounts.createAccount("alice", PASSWORD);
    for (let i = 0; i < OPTIONS.maxFailuresPerAccount! - 1; i++) {
      await assert.rejects(accounts.login("alice", "wrong password", ADDRESS), UNAUTHENTICATED);
    }
    assert.equal((await accounts.login("alice", PASSWORD, ADDRESS)).username, "alice");
  });

  it("counts failures in a window from the first failure, so old failures do not add up", async (t) => {
    const tick = mockStoreTimers(t);
    const { accounts } = await setup(t);
    await accounts.createAccount("alice", PASSWORD);
    for (let i = 0; i < OPTIONS.maxFailuresPerAccount! - 1; i++) {
      await assert.rejects(accounts.login("alice", "wrong password", ADDRESS), UNAUTHENTICATED);
    }
    tick(OPTIONS.failureWindowSeconds! * 1000);
    for (let i = 0; i < OPTIONS.maxFailuresPerAccount! - 1; i++) {
      await assert.rejects(accounts.login("alice", "wrong password", ADDRESS), UNAUTHENTICATED);
    }
    assert.equal((await accounts.login("alice", PASSWORD, ADDRESS)).username, "alice");
  });

  it("throttles a client address that fails across many accounts, but not other addresses", async (t) => {
    const { accounts } = await setup(t);
    await accounts.createAccount("alice", PASSWORD);
    for (let i = 0; i < OPTIONS.maxFailuresPerAddress!; i++) {
      await assert.rejects(accounts.login(`guess_${i}`, "wrong password", ADDRESS), UNAUTHENTICATED);
    }
    await assert.rejects(accounts.login("alice", PASSWORD, ADDRESS), THROTTLED);
    assert.equal((await accounts.login("alice", PASSWORD, "203.0.113.7")).username, "alice");
  });

  it("adds up failures made on every backend", async (t) => {
    const { accounts, another } = await setup(t);
    const other = await another();
    await accounts.createAccount("alice", PASSWORD);
    const backends = [accounts, other.accounts, accounts];
    for (const [i, backend] of backends.entries()) {
      await assert.rejects(backend.login("alice", "wrong password", `198.51.100.${i}`), UNAUTHENTICATED);
    }
    await assert.rejects(other.accounts.login("alice", PASSWORD, ADDRESS), THROTTLED);
    await assert.rejects(accounts.login("alice", PASSWORD, ADDRESS), THROTTLED);
  });

  it("ends the oldest session when a login goes beyond maxSessionsPerAccount", async (t) => {
    const s = await setup(t, { maxSessionsPerAccount: 3 });
    const bob = await s.signupAndLogin("bob");
    const first = await s.signupAndLogin("alice");
    const tokens = [first, await logIn(s, "alice"), await logIn(s, "alice")];
    for (const token of tokens) assert.equal((await s.accounts.authenticate(token)).username, "alice");

    tokens.push(await logIn(s, "alice"));
    await assert.rejects(s.accounts.authenticate(tokens[0]!), UNAUTHENTICATED);
    for (const token of tokens.slice(1))
      assert.equal((await s.accounts.authenticate(token)).username, "alice");

    tokens.push(await logIn(s, "alice"));
    await assert.rejects(s.accounts.authenticate(tokens[1]!), UNAUTHENTICATED);
    for (const token of tokens.slice(2))
      assert.equal((await s.accounts.authenticate(token)).username, "alice");

    const aliceSessions = (await storedKeys(s.kv, KEYS.sessions)).filter(
      (entry) => SessionRecord.decode(entry.value).username === "alice",
    );
    assert.deepEqual(
      aliceSessions.map((entry) => entry.key).sort(),
      tokens
        .slice(2)
        .map((token) => KEYS.session(hashToken(token)))
        .sort(),
    );
    assert.equal((await s.accounts.authenticate(bob)).username, "bob", "other users' sessions stay");
  });
});

describe("AccountsService.authenticate", () => {
  it("returns the user behind a live token, and the session that vouches for them", async (t) => {
    const { accounts, signupAndLogin, one } = await setup(t);
    const token = await signupAndLogin("alice");
    const viewer = await accounts.authenticate(token);
    const stored = await one(KEYS.session(hashToken(token)));
    assert.ok(stored);
    assert.deepEqual(viewer, {
      username: "alice",
      sessionKey: stored.key,
      sessionRevision: stored.createRevision,
    });
    assert.deepEqual(await accounts.authenticateForWrite(token), viewer);
  });

  it("rejects malformed tokens", async (t) => {
    const { accounts, signupAndLogin } = await setup(t);
    const token = await signupAndLogin("alice");
    for (const bad of ["", "abc", token + "A", token.slice(1), `Bearer ${token}`, token.replace(/.$/, "+")]) {
      await assert.rejects(accounts.authenticate(bad), UNAUTHENTICATED, JSON.stringify(bad));
      await assert.rejects(accounts.authenticateForWrite(bad), UNAUTHENTICATED, JSON.stringify(bad));
    }
  });

  it("rejects a well-formed token that was never issued", async (t) => {
    const { accounts } = await setup(t);
    await assert.rejects(accounts.authenticate(newSessionToken()), UNAUTHENTICATED);
    await assert.rejects(accounts.authenticateForWrite(newSessionToken()), UNAUTHENTICATED);
  });

  it("rejects the token's hash used as a token", async (t) => {
    const { accounts, signupAndLogin } = await setup(t);
    const token = await signupAndLogin("alice");
    await assert.rejects(accounts.authenticate(hashToken(token)), UNAUTHENTICATED);
  });

  it("accepts a token until its lifetime ends, then rejects it for reads and writes", async (t) => {
    const { accounts, posts, clock, signupAndLogin } = await setup(t);
    const token = await signupAndLogin("alice");
    clock.advance(OPTIONS.sessionTtlSeconds! * 1000 - 1);
    assert.equal((await accounts.authenticate(token)).username, "alice");
    assert.equal((await accounts.authenticateForWrite(token)).username, "alice");
    clock.advance(1);
    await assert.rejects(accounts.authenticate(token), UNAUTHENTICATED);
    await assert.rejects(accounts.authenticateForWrite(token), UNAUTHENTICATED);
    await assert.rejects(posts.createPost(token, "too late"), UNAUTHENTICATED);
    assert.equal(await posts.countUserPosts("alice"), 0);
  });

  it("rejects an expired session even while the store still holds it", async (t) => {
    const { accounts, clock, signupAndLogin, one } = await setup(t);
    const token = await signupAndLogin("alice");
    clock.advance(OPTIONS.sessionTtlSeconds! * 1000 + 1);
    assert.ok(await one(KEYS.session(hashToken(token))), "the store still holds the session");
    await assert.rejects(accounts.authenticate(token), UNAUTHENTICATED);
  });

  it("rejects a token after logout, and the store no longer holds its session", async (t) => {
    const { accounts, signupAndLogin, one } = await setup(t);
    const token = await signupAndLogin("alice");
    assert.equal(await accounts.logout(token), "alice");
    await assert.rejects(accounts.authenticate(token), UNAUTHENTICATED);
    await assert.rejects(accounts.authenticateForWrite(token), UNAUTHENTICATED);
    assert.equal(await one(KEYS.session(hashToken(token))), undefined);
  });

  it("a session opened on one backend authenticates on another at once, for reads and writes", async (t) => {
    const s = await setup(t);
    const other = await s.another();
    await s.accounts.createAccount("alice", PASSWORD);
    for (let i = 0; i < 5; i++) {
      const forRead = await logIn(s, "alice");
      assert.equal((await other.accounts.authenticate(forRead)).username, "alice", `round ${i}`);
      const forWrite = await logIn(s, "alice");
      assert.equal((await other.posts.createPost(forWrite, `post ${i}`)).author, "alice", `round ${i}`);
    }
    assert.equal(await s.posts.countUserPosts("alice"), 5);
  });
});

describe("AccountsService.logout", () => {
  it("is idempotent and quiet about malformed or unknown tokens, which store nothing", async (t) => {
    const { accounts, kv, signupAndLogin } = await setup(t);
    const token = await signupAndLogin("alice");
    assert.equal(await accounts.logout(token), "alice");
    const revision = kv.currentRevision;
    assert.equal(await accounts.logout(token), "");
    assert.equal(await accounts.logout("not a token"), "");
    assert.equal(await accounts.logout(newSessionToken()), "");
    assert.equal(kv.currentRevision, revision);
    await assert.rejects(accounts.authenticate(token), UNAUTHENTICATED);
  });

  it("ends only its own session: two sessions of one user are independent", async (t) => {
    const { accounts, signupAndLogin } = await setup(t);
    const first = await signupAndLogin("alice");
    const second = (await accounts.login("alice", PASSWORD, ADDRESS)).token;
    assert.notEqual(first, second);
    await accounts.logout(first);
    await assert.rejects(accounts.authenticate(first), UNAUTHENTICATED);
    assert.equal((await accounts.authenticate(second)).username, "alice");
  });

  it("does not touch other users' sessions", async (t) => {
    const { accounts, signupAndLogin } = await setup(t);
    const alice = await signupAndLogin("alice");
    const bob = await signupAndLogin("bob");
    await accounts.logout(alice);
    assert.equal((await accounts.authenticate(bob)).username, "bob");
  });

  it("a logout on one backend is seen by another's next read and write", async (t) => {
    const s = await setup(t);
    const other = await s.another();
    const bob = await s.signupAndLogin("bob");
    await s.accounts.createAccount("alice", PASSWORD);
    for (let i = 0; i < 5; i++) {
      const alice = await logIn(s, "alice");
      // The other backend knows the session (it served a read with it) before the logout.
      assert.equal((await other.accounts.authenticate(alice)).username, "alice");
      assert.equal(await s.accounts.logout(alice), "alice");
      await assert.rejects(other.accounts.authenticate(alice), UNAUTHENTICATED, `round ${i}`);
      await assert.rejects(other.posts.getFeed(alice, 10, undefined), UNAUTHENTICATED, `round ${i}`);
      const revision = s.kv.currentRevision;
      await assert.rejects(other.posts.createPost(alice, "after logout"), UNAUTHENTICATED, `round ${i}`);
      await assert.rejects(other.graph.follow(alice, "bob"), UNAUTHENTICATED, `round ${i}`);
      assert.equal(s.kv.currentRevision, revision, "a refused write stored something");
    }
    assert.equal(await other.posts.countUserPosts("alice"), 0);
    assert.equal((await other.accounts.authenticate(bob)).username, "bob");
  });
});

describe("AccountsService lookups", () => {
  it("getAccount returns the account, NOT_FOUND for unknown and INVALID_ARGUMENT for bad names", async (t) => {
    const { accounts, clock, one } = await setup(t);
    await accounts.createAccount("alice", PASSWORD);
    const stored = await one(KEYS.account("alice"));
    assert.deepEqual(await accounts.getAccount("ALICE"), {
      username: "alice",
      createdAtMs: clock.now(),
      displayName: "",
      bio: "",
      revision: stored!.createRevision,
    });
    await assert.rejects(accounts.getAccount("nobody"), flockError(status.NOT_FOUND));
    await assert.rejects(accounts.getAccount("no"), INVALID);
  });

  it("search finds usernames by prefix, case-insensitively, ascending, up to the limit", async (t) => {
    const { accounts } = await setup(t);
    for (const name of ["alicia", "bob", "alice", "al_x", "zed"])
      await accounts.createAccount(name, PASSWORD);
    assert.deepEqual(await accounts.search("ali", undefined), ["alice", "alicia"]);
    assert.deepEqual(await accounts.search("ALI", undefined), ["alice", "alicia"]);
    assert.deepEqual(await accounts.search("al", 2), ["al_x", "alice"]);
    assert.deepEqual(await accounts.search("", undefined), ["al_x", "alice", "alicia", "bob", "zed"]);
    assert.deepEqual(await accounts.search("q", undefined), []);
  });

  it("search answers an impossible prefix with nothing and rejects a bad limit", async (t) => {
    const { accounts } = await setup(t);
    await accounts.createAccount("alice", PASSWORD);
    assert.deepEqual(await accounts.search("a-", undefined), []);
    assert.deepEqual(await accounts.search("a".repeat(33), undefined), []);
    await assert.rejects(accounts.search("a", 1000), INVALID);
  });
});
