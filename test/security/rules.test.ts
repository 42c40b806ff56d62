import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import fc from "fast-check";
import { throttleAddress } from "../../src/services/accounts/service.js";
import { FlockError } from "../../src/shared/errors.js";
import {
  checkPassword,
  codePointLength,
  isValidUsername,
  normalizePostText,
  normalizeUsername,
} from "../../src/shared/validation.js";
import { Keys } from "../../src/storage/keys.js";
import { memoryServices } from "../fixtures/memory-services.js";
import { hostileString } from "./payloads.js";

const RUNS = 3000;
const CANONICAL = /^[a-z0-9_]{3,32}$/;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u;

/** Either the canonical value, or INVALID_ARGUMENT: never another error, never a bad value. */
function outcome<T>(fn: () => T): T | "invalid" {
  try {
    return fn();
  } catch (err) {
    assert.ok(err instanceof FlockError && err.code === status.INVALID_ARGUMENT, String(err));
    return "invalid";
  }
}

const anyInput = fc.oneof(
  hostileString(80),
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.string({ unit: "grapheme", maxLength: 300 }),
  fc.stringMatching(/^[A-Za-z0-9_]{0,40}$/),
);

/**
 * The input rules as properties over thousands of generated strings (lone surrogates,
 * controls, look-alike letters, path syntax): what they accept is always canonical and
 * safe to put in a storage key, and everything else is INVALID_ARGUMENT.
 */
describe("input rules hold for any input", () => {
  it(`usernames: ${RUNS} inputs; accepted ones are canonical ASCII and one key segment`, () => {
    const keys = new Keys("flock/");
    fc.assert(
      fc.property(anyInput, (raw) => {
        const result = outcome(() => normalizeUsername(raw));
        assert.equal(result !== "invalid", isValidUsername(raw), "the 400 and 404 paths agree");
        if (result === "invalid") return;
        assert.match(result, CANONICAL);
        assert.equal(result, raw.toLowerCase());
        assert.equal(keys.account(result), `flock/v2/a/acct/${result}`);
        assert.equal(keys.follow(result, result), `flock/v2/g/follow/${result}/${result}`);
      }),
      { numRuns: RUNS },
    );
  });

  it("usernames: look-alikes that lower-case to ASCII are refused", () => {
    for (const raw of [
      "\u212Aelvin",
      "\u0130stanbul",
      "ｖｉｃｔｉｍ",
      "vісtіm",
      "victim\u0000",
      "..",
      "a/b",
    ]) {
      assert.equal(
        outcome(() => normalizeUsername(raw)),
        "invalid",
        JSON.stringify(raw),
      );
    }
  });

  it(`post text: ${RUNS} inputs; accepted text is trimmed, valid Unicode, visible and ≤ 280 code points`, () => {
    fc.assert(
      fc.property(
        fc.oneof(anyInput, fc.string({ unit: "binary", minLength: 270, maxLength: 300 })),
        (raw) => {
          const text = outcome(() => normalizePostText(raw));
          if (text === "invalid") return;
          assert.equal(text, text.trim());
          assert.ok(text.length > 0);
          assert.ok(codePointLength(text) <= 280);
          assert.doesNotMatch(text, /\p{Surrogate}/u);
          assert.doesNotMatch(text, CONTROLS);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("post text: invisible-only, lone surrogates and noncharacters are refused", () => {
    for (const raw of [
      "\u200b",
      "\u2060\u200d",
      "\u3164",
      "\u2800",
      "\ufeff",
      "a\ud800",
      "\udc00b",
      "x\ufffe",
      "\u{10FFFF}",
    ]) {
      assert.equal(
        outcome(() => normalizePostText(raw)),
        "invalid",
        JSON.stringify(raw),
      );
    }
    assert.equal(
      outcome(() => normalizePostText("  ok\u200b  ")),
      "ok\u200b",
      "invisible characters may sit inside text",
    );
  });

  it(`passwords: ${RUNS} inputs; accepted ones are 8–256 code points of valid Unicode`, () => {
    fc.assert(
      fc.property(anyInput, (raw) => {
        const password = outcome(() => checkPassword(raw));
        if (password === "invalid") return;
        assert.equal(password, raw, "a password is never altered");
        const length = codePointLength(password);
        assert.ok(length >= 8 && length <= 256);
        assert.doesNotMatch(password, CONTROLS);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("login throttle", () => {
  it("names a client by its IPv4 address, or its IPv6 /64, and everything else 'unknown'", () => {
    const cases: [string, string][] = [
      ["192.0.2.1", "192.0.2.1"],
      ["::ffff:192.0.2.1", "192.0.2.1"],
      ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
      ["2001:DB8:1:2::9", "2001:db8:1:2::/64"],
      ["2001:db8::1", "2001:db8:0:0::/64"],
      ["fe80::1%eth0", "fe80:0:0:0::/64"],
      ["", "unknown"],
      ["not-an-ip", "unknown"],
      ["../../loginfail/x", "unknown"],
      ["1.2.3.4, 5.6.7.8", "unknown"],
      ["x".repeat(10_000), "unknown"],
    ];
    for (const [raw, expected] of cases) assert.equal(throttleAddress(raw), expected, raw);
    fc.assert(
      fc.property(hostileString(80), (raw) => {
        assert.match(throttleAddress(raw), /^(unknown|[0-9.]+|[0-9a-f:]+::\/64)$/);
      }),
      { numRuns: 1000 },
    );
  });

  it("checks one guess per account at a time, so a parallel burst cannot outrun the count", async () => {
    const services = await memoryServices({
      accounts: {
        sessionTtlSeconds: 3600,
        // Costly enough (a few ms a hash) that unqueued guesses would all pass the check first.
        scrypt: { logN: 12, r: 8, p: 1 },
        maxFailuresPerAccount: 5,
        maxFailuresPerAddress: 1000,
        failureWindowSeconds: 60,
      },
    });
    const { accounts } = services;
    await accounts.createAccount("target", "the right password");
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => accounts.login("target", `guess number ${i}`, `192.0.2.${i}`)),
    );
    await services.close();
    const codes = results.map((r) => (r.status === "rejected" ? (r.reason as FlockError).code : status.OK));
    assert.equal(codes.filter((c) => c === status.UNAUTHENTICATED).length, 5, "exactly the allowed guesses");
    assert.equal(codes.filter((c) => c === status.RESOURCE_EXHAUSTED).length, 55);
  });

  it("checks a few guesses per address at a time, so a burst over many accounts is held too", async () => {
    const services = await memoryServices({
      accounts: {
        sessionTtlSeconds: 3600,
        scrypt: { logN: 10, r: 8, p: 1 },
        maxFailuresPerAccount: 1000,
        maxFailuresPerAddress: 20,
        failureWindowSeconds: 60,
      },
    });
    const { accounts } = services;
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) => accounts.login(`user_${i}`, "password guess", "192.0.2.99")),
    );
    await services.close();
    const codes = results.map((r) => (r.status === "rejected" ? (r.reason as FlockError).code : status.OK));
    const checked = codes.filter((c) => c === status.UNAUTHENTICATED).length;
    assert.ok(checked >= 20 && checked <= 20 + 3, `${checked} guesses checked (limit 20, 4 at a time)`);
    assert.equal(codes.filter((c) => c === status.RESOURCE_EXHAUSTED).length, 200 - checked);
  });
});
