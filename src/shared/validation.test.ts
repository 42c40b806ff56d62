import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import fc from "fast-check";
import {
  checkPassword,
  codePointLength,
  isValidUsername,
  normalizeLimit,
  normalizePostText,
  normalizeUsername,
  PAGE_LIMIT_DEFAULT,
  PAGE_LIMIT_MAX,
  USERNAME_PATTERN,
} from "./validation.js";

const INVALID = { name: "FlockError", code: status.INVALID_ARGUMENT };
const EMOJI = "😀"; // one code point, two UTF-16 units
const FAMILY = "👨‍👩‍👧"; // one grapheme, five code points

/**
 * One code point, weighted toward what matters to post text: plain letters, whitespace,
 * controls, and any BMP or astral character (never a lone surrogate). Cheaper to start
 * than fast-check's built-in "binary" unit, which costs seconds on first use.
 */
const codePoint = fc
  .oneof(
    fc.constantFrom(0x20, 0x09, 0x0a, 0x0d, 0x0b, 0xa0, 0x3000, 0x00, 0x1b, 0x7f, 0x85, 0x0301),
    fc.integer({ min: 0x61, max: 0x7a }),
    fc.integer({ min: 0x80, max: 0xd7ff }),
    fc.integer({ min: 0xe000, max: 0x10ffff }),
  )
  .map((c) => String.fromCodePoint(c));

describe("normalizeUsername", () => {
  it("accepts the length boundaries 3 and 32 and rejects 2 and 33", () => {
    assert.equal(normalizeUsername("abc"), "abc");
    assert.equal(normalizeUsername("a".repeat(32)), "a".repeat(32));
    assert.throws(() => normalizeUsername("ab"), INVALID);
    assert.throws(() => normalizeUsername("a".repeat(33)), INVALID);
  });

  it("accepts digits and underscores anywhere", () => {
    assert.equal(normalizeUsername("_0_"), "_0_");
    assert.equal(normalizeUsername("user_42"), "user_42");
    assert.equal(normalizeUsername("123"), "123");
  });

  it("case-folds uppercase ASCII", () => {
    assert.equal(normalizeUsername("Alice_B"), "alice_b");
    assert.equal(normalizeUsername("ZZZ"), "zzz");
  });

  it("rejects characters outside [a-z0-9_]", () => {
    for (const bad of ["al ice", "al-ice", "al.ice", "alice!", "al@ce", " alice", "alice\n", "al\u0000ce"]) {
      assert.throws(() => normalizeUsername(bad), INVALID, JSON.stringify(bad));
    }
  });

  it("rejects Unicode lookalikes, including ones whose lowercase is ASCII", () => {
    const lookalikes = [
      "\u0430lice", // Cyrillic а
      "ａｌｉｃｅ", // fullwidth
      "al\u0131ce", // dotless ı
      "\u0130lice", // İ lowercases to i + combining dot
      "\u212Aevin", // KELVIN SIGN lowercases to ASCII "k"
      "ali\u0301ce", // combining accent
      "alice\u200B", // zero-width space
    ];
    for (const bad of lookalikes) {
      assert.throws(() => normalizeUsername(bad), INVALID, JSON.stringify(bad));
      assert.equal(isValidUsername(bad), false, JSON.stringify(bad));
    }
  });

  it("rejects empty strings and non-strings", () => {
    for (const bad of ["", undefined, null, 123, ["abc"], { username: "abc" }, true]) {
      assert.throws(() => normalizeUsername(bad), INVALID, String(bad));
    }
  });

  it("rejects very long input without trouble", () => {
    assert.throws(() => normalizeUsername("a".repeat(100_000)), INVALID);
  });

  it("property: any accepted username matches the pattern and normalizing it again changes nothing", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^[A-Za-z0-9_]{1,40}$/)),
        (raw) => {
          let normalized: string;
          try {
            normalized = normalizeUsername(raw);
          } catch {
            return true;
          }
          return USERNAME_PATTERN.test(normalized) && normalizeUsername(normalized) === normalized;
        },
      ),
    );
  });

  it("property: accepts exactly the ASCII names of 3–32 [A-Za-z0-9_], lowercased", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9_]{3,32}$/),
        (raw) => normalizeUsername(raw) === raw.toLowerCase(),
      ),
    );
  });
});

describe("isValidUsername", () => {
  it("agrees with normalizeUsername on what is valid", () => {
    for (const raw of ["abc", "ABC", "ab", "a".repeat(32), "a".repeat(33), "a-b-c", "", "a".repeat(65)]) {
      let accepted = true;
      try {
        normalizeUsername(raw);
      } catch {
        accepted = false;
      }
      assert.equal(isValidUsername(raw), accepted, raw);
    }
  });
});

