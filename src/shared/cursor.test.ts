import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import fc from "fast-check";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { FlockError } from "./errors.js";

const INVALID = { name: "FlockError", code: status.INVALID_ARGUMENT };
const anyPosition = () => true;
const digitsOnly = (p: string) => /^[0-9]+$/.test(p);
/** Any code point but a lone surrogate (fast-check's "binary" unit costs seconds on first use). */
const codePoint = fc
  .oneof(
    fc.integer({ min: 0, max: 0x7f }),
    fc.integer({ min: 0x80, max: 0xd7ff }),
    fc.integer({ min: 0xe000, max: 0x10ffff }),
  )
  .map((c) => String.fromCodePoint(c));

describe("cursor", () => {
  it("round-trips a position", () => {
    const cursor = encodeCursor("1700000000000abcdef012345");
    assert.equal(decodeCursor(cursor, anyPosition), "1700000000000abcdef012345");
  });

  it("round-trips a position with non-ASCII characters", () => {
    assert.equal(decodeCursor(encodeCursor("zoë 😀"), anyPosition), "zoë 😀");
  });

  it("is URL-safe and does not show the position in clear", () => {
    const cursor = encodeCursor("alice/bob?x=1");
    assert.match(cursor, /^[A-Za-z0-9_-]+$/);
    assert.ok(!cursor.includes("alice"));
  });

  it("treats an absent or empty cursor as 'from the start'", () => {
    assert.equal(decodeCursor(undefined, anyPosition), undefined);
    assert.equal(decodeCursor("", anyPosition), undefined);
  });

  it("rejects characters outside base64url", () => {
    for (const bad of ["abc+def", "abc/def", "abc=", "a b", "ab\ncd", "ümlaut"]) {
      assert.throws(() => decodeCursor(bad, anyPosition), INVALID, JSON.stringify(bad));
    }
  });

  it("rejects well-formed base64url that lacks the cursor prefix", () => {
    const forged = Buffer.from("1700000000000", "utf8").toString("base64url");
    assert.throws(() => decodeCursor(forged, digitsOnly), INVALID);
    const otherVersion = Buffer.from("c2:123", "utf8").toString("base64url");
    assert.throws(() => decodeCursor(otherVersion, digitsOnly), INVALID);
  });

  it("rejects a position the caller does not accept", () => {
    assert.throws(() => decodeCursor(encodeCursor("not-digits"), digitsOnly), INVALID);
    assert.equal(decodeCursor(encodeCursor("12345"), digitsOnly), "12345");
  });

  it("passes the decoded position to the validator", () => {
    const seen: string[] = [];
    decodeCursor(encodeCursor("abc"), (p) => {
      seen.push(p);
      return true;
    });
    assert.deepEqual(seen, ["abc"]);
  });

  it("rejects cursors longer than 512 characters, even when well-formed", () => {
    const long = encodeCursor("x".repeat(1000));
    assert.ok(long.length > 512);
    assert.throws(() => decodeCursor(long, anyPosition), INVALID);
  });

  it("property: any position round-trips when its cursor fits", () => {
    fc.assert(
      fc.property(fc.string({ unit: codePoint, maxLength: 80 }), (position) => {
        return decodeCursor(encodeCursor(position), anyPosition) === position;
      }),
    );
  });

  it("property: any client-made string decodes to a valid position or fails with INVALID_ARGUMENT", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 600 }),
          fc.base64String({ maxLength: 100 }),
          fc.string({ unit: codePoint, maxLength: 40 }),
        ),
        (cursor) => {
          try {
            const position = decodeCursor(cursor, digitsOnly);
            return position === undefined ? cursor === "" : digitsOnly(position);
          } catch (err) {
            return err instanceof FlockError && err.code === status.INVALID_ARGUMENT;
          }
        },
      ),
    );
  });
});
