import { createHash, randomBytes } from "node:crypto";

/**
 * Session tokens: 256 random bits, base64url. The store keeps only their SHA-256, so a
 * leaked store (or etcd snapshot) holds no usable token.
 */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function newSessionToken(): string {
  return randomBytes(32).toString("base64url");
}

export function isWellFormedToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}
