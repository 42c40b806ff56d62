import type { FastifyRequest } from "fastify";
import { TokenKind } from "../../gen/flock/accounts/v1/accounts.js";
import { isOAuthTokenShape, coversAny } from "../../shared/oauth.js";
import type { WebContext } from "../context.js";
import { tokenFromHeader } from "../session.js";
import { MastodonError, mastodonErrorOf } from "./http.js";

/** Who a Mastodon request acts for. */
export interface Caller {
  token: string;
  /** "" for an app's own token. */
  username: string;
  kind: "session" | "oauth" | "app";
  scopes: readonly string[];
  clientId: string;
}

/**
 * The bearer token of a Mastodon request: the Authorization header, or (streaming, where a
 * browser cannot set headers) `access_token` in the query. Never the session cookie: Mastodon
 * routes take no ambient credential, so a cross-site request acts for nobody.
 */
export function bearerOf(request: FastifyRequest): string {
  const header = tokenFromHeader(request);
  if (header !== "") return header;
  const query = request.query as Record<string, unknown> | undefined;
  const fromQuery = query?.access_token;
  return typeof fromQuery === "string" && fromQuery.length <= 200 ? fromQuery : "";
}

/**
 * Whether a request comes from a Mastodon client: its token has the OAuth shape. Where a path
 * is both Flock's and Mastodon's (GET /api/v1/notifications, POST /api/v1/accounts), this
 * decides which answers (see `MASTODON_CLIENT` in routes.ts).
 */
export function isMastodonRequest(
  headers: Record<string, string | string[] | undefined>,
  url: string,
): boolean {
  const auth = headers.authorization;
  if (typeof auth === "string") {
    const match = /^Bearer +(\S+) *$/i.exec(auth);
    if (match && isOAuthTokenShape(match[1]!)) return true;
  }
  const query = url.indexOf("?");
  if (query < 0) return false;
  const token = new URLSearchParams(url.slice(query + 1)).get("access_token");
  return token !== null && isOAuthTokenShape(token);
}

/** Asks the backend what the token is (a linearizable read: a revoked token fails at once). */
export async function identify(ctx: WebContext, request: FastifyRequest, token: string): Promise<Caller> {
  try {
    const who = await ctx.backend.call(
      ctx.backend.accounts,
      ctx.backend.accounts.authenticate,
      {},
      { token, requestId: request.id },
    );
    const kind =
      who.kind === TokenKind.TOKEN_KIND_OAUTH
        ? "oauth"
        : who.kind === TokenKind.TOKEN_KIND_APP
          ? "app"
          : "session";
    return { token, username: who.username, kind, scopes: who.scopes, clientId: who.clientId };
  } catch (err) {
    throw mastodonErrorOf(err);
  }
}

/** Whether a caller's token covers any of `anyOf` (a Flock session covers everything). */
export function allows(caller: Caller, anyOf: readonly string[]): boolean {
  return caller.kind === "session" || coversAny(caller.scopes, anyOf);
}

/**
 * A user endpoint: a token acting for a user, covering one of `anyOf` (Mastodon's
 * `doorkeeper_authorize!` then `require_user!`). 401 without a valid token, 403 outside its
 * scopes, 422 for an app's own token.
 */
export async function requireUser(
  ctx: WebContext,
  request: FastifyRequest,
  anyOf: readonly string[],
): Promise<Caller> {
  const token = bearerOf(request);
  if (token === "") throw new MastodonError(401, "The access token is invalid");
  const caller = await identify(ctx, request, token);
  if (!allows(caller, anyOf)) throw new MastodonError(403, "This action is outside the authorized scopes");
  if (caller.username === "") throw new MastodonError(422, "This method requires an authenticated user");
  return caller;
}

/**
 * A public endpoint: anyone may call it; a token, when sent, must be valid and cover one of
 * `anyOf` (Mastodon's `authorize_if_got_token!`). Answers undefined for an anonymous caller.
 */
export async function optionalUser(
  ctx: WebContext,
  request: FastifyRequest,
  anyOf: readonly string[],
): Promise<Caller | undefined> {
  const token = bearerOf(request);
  if (token === "") return undefined;
  const caller = await identify(ctx, request, token);
  if (!allows(caller, anyOf)) throw new MastodonError(403, "This action is outside the authorized scopes");
  return caller;
}

/** The token to read with: the user's, or none for anonymous and app callers. */
export function readToken(caller: Caller | undefined): string {
  return caller && caller.username !== "" ? caller.token : "";
}
