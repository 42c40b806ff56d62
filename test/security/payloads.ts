/**
 * Hostile values for the attack suites: fast-check arbitraries and fixed lists of the classic
 * payloads (path tricks, prototype keys, XSS, Unicode edge cases, forged tokens).
 */
import fc from "fast-check";

/** The raw rule for a username the API accepts (before case-folding), used as an independent oracle. */
export const ACCEPTABLE_USERNAME = /^[A-Za-z0-9_]{3,32}$/;

/** Usernames that must never be accepted, nor reach a storage key. */
export const HOSTILE_NAMES: readonly string[] = [
  "",
  "a",
  "ab",
  "a".repeat(33),
  "a".repeat(5000),
  ".",
  "..",
  "../..",
  "../../etc/passwd",
  "/",
  "a/b",
  "victim/../victim",
  "victim/",
  "/victim",
  "%2F",
  "..%2F..%2Facct",
  "%2e%2e",
  "%00",
  "victim\u0000",
  "\u0000victim",
  "vic\u0000tim",
  "victim\n",
  "victim\r\nx-injected: 1",
  " victim",
  "victim ",
  "vic tim",
  "vic\ttim",
  "\u212Aelvin", // KELVIN SIGN lower-cases to ASCII "k"
  "\u0130stanbul", // LATIN CAPITAL I WITH DOT ABOVE lower-cases to "i" + U+0307
  "\u017Fam", // LATIN SMALL LONG S upper-cases to "S"
  "ví\u0301ctim",
  "ｖｉｃｔｉｍ", // full-width
  "vісtіm", // Cyrillic і and с
  "victim\u200b",
  "\u202Emitciv",
  "\ufeffvictim",
  "\ud800victim",
  "victim\udfff",
  "😀😀😀",
  "<script>",
  "'; DROP TABLE accounts; --",
  "$where",
  "a\\b",
  "acct/victim",
  "v1/acct/x",
  "*",
  "victim*",
  "\u0085abc",
  "abc\u007f",
];

/** Characters the input rules forbid anywhere in posts and passwords. */
export const FORBIDDEN_CHARS: readonly string[] = [
  "\u0000",
  "\u0001",
  "\u0007",
  "\u0008",
  "\u000b",
  "\u000c",
  "\u001b",
  "\u007f",
  "\u0085",
  "\u009f",
  "\ud800",
  "\udbff",
  "\udc00",
  "\udfff",
  "\ufffe",
  "\uffff",
  "\ufdd0",
  "\u{10FFFF}",
  "\u{1FFFE}",
];

/** Post texts that must be refused (400), whatever surrounds them. */
export const INVALID_TEXTS: readonly unknown[] = [
  "",
  " ",
  "   \n\t  ",
  "\u200b",
  "\u200b\u200c\u200d\u2060",
  "\ufeff",
  "\u3164",
  "\u2800\u2800",
  "\u00a0\u3000",
  "x".repeat(281),
  "🐦".repeat(281),
  "x" + "\u0301".repeat(300), // one grapheme, 301 code points: the limit counts code points
  ...FORBIDDEN_CHARS.map((c) => `hello ${c} world`),
  12,
  0,
  null,
  true,
  [],
  ["text"],
  {},
  { toString: "x" },
];

/** Markup and template syntax that must come back as text, never as markup. */
export const XSS_PAYLOADS: readonly string[] = [
  "<script>alert(1)</script>",
  '"><img src=x onerror=alert(1)>',
  "'><svg/onload=alert(1)>",
  "</textarea><script>alert(document.cookie)</script>",
  "</title><script>alert(1)</script>",
  '<a href="javascript:alert(1)">click</a>',
  "<iframe src=//evil.example></iframe>",
  "<%= it.csrf %> <%~ it.body %>",
  "{{constructor.constructor('alert(1)')()}}",
  "${alert(1)}",
  "<style>*{display:none}</style>",
  "&lt;already escaped&gt; &amp; <b>bold</b>",
  "<meta http-equiv=refresh content=0;url=//evil.example>",
  "<base href=//evil.example/>",
];

/** Keys that pollute prototypes when an object is built naively. */
export const PROTO_KEYS: readonly string[] = ["__proto__", "constructor", "prototype"];

/** Strings from the whole code-point range, with the forbidden characters and payloads mixed in. */
export function hostileString(maxLength = 40): fc.Arbitrary<string> {
  const piece = fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
    { weight: 2, arbitrary: fc.string({ unit: "binary-ascii", maxLength: 8 }) },
    { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 4 }) },
    { weight: 2, arbitrary: fc.constantFrom(...FORBIDDEN_CHARS) },
    { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_NAMES.filter((n) => n.length < 64)) },
    { weight: 1, arbitrary: fc.constantFrom(...XSS_PAYLOADS) },
    { weight: 1, arbitrary: fc.constantFrom(...PROTO_KEYS) },
  );
  return fc.array(piece, { maxLength: 6 }).map((parts) => parts.join("").slice(0, maxLength));
}

/** A username the API must refuse: fixed hostile names and random strings, never an acceptable one. */
export function invalidUsername(): fc.Arbitrary<string> {
  return fc
    .oneof(fc.constantFrom(...HOSTILE_NAMES), hostileString(48))
    .filter((s) => !ACCEPTABLE_USERNAME.test(s));
}

/** Post text that must be refused: fixed cases, or a random string with a forbidden character in it. */
export function invalidText(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(...INVALID_TEXTS),
    fc
      .tuple(hostileString(100), fc.constantFrom(...FORBIDDEN_CHARS), hostileString(100))
      .map(([a, bad, b]) => `${a}x${bad}x${b}`),
    fc.string({ unit: "grapheme-composite", minLength: 400, maxLength: 450 }).map((s) => `x${s}x`),
    fc.string({ unit: fc.constantFrom(" ", "\u200b", "\u3164", "\n", "\u2060"), maxLength: 20 }),
  );
}

/** Forged bearer tokens (printable ASCII, as HTTP headers allow), none of which is a real session. */
export function forgedToken(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constant(""),
    fc.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    fc.stringMatching(/^[A-Za-z0-9_-]{1,80}$/),
    fc.string({ unit: "grapheme-ascii", maxLength: 100 }),
    fc.constantFrom("null", "undefined", "[object Object]", "../../sess/x", "%00", "*", "' OR '1'='1"),
  );
}

/** Percent-encodes every byte of the UTF-8 form of `s` that is not unreserved: a path segment as sent. */
export function encodeSegment(s: string): string {
  let out = "";
  for (const byte of Buffer.from(s, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.~-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** JSON nested `depth` levels deep, arrays or objects (optionally with a prototype key at each level). */
export function deepJson(depth: number, kind: "array" | "object" | "proto"): string {
  if (kind === "array") return "[".repeat(depth) + "]".repeat(depth);
  const key = kind === "proto" ? "__proto__" : "a";
  return `{"${key}":`.repeat(depth) + "1" + "}".repeat(depth);
}
