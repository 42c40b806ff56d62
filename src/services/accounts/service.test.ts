import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { FakeClock } from "../../../test/fixtures/fake-clock.js";
import { FlockError } from "../../shared/errors.js";
import { verifyPassword } from "./password.js";
import { AccountsService, type AccountsOptions } from "./service.js";
import type { AccountRecord, SessionRecord } from "./storage.js";
import { MemoryAccountsStorage } from "./storage/memory.js";
import { hashToken, newSessionToken } from "./tokens.js";

/** The memory store, recording what the service asks it to write. */
class RecordingStorage extends MemoryAccountsStorage {
  readonly createdAccounts: AccountRecord[] = [];
  readonly createdSessions: { tokenHash: string; session: SessionRecord; ttlSeconds: number }[] = [];

  override async createAccount(account: AccountRecord): Promise<boolean> {
    this.createdAccounts.push({ ...account });
    return super.createAccount(account);
  }

  override async createSession(tokenHash: string, session: SessionRecord, ttlSeconds: number): Promise<void> {
    this.createdSessions.push({ tokenHash, session: { ...session }, ttlSeconds });
    return super.createSession(tokenHash, session, ttlSeconds);
  }
}

const OPTIONS: AccountsOptions = {
  sessionTtlSeconds: 3600,
  scrypt: { logN: 10, r: 8, p: 1 },
  maxFailuresPerAccount: 3,
  maxFailuresPerAddress: 5,
  failureWindowSeconds: 60,
};
const PASSWORD = "correct horse";
const ADDRESS = "192.0.2.1";

function setup(options: Partial<AccountsOptions> = {}) {
  const clock = new FakeClock();
  const storage = new RecordingStorage(clock);
  const accounts = new AccountsService(storage, { ...OPTIONS, ...options }, clock);
  const signupAndLogin = async (username: string) => {
    await accounts.createAccount(username, PASSWORD);
    return (await accounts.login(username, PASSWORD, ADDRESS)).token;
  };
  return { clock, storage, accounts, signupAndLogin };
}

