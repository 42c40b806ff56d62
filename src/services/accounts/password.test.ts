import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hashPassword, verifyPassword, type ScryptParams } from "./password.js";

const FAST: ScryptParams = { logN: 10, r: 8, p: 1 };

describe("password hashing", () => {
  it("verifies the right password", async () => {
    const hash = await hashPassword("correct horse battery", FAST);
    assert.equal(await verifyPassword("correct horse battery", hash), true);
  });

  it("refuses a wrong password, including near misses", async () => {
    const hash = await hashPassword("correct horse battery", FAST);
    for (const wrong of ["correct horse batter", "Correct horse battery", "correct horse battery ", ""]) {
      assert.equal(await verifyPassword(wrong, hash), false, JSON.stringify(wrong));
    }
  });

  it("encodes its parameters, a salt and a key, and never the password", async () => {
    const password = "hunter2hunter2";
    const hash = await hashPassword(password, FAST);
    const parts = hash.split("$");
    assert.equal(parts.length, 6);
    assert.deepEqual(parts.slice(0, 4), ["scrypt", "10", "8", "1"]);
    assert.match(parts[4]!, /^[A-Za-z0-9_-]{22}$/); // 16-byte salt
    assert.match(parts[5]!, /^[A-Za-z0-9_-]{43}$/); // 32-byte key
    assert.ok(!hash.includes(password));
    assert.ok(!hash.includes(Buffer.from(password).toString("base64url")));
  });

  it("salts every hash, so the same password hashes differently each time", async () => {
    const [a, b] = await Promise.all([
      hashPassword("same password", FAST),
      hashPassword("same password", FAST),
    ]);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword("same password", a), true);
    assert.equal(await verifyPassword("same password", b), true);
  });

  it("verifies with the parameters stored in the hash, not the current defaults", async () => {
    const hash = await hashPassword("older cost setting", { logN: 11, r: 4, p: 2 });
    assert.ok(hash.startsWith("scrypt$11$4$2$"));
    assert.equal(await verifyPassword("older cost setting", hash), true);
  });

  it("treats composed and decomposed forms of a character as the same password", async () => {
    const hash = await hashPassword("caf\u00E9 au lait", FAST);
    assert.equal(await verifyPassword("cafe\u0301 au lait", hash), true);
  });

  it("handles non-ASCII passwords", async () => {
    const hash = await hashPassword("😀🔒 пароль 密码", FAST);
    assert.equal(await verifyPassword("😀🔒 пароль 密码", hash), true);
    assert.equal(await verifyPassword("😀🔓 пароль 密码", hash), false);
  });

  it("answers false, never throws, for malformed hashes", async () => {
    const good = await hashPassword("password123", FAST);
    const [, , , , salt = "", key = ""] = good.split("$");
    const malformed = [
      "",
      "garbage",
      "bcrypt$10$8$1$" + salt + "$" + key,
      `scrypt$10$8$1$${salt}`, // no key
      `scrypt$10$8$1$${salt}$`, // empty key
      `scrypt$10$8$1$$${key}`, // empty salt
      `scrypt$x$8$1$${salt}$${key}`,
      `scrypt$10$0$1$${salt}$${key}`,
      `scrypt$10$8$-1$${salt}$${key}`,
      `scrypt$10.5$8$1$${salt}$${key}`,
      `scrypt$21$8$1$${salt}$${key}`, // too costly
      `scrypt$10$1073741824$1$${salt}$${key}`, // r far too large
      `scrypt$10$8$99999999999$${salt}$${key}`, // p beyond what scrypt accepts
      `scrypt$1$8$4$${salt}$${key}`, // p above N: scrypt refuses these parameters
      `scrypt$10$8$1$${salt}$${key.slice(0, 20)}`, // truncated key
      `scrypt$10$8$1$${salt}$!!!!`, // key not base64url
    ];
    for (const hash of malformed) {
      assert.equal(await verifyPassword("password123", hash), false, hash);
    }
  });

  it("a hash with a different salt does not verify", async () => {
    const good = await hashPassword("password123", FAST);
    const parts = good.split("$");
    parts[4] = Buffer.alloc(16, 7).toString("base64url");
    assert.equal(await verifyPassword("password123", parts.join("$")), false);
  });
});
