import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { OAUTH_TOKEN_PREFIX } from "../../shared/oauth.js";

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

/** An OAuth access token: a recognisable prefix, then 256 random bits (see shared/oauth.ts). */
export function newOAuthToken(): string {
  return OAUTH_TOKEN_PREFIX + randomBytes(32).toString("base64url");
}

/** A client id: 128 random bits, base64url (22 characters). */
export function newClientId(): string {
  return randomBytes(16).toString("base64url");
}

/** A client secret or an authorization code: 256 random bits, base64url. */
export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** Compares two hashes in constant time (both are base64url SHA-256 digests). */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
