import { invalid } from "./errors.js";

/**
 * Flock's input rules, checked at the web edge and again in each backend service.
 * Every function either returns the canonical value or throws INVALID_ARGUMENT.
 */

export const USERNAME_PATTERN = /^[a-z0-9_]{3,32}$/;
// Checked before case-folding: toLowerCase() maps some non-ASCII letters to ASCII
// (U+212A KELVIN SIGN becomes "k"), which would let a lookalike pass as a real name.
const RAW_USERNAME_PATTERN = /^[A-Za-z0-9_]{3,32}$/;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;
export const POST_MAX_CODE_POINTS = 280;
export const DISPLAY_NAME_MAX = 50;
export const BIO_MAX = 160;
export const PAGE_LIMIT_DEFAULT = 20;
export const PAGE_LIMIT_MAX = 100;

// C0 and C1 controls except tab, newline and carriage return (which posts may contain).
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u;
// A lone surrogate means the text is not valid Unicode (JSON lets a client send one as "\ud800").
const LONE_SURROGATE = /\p{Surrogate}/u;
// Noncharacters (U+FDD0–U+FDEF and the last two code points of every plane) are not for interchange.
const NONCHARACTER =
  /[\uFDD0-\uFDEF\uFFFE\uFFFF]|[\u{1FFFE}\u{1FFFF}\u{2FFFE}\u{2FFFF}\u{3FFFE}\u{3FFFF}\u{4FFFE}\u{4FFFF}\u{5FFFE}\u{5FFFF}\u{6FFFE}\u{6FFFF}\u{7FFFE}\u{7FFFF}\u{8FFFE}\u{8FFFF}\u{9FFFE}\u{9FFFF}\u{AFFFE}\u{AFFFF}\u{BFFFE}\u{BFFFF}\u{CFFFE}\u{CFFFF}\u{DFFFE}\u{DFFFF}\u{EFFFE}\u{EFFFF}\u{FFFFE}\u{FFFFF}\u{10FFFE}\u{10FFFF}]/u;
// Text made only of these looks empty: white space, invisible format characters (zero-width
// space, joiners, bidi marks, BOM) and the blank "filler" letters used to fake empty posts.
const INVISIBLE_ONLY = /^[\p{White_Space}\p{Cf}\u115F\u1160\u2800\u3164\uFFA0]*$/u;

/** Case-folds and checks a username: 3–32 of [a-z0-9_]. */
export function normalizeUsername(raw: unknown): string {
  if (typeof raw !== "string" || raw.length === 0) throw invalid("username is required");
  if (raw.length > 64) throw invalid("username must be 3–32 characters of a–z, 0–9 and _");
  if (!RAW_USERNAME_PATTERN.test(raw)) throw invalid("username must be 3–32 characters of a–z, 0–9 and _");
  return raw.toLowerCase();
}

/** True when `raw` names a valid username; for lookups that answer 404 rather than 400. */
export function isValidUsername(raw: string): boolean {
  return RAW_USERNAME_PATTERN.test(raw);
}

/** Checks a password: 8–256 characters (code points), valid Unicode, no control characters. */
export function checkPassword(raw: unknown): string {
  if (typeof raw !== "string" || raw.length === 0) throw invalid("password is required");
  const length = codePointLength(raw);
  if (length < PASSWORD_MIN || length > PASSWORD_MAX) {
    throw invalid(`password must be ${PASSWORD_MIN}–${PASSWORD_MAX} characters`);
  }
  if (LONE_SURROGATE.test(raw) || NONCHARACTER.test(raw) || FORBIDDEN_CONTROLS.test(raw)) {
    throw invalid("password contains characters that are not allowed");
  }
  return raw;
}

/** Trims and checks post text: 1–280 code points, valid Unicode, no control characters. */
export function normalizePostText(raw: unknown): string {
  if (typeof raw !== "string") throw invalid("text is required");
  if (LONE_SURROGATE.test(raw) || NONCHARACTER.test(raw)) throw invalid("text is not valid Unicode");
  const text = raw.normalize("NFC").trim();
  if (INVISIBLE_ONLY.test(text)) throw invalid("text must not be empty");
  if (codePointLength(text) > POST_MAX_CODE_POINTS) {
    throw invalid(`text must be at most ${POST_MAX_CODE_POINTS} characters`);
  }
  if (FORBIDDEN_CONTROLS.test(text)) throw invalid("text contains control characters");
  return text;
}

/**
 * Trims and checks a display name: 1–50 code points on one line, the post rules otherwise;
 * "" (or only blanks) means none (the username is shown).
 */
export function normalizeDisplayName(raw: unknown): string {
  if (typeof raw !== "string") throw invalid("display name must be text");
  if (raw.trim() === "") return "";
  if (/[\r\n\u2028\u2029]/.test(raw)) throw invalid("display name must be one line");
  return profileText(raw, DISPLAY_NAME_MAX, "display name");
}

/** Trims and checks a bio: at most 160 code points, the post rules otherwise; "" clears it. */
export function normalizeBio(raw: unknown): string {
  if (typeof raw !== "string") throw invalid("bio must be text");
  if (raw.trim() === "") return "";
  return profileText(raw, BIO_MAX, "bio");
}

function profileText(raw: string, max: number, what: string): string {
  if (LONE_SURROGATE.test(raw) || NONCHARACTER.test(raw)) throw invalid(`${what} is not valid Unicode`);
  const text = raw.normalize("NFC").trim();
  if (INVISIBLE_ONLY.test(text)) throw invalid(`${what} must not be only invisible characters`);
  if (codePointLength(text) > max) throw invalid(`${what} must be at most ${max} characters`);
  if (FORBIDDEN_CONTROLS.test(text)) throw invalid(`${what} contains control characters`);
  return text;
}

/** Clamps a page size; 0 or absent means the default. */
export function normalizeLimit(raw: number | undefined): number {
  if (raw === undefined || raw === 0) return PAGE_LIMIT_DEFAULT;
  if (!Number.isInteger(raw) || raw < 1 || raw > PAGE_LIMIT_MAX) {
    throw invalid(`limit must be a whole number from 1 to ${PAGE_LIMIT_MAX}`);
  }
  return raw;
}

export function codePointLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
