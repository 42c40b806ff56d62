import { invalid } from "./errors.js";

/**
 * OAuth scopes, as the Mastodon client API names them (docs: api/oauth-scopes). A token holds
 * a set of them; a call needs one granular scope, which a token covers when it holds it, its
 * top-level parent (`read` covers `read:statuses`), or `follow` for the follow, block and mute
 * scopes (Mastodon's legacy umbrella). Flock's own session tokens hold every scope.
 */
export const TOP_LEVEL_SCOPES = ["read", "write", "follow", "push", "profile"] as const;

export const GRANULAR_SCOPES = [
  "read:accounts",
  "read:blocks",
  "read:bookmarks",
  "read:favourites",
  "read:filters",
  "read:follows",
  "read:lists",
  "read:mutes",
  "read:notifications",
  "read:search",
  "read:statuses",
  "write:accounts",
  "write:blocks",
  "write:bookmarks",
  "write:conversations",
  "write:favourites",
  "write:filters",
  "write:follows",
  "write:lists",
  "write:media",
  "write:mutes",
  "write:notifications",
  "write:reports",
  "write:statuses",
] as const;

export type Scope = (typeof TOP_LEVEL_SCOPES)[number] | (typeof GRANULAR_SCOPES)[number];

const KNOWN = new Set<string>([...TOP_LEVEL_SCOPES, ...GRANULAR_SCOPES]);

/** What the legacy `follow` scope stands for. */
const FOLLOW_COVERS = new Set<string>([
  "read:blocks",
  "read:follows",
  "read:mutes",
  "write:blocks",
  "write:follows",
  "write:mutes",
]);

/** Scopes an app or a grant may name at most (a longer list is not a real client's). */
const MAX_SCOPES = 40;

export function isScope(value: string): value is Scope {
  return KNOWN.has(value);
}

/**
 * Parses a scope list as OAuth sends it: space separated (`+` in a query is a space already),
 * each known, each once, in the order given. An empty list is `fallback` (Mastodon: `read`).
 * INVALID_ARGUMENT names the first unknown scope.
 */
export function parseScopes(raw: unknown, fallback: readonly Scope[] = ["read"]): Scope[] {
  if (raw === undefined || raw === null) return [...fallback];
  const text = Array.isArray(raw) ? raw.join(" ") : raw;
  if (typeof text !== "string" || text.length > 1024) throw invalid("scope is malformed");
  const names = text.split(/[\s,]+/).filter((s) => s !== "");
  if (names.length === 0) return [...fallback];
  if (names.length > MAX_SCOPES) throw invalid("too many scopes");
  const scopes: Scope[] = [];
  for (const name of names) {
    if (!isScope(name)) throw invalid(`unknown scope "${name.slice(0, 40)}"`);
    if (!scopes.includes(name)) scopes.push(name);
  }
  return scopes;
}

/** Whether a token holding `granted` may do what needs `needed` (see the module's comment). */
export function covers(granted: readonly string[], needed: string): boolean {
  if (granted.includes(needed)) return true;
  const colon = needed.indexOf(":");
  if (colon > 0 && granted.includes(needed.slice(0, colon))) return true;
  return FOLLOW_COVERS.has(needed) && granted.includes("follow");
}

/** Whether a token holding `granted` covers any one of `anyOf` (Mastodon's per-route rule). */
export function coversAny(granted: readonly string[], anyOf: readonly string[]): boolean {
  return anyOf.some((needed) => covers(granted, needed));
}

/**
 * Whether every scope of `requested` stays within `allowed` (an app's scopes): no request may
 * escalate past what the app registered. `read:statuses` is within `read`; `read` is not
 * within `read:statuses`.
 */
export function within(requested: readonly string[], allowed: readonly string[]): boolean {
  return requested.every((scope) => covers(allowed, scope));
}

/**
 * OAuth access tokens look unlike Flock's session tokens (43 base64url characters): a fixed
 * prefix, then 256 random bits. The web tier tells a Mastodon client's request by it, and a
 * leaked token is recognisable as Flock's. Only RFC 7230 token characters, so a browser may
 * send it as a WebSocket subprotocol.
 */
export const OAUTH_TOKEN_PREFIX = "flock_at_";
const OAUTH_TOKEN = /^flock_at_[A-Za-z0-9_-]{43}$/;

export function isOAuthTokenShape(token: string): boolean {
  return OAUTH_TOKEN.test(token);
}