describe("checkPassword", () => {
  it("accepts 8 and 256 characters and rejects 7 and 257", () => {
    assert.equal(checkPassword("x".repeat(8)), "x".repeat(8));
    assert.equal(checkPassword("x".repeat(256)), "x".repeat(256));
    assert.throws(() => checkPassword("x".repeat(7)), INVALID);
    assert.throws(() => checkPassword("x".repeat(257)), INVALID);
  });

  it("counts an emoji as one character", () => {
    assert.equal(checkPassword(EMOJI.repeat(8)), EMOJI.repeat(8));
    assert.throws(() => checkPassword(EMOJI.repeat(7)), INVALID); // 14 UTF-16 units, 7 characters
    assert.equal(checkPassword(EMOJI.repeat(256)), EMOJI.repeat(256)); // 512 UTF-16 units
    assert.throws(() => checkPassword(EMOJI.repeat(257)), INVALID);
  });

  it("returns the password unchanged, spaces included", () => {
    assert.equal(checkPassword("  pass word  "), "  pass word  ");
  });

  it("rejects control characters", () => {
    for (const control of ["\u0000", "\u0007", "\u001B", "\u007F", "\u0085", "\u009F"]) {
      assert.throws(() => checkPassword(`password${control}`), INVALID, JSON.stringify(control));
    }
  });

  it("rejects lone surrogates, high or low, anywhere", () => {
    assert.throws(() => checkPassword("\uD800password"), INVALID);
    assert.throws(() => checkPassword("password\uDC00"), INVALID);
    assert.throws(() => checkPassword("pass\uDBFFword"), INVALID);
  });

  it("rejects empty strings and non-strings", () => {
    for (const bad of ["", undefined, null, 12345678, ["password1"]]) {
      assert.throws(() => checkPassword(bad), INVALID, String(bad));
    }
  });
});

describe("normalizePostText", () => {
  it("trims surrounding whitespace", () => {
    assert.equal(normalizePostText("  hello world \n\t"), "hello world");
  });

  it("keeps newlines inside the text", () => {
    assert.equal(normalizePostText("line one\nline two\r\nline three"), "line one\nline two\r\nline three");
  });

  it("rejects empty and whitespace-only text", () => {
    for (const bad of ["", " ", "\n\n", "\t \r\n", "\u00A0\u3000"]) {
      assert.throws(() => normalizePostText(bad), INVALID, JSON.stringify(bad));
    }
  });

  it("accepts 1 and 280 code points and rejects 281", () => {
    assert.equal(normalizePostText("a"), "a");
    assert.equal(normalizePostText("a".repeat(280)), "a".repeat(280));
    assert.throws(() => normalizePostText("a".repeat(281)), INVALID);
  });

  it("counts an astral character (emoji) as one code point", () => {
    const full = EMOJI.repeat(280); // 560 UTF-16 units
    assert.equal(normalizePostText(full), full);
    assert.throws(() => normalizePostText(EMOJI.repeat(281)), INVALID);
    const mathBold = "\u{1D400}".repeat(280);
    assert.equal(normalizePostText(mathBold), mathBold);
  });

  it("counts code points, not graphemes", () => {
    // 56 family emoji are 280 code points; 57 are 285.
    assert.equal(normalizePostText(FAMILY.repeat(56)), FAMILY.repeat(56));
    assert.throws(() => normalizePostText(FAMILY.repeat(57)), INVALID);
  });

  it("measures the length after trimming", () => {
    const text = "a".repeat(280);
    assert.equal(normalizePostText(`   ${text}   `), text);
  });

  it("rejects control characters inside the text", () => {
    for (const control of ["\u0000", "\u0008", "\u001B", "\u007F", "\u0085", "\u009F"]) {
      assert.throws(() => normalizePostText(`hi${control}there`), INVALID, JSON.stringify(control));
    }
  });

  it("rejects lone surrogates", () => {
    assert.throws(() => normalizePostText("hello \uD83D"), INVALID);
    assert.throws(() => normalizePostText("\uDE00 hello"), INVALID);
  });

  it("normalizes to NFC", () => {
    assert.equal(normalizePostText("cafe\u0301"), "caf\u00E9");
  });

  it("rejects non-strings", () => {
    for (const bad of [undefined, null, 42, ["hi"], { text: "hi" }]) {
      assert.throws(() => normalizePostText(bad), INVALID, String(bad));
    }
  });

  it("property: accepted text is trimmed, non-empty, at most 280 code points and idempotent", () => {
    fc.assert(
      fc.property(fc.string({ unit: codePoint, maxLength: 300 }), (raw) => {
        let text: string;
        try {
          text = normalizePostText(raw);
        } catch {
          return true;
        }
        return (
          text.length > 0 &&
          text === text.trim() &&
          codePointLength(text) <= 280 &&
          normalizePostText(text) === text
        );
      }),
    );
  });
});

describe("normalizeLimit", () => {
  it("defaults when absent or zero", () => {
    assert.equal(normalizeLimit(undefined), PAGE_LIMIT_DEFAULT);
    assert.equal(normalizeLimit(0), PAGE_LIMIT_DEFAULT);
  });

  it("keeps whole numbers from 1 to the maximum", () => {
    assert.equal(normalizeLimit(1), 1);
    assert.equal(normalizeLimit(37), 37);
    assert.equal(normalizeLimit(PAGE_LIMIT_MAX), PAGE_LIMIT_MAX);
  });

  it("rejects values above the maximum, negatives, fractions and non-numbers", () => {
    for (const bad of [PAGE_LIMIT_MAX + 1, -1, 1.5, Number.NaN, Infinity, -Infinity]) {
      assert.throws(() => normalizeLimit(bad), INVALID, String(bad));
    }
  });
});

describe("codePointLength", () => {
  it("counts code points, not UTF-16 units", () => {
    assert.equal(codePointLength(""), 0);
    assert.equal(codePointLength("abc"), 3);
    assert.equal(codePointLength(EMOJI), 1);
    assert.equal(codePointLength(FAMILY), 5);
  });
});
