import { randomBytes } from "node:crypto";

/**
 * Post ids sort by creation time: 13 decimal digits of milliseconds since the epoch,
 * then 12 hex digits of randomness so two posts in one millisecond (on any replica)
 * never collide. Sorting ids as strings sorts posts by time.
 */
export const POST_ID_PATTERN = /^[0-9]{13}[0-9a-f]{12}$/;

export function newPostId(nowMs: number): string {
  return String(nowMs).padStart(13, "0") + randomBytes(6).toString("hex");
}

export function isPostId(value: string): boolean {
  return POST_ID_PATTERN.test(value);
}

export function postIdTime(id: string): number {
  return Number(id.slice(0, 13));
}