const flockError = (code: status) => (err: unknown) => {
  assert.ok(err instanceof FlockError, `expected a FlockError, got ${String(err)}`);
  assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code]}: ${err.message}`);
  return true;
};
const INVALID = flockError(status.INVALID_ARGUMENT);
const UNAUTHENTICATED = flockError(status.UNAUTHENTICATED);

describe("AccountsService.createAccount", () => {
  it("stores a case-folded account with a hash of the password", async () => {
    const { accounts, storage, clock } = setup();
    assert.equal(await accounts.createAccount("Alice_1", PASSWORD), "alice_1");
    const stored = await storage.getAccount("alice_1");
    assert.ok(stored);
    assert.equal(stored.createdAtMs, clock.now());
    assert.ok(!stored.passwordHash.includes(PASSWORD));
    assert.equal(await verifyPassword(PASSWORD, stored.passwordHash), true);
    assert.equal(await storage.getAccount("Alice_1"), undefined);
  });

  it("refuses a taken username with ALREADY_EXISTS, whatever its case", async () => {
    const { accounts, storage } = setup();
    await accounts.createAccount("alice", PASSWORD);
    const before = await storage.getAccount("alice");
    await assert.rejects(
      accounts.createAccount("alice", "another password"),
      flockError(status.ALREADY_EXISTS),
    );
    await assert.rejects(
      accounts.createAccount("ALICE", "another password"),
      flockError(status.ALREADY_EXISTS),
    );
    assert.deepEqual(await storage.getAccount("alice"), before);
  });

  it("succeeds when the store retries a signup write that had already landed", async () => {
    // The etcd client re-sends a timed-out write; the first attempt may have been applied.
    class ReplayingStorage extends RecordingStorage {
      override async createAccount(account: AccountRecord): Promise<boolean> {
        await super.createAccount(account); // applied, but the answer was lost
        return super.createAccount(account); // the client's retry of the very same write
      }
    }
    const clock = new FakeClock();
    const storage = new ReplayingStorage(clock);
    const accounts = new AccountsService(storage, OPTIONS, clock);
    assert.equal(await accounts.createAccount("Alice", PASSWORD), "alice");
    assert.equal(storage.createdAccounts.length, 2);
    assert.deepEqual(await storage.searchUsernames("", 10), ["alice"]);
    assert.equal(await verifyPassword(PASSWORD, (await storage.getAccount("alice"))!.passwordHash), true);
  });

  it("answers a second signup with the same name and password as taken, so signup cannot probe passwords", async () => {
    const { accounts, storage, clock } = setup();
    await accounts.createAccount("alice", PASSWORD);
    const before = await storage.getAccount("alice");
    clock.advance(1000);
    await assert.rejects(accounts.createAccount("alice", PASSWORD), flockError(status.ALREADY_EXISTS));
    assert.deepEqual(await storage.getAccount("alice"), before);
  });

  it("of two racing signups for one name exactly one wins", async () => {
    const { accounts, storage } = setup();
    const results = await Promise.allSettled([
      accounts.createAccount("alice", "first password"),
      accounts.createAccount("alice", "second password"),
    ]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    const stored = await storage.getAccount("alice");
    const firstWon = results[0]!.status === "fulfilled";
    assert.equal(
      await verifyPassword(firstWon ? "first password" : "second password", stored!.passwordHash),
      true,
    );
  });

  it("rejects invalid input with INVALID_ARGUMENT and stores nothing", async () => {
    const { accounts, storage } = setup();
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
    assert.equal(storage.createdAccounts.length, 0);
    assert.deepEqual(await storage.searchUsernames("", 100), []);
  });
});

describe("AccountsService.login", () => {
  it("returns a 43-character token for the right password and stores only its hash", async () => {
    const { accounts, storage, clock } = setup();
    await accounts.createAccount("alice", PASSWORD);
    const session = await accounts.login("ALICE", PASSWORD, ADDRESS);
    assert.match(session.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(session.username, "alice");
    assert.equal(session.expiresAtMs, clock.now() + OPTIONS.sessionTtlSeconds * 1000);

    assert.equal(storage.createdSessions.length, 1);
    const written = storage.createdSessions[0]!;
    assert.equal(written.tokenHash, hashToken(session.token));
    assert.notEqual(written.tokenHash, session.token);
    assert.equal(written.ttlSeconds, OPTIONS.sessionTtlSeconds);
    assert.deepEqual(written.session, {
      username: "alice",
      createdAtMs: clock.now(),
      expiresAtMs: session.expiresAtMs,
    });
    assert.ok(!JSON.stringify(written).includes(session.token));
    assert.equal(await storage.getSession(session.token), undefined);
  });

  it("answers a wrong password and an unknown user alike, with UNAUTHENTICATED", async () => {
    const { accounts, storage } = setup();
    await accounts.createAccount("alice", PASSWORD);
    const wrong = await accounts.login("alice", "wrong password", ADDRESS).catch((e: unknown) => e);
    const unknown = await accounts.login("nobody", PASSWORD, ADDRESS).catch((e: unknown) => e);
    UNAUTHENTICATED(wrong);
    UNAUTHENTICATED(unknown);
    assert.equal((wrong as FlockError).message, (unknown as FlockError).message);
    assert.equal(storage.createdSessions.length, 0);
  });

  it("rejects malformed credentials with INVALID_ARGUMENT", async () => {
    const { accounts } = setup();
    await assert.rejects(accounts.login("a", PASSWORD, ADDRESS), INVALID);
    await assert.rejects(accounts.login("alice", "short", ADDRESS), INVALID);
    await assert.rejects(accounts.login(undefined, undefined, ADDRESS), INVALID);
  });

  it("throttles an account after too many failures, even for the right password, until the window passes", async () => {
    const { accounts, clock } = setup();
    await accounts.createAccount("alice", PASSWORD);
    for (let i = 0; i < OPTIONS.maxFailuresPerAccount; i++) {
      await assert.rejects(accounts.login("alice", "wrong password", `198.51.100.${i}`), UNAUTHENTICATED);
    }
    const refused = await accounts.login("alice", PASSWORD, "203.0.113.9").catch((e: unknown) => e);
    flockError(status.RESOURCE_EXHAUSTED)(refused);
    assert.equal((refused as FlockError).retryAfterSeconds, OPTIONS.failureWindowSeconds);

    clock.advance(OPTIONS.failureWindowSeconds * 1000 - 1);
    await assert.rejects(accounts.login("alice", PASSWORD, ADDRESS), flockError(status.RESOURCE_EXHAUSTED));
    clock.advance(1);
    const session = await accounts.login("alice", PASSWORD, ADDRESS);
    assert.equal(session.username, "alice");
  });

  it("does not throttle below the limit", async () => {
    const { accounts } = setup();
    await accounts.createAccount("alice", PASSWORD);
    for (let i = 0; i < OPTIONS.maxFailuresPerAccount - 1; i++) {
      await assert.rejects(accounts.login("alice", "wrong password", ADDRESS), UNAUTHENTICATED);
    }
    assert.equal((await accounts.login("alice", PASSWORD, ADDRESS)).username, "alice");
  });

  it("counts failures in a window from the first failure, so old failures do not add up", async () => {
    const { accounts, clock } = setup();
    await accounts.createAccount("alice", PASSWORD);
    for (let i = 0; i < OPTIONS.maxFailuresPerAccount - 1; i++) {
      await assert.rejects(accounts.login("alice", "wrong password", ADDRESS), UNAUTHENTICATED);
    }
    clock.advance(OPTIONS.failureWindowSeconds * 1000);
    for (let i = 0; i < OPTIONS.maxFailuresPerAccount - 1; i++) {
      await assert.rejects(accounts.login("alice", "wrong password", ADDRESS), UNAUTHENTICATED);
    }
    assert.equal((await accounts.login("alice", PASSWORD, ADDRESS)).username, "alice");
  });

  it("throttles a client address that fails across many accounts, but not other addresses", async () => {
    const { accounts } = setup();
    await accounts.createAccount("alice", PASSWORD);
    for (let i = 0; i < OPTIONS.maxFailuresPerAddress; i++) {
      await assert.rejects(accounts.login(`guess_${i}`, "wrong password", ADDRESS), UNAUTHENTICATED);
    }
    await assert.rejects(accounts.login("alice", PASSWORD, ADDRESS), flockError(status.RESOURCE_EXHAUSTED));
    assert.equal((await accounts.login("alice", PASSWORD, "203.0.113.7")).username, "alice");
  });
});

describe("AccountsService.authenticate", () => {
  it("returns the user behind a live token", async () => {
    const { accounts, signupAndLogin } = setup();
    const token = await signupAndLogin("alice");
    assert.equal(await accounts.authenticate(token), "alice");
  });

  it("rejects malformed tokens", async () => {
    const { accounts, signupAndLogin } = setup();
    const token = await signupAndLogin("alice");
    for (const bad of ["", "abc", token + "A", token.slice(1), `Bearer ${token}`, token.replace(/.$/, "+")]) {
      await assert.rejects(accounts.authenticate(bad), UNAUTHENTICATED, JSON.stringify(bad));
    }
  });

  it("rejects a well-formed token that was never issued", async () => {
    const { accounts } = setup();
    await assert.rejects(accounts.authenticate(newSessionToken()), UNAUTHENTICATED);
  });

  it("rejects the token's hash used as a token", async () => {
    const { accounts, signupAndLogin } = setup();
    const token = await signupAndLogin("alice");
    await assert.rejects(accounts.authenticate(hashToken(token)), UNAUTHENTICATED);
  });

  it("accepts a token until its lifetime ends, then rejects it", async () => {
    const { accounts, clock, signupAndLogin } = setup();
    const token = await signupAndLogin("alice");
    clock.advance(OPTIONS.sessionTtlSeconds * 1000 - 1);
    assert.equal(await accounts.authenticate(token), "alice");
    clock.advance(1);
    await assert.rejects(accounts.authenticate(token), UNAUTHENTICATED);
  });

  it("rejects an expired session even while the store still holds it", async () => {
    const clock = new FakeClock();
    const storeClock = new FakeClock(clock.ms); // a store that forgets late
    const storage = new MemoryAccountsStorage(storeClock);
    const accounts = new AccountsService(storage, OPTIONS, clock);
    await accounts.createAccount("alice", PASSWORD);
    const { token } = await accounts.login("alice", PASSWORD, ADDRESS);
    clock.advance(OPTIONS.sessionTtlSeconds * 1000 + 1);
    assert.ok(await storage.getSession(hashToken(token)));
    await assert.rejects(accounts.authenticate(token), UNAUTHENTICATED);
  });

  it("rejects a token after logout", async () => {
    const { accounts, signupAndLogin } = setup();
    const token = await signupAndLogin("alice");
    await accounts.logout(token);
    await assert.rejects(accounts.authenticate(token), UNAUTHENTICATED);
  });
});

describe("AccountsService.logout", () => {
  it("is idempotent and quiet about malformed or unknown tokens", async () => {
    const { accounts, signupAndLogin } = setup();
    const token = await signupAndLogin("alice");
    await accounts.logout(token);
    await accounts.logout(token);
    await accounts.logout("not a token");
    await accounts.logout(newSessionToken());
    await assert.rejects(accounts.authenticate(token), UNAUTHENTICATED);
  });

  it("ends only its own session: two sessions of one user are independent", async () => {
    const { accounts, signupAndLogin } = setup();
    const first = await signupAndLogin("alice");
    const second = (await accounts.login("alice", PASSWORD, ADDRESS)).token;
    assert.notEqual(first, second);
    await accounts.logout(first);
    await assert.rejects(accounts.authenticate(first), UNAUTHENTICATED);
    assert.equal(await accounts.authenticate(second), "alice");
  });

  it("does not touch other users' sessions", async () => {
    const { accounts, signupAndLogin } = setup();
    const alice = await signupAndLogin("alice");
    const bob = await signupAndLogin("bob");
    await accounts.logout(alice);
    assert.equal(await accounts.authenticate(bob), "bob");
  });
});

describe("AccountsService lookups", () => {
  it("getAccount returns the account, NOT_FOUND for unknown and INVALID_ARGUMENT for bad names", async () => {
    const { accounts, clock } = setup();
    await accounts.createAccount("alice", PASSWORD);
    assert.deepEqual(await accounts.getAccount("ALICE"), { username: "alice", createdAtMs: clock.now() });
    await assert.rejects(accounts.getAccount("nobody"), flockError(status.NOT_FOUND));
    await assert.rejects(accounts.getAccount("no"), INVALID);
  });

  it("exists tells known from unknown users", async () => {
    const { accounts } = setup();
    await accounts.createAccount("alice", PASSWORD);
    assert.equal(await accounts.exists("alice"), true);
    assert.equal(await accounts.exists("bob"), false);
  });

  it("search finds usernames by prefix, case-insensitively, ascending, up to the limit", async () => {
    const { accounts } = setup();
    for (const name of ["alicia", "bob", "alice", "al_x", "zed"])
      await accounts.createAccount(name, PASSWORD);
    assert.deepEqual(await accounts.search("ali", undefined), ["alice", "alicia"]);
    assert.deepEqual(await accounts.search("ALI", undefined), ["alice", "alicia"]);
    assert.deepEqual(await accounts.search("al", 2), ["al_x", "alice"]);
    assert.deepEqual(await accounts.search("", undefined), ["al_x", "alice", "alicia", "bob", "zed"]);
    assert.deepEqual(await accounts.search("q", undefined), []);
  });

  it("search answers an impossible prefix with nothing and rejects a bad limit", async () => {
    const { accounts } = setup();
    await accounts.createAccount("alice", PASSWORD);
    assert.deepEqual(await accounts.search("a-", undefined), []);
    assert.deepEqual(await accounts.search("a".repeat(33), undefined), []);
    await assert.rejects(accounts.search("a", 1000), INVALID);
  });
});
