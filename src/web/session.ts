import type { FastifyReply, FastifyRequest } from "fastify";
import type { WebContext } from "./context.js";

/** The session cookie holds only the opaque token; the backend checks it on every request. */
export const SESSION_COOKIE = "flock_session";

export function tokenFromCookie(request: FastifyRequest): string {
  return request.cookies[SESSION_COOKIE] ?? "";
}

/**
 * What a form's CSRF token is bound to: the session cookie the page was rendered for (none
 * when logged out). A `_csrf` cookie planted from a sibling subdomain or by a network attacker,
 * with a token minted for it, then still fails for a logged-in victim: the token would have to
 * name the victim's session, which the attacker does not know.
 */
export function csrfBinding(request: FastifyRequest): string {
  return `session:${tokenFromCookie(request)}`;
}

/**
 * Key of the HMAC that folds the binding into a token. It needs no secrecy (the session token
 * inside is the secret) but must be the same on every web replica, so it is a constant.
 */
export const CSRF_HMAC_KEY = "flock/csrf-binding/v1";

/**
 * API clients send `Authorization: Bearer <token>` (the scheme is case-insensitive, RFC 7235).
 * This header is the JSON API's only credential: it never reads the session cookie, so a
 * cross-site request (which carries cookies but cannot set this header) acts for nobody.
 */
export function tokenFromHeader(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (typeof header !== "string" || header.length > 512) return "";
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match?.[1] ?? "";
}

export function setSessionCookie(
  ctx: WebContext,
  reply: FastifyReply,
  token: string,
  expiresAtMs: number,
): void {
  reply.setCookie(SESSION_COOKIE, token, {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: ctx.cookieSecure,
    expires: new Date(expiresAtMs),
  });
}

export function clearSessionCookie(ctx: WebContext, reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: "/", httpOnly: true, sameSite: "lax", secure: ctx.cookieSecure });
}
