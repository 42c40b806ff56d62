import { invalid } from "./errors.js";

/**
 * Opaque page cursors. A cursor wraps the last key a page returned, so the next page
 * starts strictly after it: pages never overlap or skip while new items arrive before it.
 * Clients must not build cursors; a malformed one is INVALID_ARGUMENT.
 */
const CURSOR_PREFIX = "c1:";
const MAX_CURSOR_LENGTH = 512;

export function encodeCursor(position: string): string {
  return Buffer.from(CURSOR_PREFIX + position, "utf8").toString("base64url");
}

/** Returns the position inside a cursor, or undefined for an empty cursor. */
export function decodeCursor(
  cursor: string | undefined,
  isValidPosition: (p: string) => boolean,
): string | undefined {
  if (cursor === undefined || cursor === "") return undefined;
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor))
    throw invalid("cursor is malformed");
  const decoded = Buffer.from(cursor, "base64url").toString("utf8");
  if (!decoded.startsWith(CURSOR_PREFIX)) throw invalid("cursor is malformed");
  const position = decoded.slice(CURSOR_PREFIX.length);
  if (!isValidPosition(position)) throw invalid("cursor is malformed");
  return position;
}
