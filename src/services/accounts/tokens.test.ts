import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { hashToken, isWellFormedToken, newSessionToken } from "./tokens.js";

describe("session tokens", () => {
  it("are 43 characters of base64url (256 bits)", () => {
    const token = newSessionToken();
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(token, "base64url").length, 32);
  });

  it("are unique", () => {
    const tokens = new Set(Array.from({ length: 2000 }, newSessionToken));
    assert.equal(tokens.size, 2000);
  });

  it("new tokens are well formed", () => {
    for (let i = 0; i < 50; i++) assert.equal(isWellFormedToken(newSessionToken()), true);
  });

  it("anything but 43 base64url characters is not well formed", () => {
    const token = newSessionToken();
    for (const bad of [
      "",
      token.slice(1),
      token + "A",
      token.slice(0, 42) + "+",
      token.slice(0, 42) + "/",
      token.slice(0, 42) + "=",
      ` ${token.slice(1)}`,
      `${token.slice(1)}\n`,
      `Bearer ${token}`,
      "é".repeat(43),
    ]) {
      assert.equal(isWellFormedToken(bad), false, JSON.stringify(bad));
    }
  });
});

describe("hashToken", () => {
  it("is the SHA-256 of the token in base64url", () => {
    const token = newSessionToken();
    assert.equal(hashToken(token), createHash("sha256").update(token).digest("base64url"));
  });

  it("is deterministic and differs between tokens", () => {
    const a = newSessionToken();
    const b = newSessionToken();
    assert.equal(hashToken(a), hashToken(a));
    assert.notEqual(hashToken(a), hashToken(b));
  });

  it("does not reveal the token", () => {
    const token = newSessionToken();
    const hash = hashToken(token);
    assert.notEqual(hash, token);
    assert.ok(!hash.includes(token.slice(0, 8)));
  });
});
