import type { FastifyReply, FastifyRequest } from "fastify";
import type { WebContext } from "./context.js";

/** The session cookie holds only the opaque token; the backend checks it on every request. */
export const SESSION_COOKIE = "flock_session";

export function tokenFromCookie(request: FastifyRequest): string {
  return request.cookies[SESSION_COOKIE] ?? "";
}

/** API clients send `Authorization: Bearer <token>`. */
export function tokenFromHeader(request: FastifyRequest): string {
  const header = request.headers.authorization;
  if (typeof header !== "string" || !header.startsWith("Bearer ")) return "";
  return header.slice("Bearer ".length).trim();
}

export function setSessionCookie(ctx: WebContext, reply: FastifyReply, token: string, expiresAtMs: number): void {
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
