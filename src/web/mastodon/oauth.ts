import { status as grpcStatus } from "@grpc/grpc-js";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { App } from "../../gen/flock/accounts/v1/accounts.js";
import { FlockError } from "../../shared/errors.js";
import { parseScopes, within, type Scope } from "../../shared/oauth.js";
import { backendApi } from "../backend-api.js";
import type { WebContext } from "../context.js";
import { toHttpError } from "../http-errors.js";
import { renderPage } from "../render.js";
import { setSessionCookie, tokenFromCookie } from "../session.js";
import { bearerOf, identify } from "./auth.js";
import { MastodonBackend } from "./backend.js";
import { application } from "./entities.js";
import { list, MastodonError, mastodonErrorOf, originOf, paramsOf, text, type Params } from "./http.js";

/**
 * OAuth 2 as Mastodon clients speak it: app registration, the authorization page (log in, then
 * consent, both forms with CSRF tokens, the session cookie as the user's credential), the token
 * and revocation endpoints. The backend's accounts service holds the apps, codes and tokens.
 */

export const OOB = "urn:ietf:wg:oauth:2.0:oob";

const SCOPE_TEXT: Record<string, string> = {
  read: "read your timeline, notifications, posts, follows and account",
  write: "post, reply, like, repost, delete, follow and change your profile for you",
  follow: "follow, block and mute accounts for you, and see whom you follow",
  push: "receive push notifications (not offered by Flock)",
  profile: "see your profile",
};

/** The RFC 6749 error an OAuth failure from the backend names ("invalid_grant: …"). */
function oauthFailure(err: unknown): MastodonError {
  if (err instanceof FlockError) {
    const match =
      /^(invalid_client|invalid_grant|invalid_scope|invalid_request|unauthorized_client): (.*)$/s.exec(
        err.message,
      );
    if (match) {
      const code = match[1]!;
      const statusCode = code === "invalid_client" ? 401 : code === "unauthorized_client" ? 403 : 400;
      return new MastodonError(statusCode, code, match[2]);
    }
    if (err.code === grpcStatus.INVALID_ARGUMENT)
      return new MastodonError(400, "invalid_request", err.message);
  }
  return mastodonErrorOf(err);
}

/** client_id and client_secret from the body (client_secret_post) or Basic auth (client_secret_basic). */
function clientCredentials(
  request: FastifyRequest,
  params: Params,
): { clientId: string; clientSecret: string } {
  const header = request.headers.authorization;
  if (typeof header === "string" && /^Basic /i.test(header) && header.length < 1000) {
    const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0) {
      return {
        clientId: decodeURIComponent(decoded.slice(0, colon)),
        clientSecret: decodeURIComponent(decoded.slice(colon + 1)),
      };
    }
  }
  return {
    clientId: text(params, "client_id", 200) ?? "",
    clientSecret: text(params, "client_secret", 200) ?? "",
  };
}

function tokenEntity(token: { accessToken: string; scopes: string[]; createdAtMs: number }) {
  return {
    access_token: token.accessToken,
    token_type: "Bearer",
    scope: token.scopes.join(" "),
    created_at: Math.floor(token.createdAtMs / 1000),
  };
}

/** What an authorization request asked for, checked against the app. */
interface Grant {
  app: App;
  redirectUri: string;
  scopes: Scope[];
  state: string | undefined;
  codeChallenge: string;
  /** The request's own parameters, to carry through the login and consent forms. */
  fields: [string, string][];
}

/**
 * Checks an authorization request. Failures that make the redirect URI untrustworthy (unknown
 * app, unregistered redirect) are shown on a page (RFC 6749 §4.1.2.1); others go back to the
 * app as `?error=` (thrown as a Redirect).
 */
async function checkGrant(api: MastodonBackend, params: Params): Promise<Grant> {
  const clientId = text(params, "client_id", 100) ?? "";
  const c = api.clients;
  const app = await c
    .call(c.accounts, c.accounts.getApp, { clientId }, api.as(false))
    .catch((err: unknown) => {
      if (err instanceof FlockError && err.code === grpcStatus.NOT_FOUND)
        throw new PageError(400, "This app is not registered with Flock (unknown client_id).");
      throw err;
    });
  const asked = text(params, "redirect_uri", 2000);
  const redirectUri = asked ?? (app.redirectUris.length === 1 ? app.redirectUris[0]! : "");
  if (!app.redirectUris.includes(redirectUri))
    throw new PageError(
      400,
      "The redirect_uri is not one this app registered, so Flock will not send you there.",
    );
  const state = text(params, "state", 2000);
  const back = (error: string, description: string) =>
    new Redirect(redirectUri, { error, error_description: description, state });
  if (text(params, "response_type", 100) !== "code")
    throw back("unsupported_response_type", "only response_type=code");
  let scopes: Scope[];
  try {
    scopes = parseScopes(text(params, "scope", 1024));
  } catch {
    throw back("invalid_scope", "the requested scope is invalid, unknown, or malformed");
  }
  if (!within(scopes, app.scopes)) throw back("invalid_scope", "the requested scope exceeds the app's");
  const codeChallenge = text(params, "code_challenge", 200) ?? "";
  const method = text(params, "code_challenge_method", 20);
  if (codeChallenge !== "" && (method !== "S256" || !/^[A-Za-z0-9_-]{43}$/.test(codeChallenge)))
    throw back("invalid_request", "code_challenge must be an S256 challenge (code_challenge_method=S256)");
  const fields: [string, string][] = [
    ["response_type", "code"],
    ["client_id", clientId],
    ["redirect_uri", redirectUri],
    ["scope", scopes.join(" ")],
  ];
  if (state !== undefined) fields.push(["state", state]);
  if (codeChallenge !== "") fields.push(["code_challenge", codeChallenge], ["code_challenge_method", "S256"]);
  return { app, redirectUri, scopes, state, codeChallenge, fields };
}

class PageError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

class Redirect extends Error {
  readonly location: string;
  constructor(redirectUri: string, query: Record<string, string | undefined>) {
    super("redirect");
    this.location = withQuery(redirectUri, query);
  }
}

/** The redirect URI with parameters added (its own query kept; custom schemes too). */
function withQuery(uri: string, query: Record<string, string | undefined>): string {
  const extra = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) extra.set(k, v);
  const hash = uri.indexOf("#");
  const base = hash >= 0 ? uri.slice(0, hash) : uri;
  return `${base}${base.includes("?") ? "&" : "?"}${extra.toString()}`;
}

/** The page's CSP without form-action: the consent form's answer redirects to the app (any scheme). */
function allowRedirectToApp(reply: FastifyReply): void {
  reply.header(
    "content-security-policy",
    "default-src 'self';script-src 'self';style-src 'self';img-src 'self' data:;frame-ancestors 'none';base-uri 'none';object-src 'none'",
  );
}

export function oauthRoutes(app: FastifyInstance, ctx: WebContext): void {
  const backend = (request: FastifyRequest) => new MastodonBackend(ctx, request);

  app.post("/api/v1/apps", async (request) => {
    const params = paramsOf(request);
    const api = backend(request);
    const name = text(params, "client_name", 1000);
    if (name === undefined)
      throw new MastodonError(422, "Validation failed: Application name can't be blank");
    const redirectUris = list(params, "redirect_uris", 10, /[\n\s]+/).filter((u) => u !== "");
    let scopes: string[];
    try {
      scopes = parseScopes(text(params, "scopes", 1024));
    } catch (err) {
      throw new MastodonError(422, `Validation failed: ${(err as Error).message}`);
    }
    const c = api.clients;
    const created = await api.run(
      c.call(
        c.accounts,
        c.accounts.createApp,
        { name, website: text(params, "website", 2000) ?? "", redirectUris, scopes },
        api.as(false),
      ),
    );
    return {
      ...application(created.app!),
      client_id: created.app!.clientId,
      client_secret: created.clientSecret,
      client_secret_expires_at: 0,
    };
  });

  app.get("/api/v1/apps/verify_credentials", async (request) => {
    const api = backend(request);
    const { clientId } = await requireOAuth(ctx, request);
    const c = api.clients;
    return application(await api.run(c.call(c.accounts, c.accounts.getApp, { clientId }, api.as(false))));
  });

  // Flock's own addition (Mastodon has none): an app deletes itself, with its id and secret;
  // every token it holds stops working at once.
  app.delete("/api/v1/apps", async (request) => {
    const { clientId, clientSecret } = clientCredentials(request, paramsOf(request));
    const api = backend(request);
    const c = api.clients;
    await c
      .call(c.accounts, c.accounts.deleteApp, { clientId, clientSecret }, api.as(false))
      .catch((err: unknown) => {
        throw oauthFailure(err);
      });
    return {};
  });

  app.get("/oauth/authorize", async (request, reply) => {
    const params = paramsOf(request);
    return authorizePage(request, reply, params);
  });

  async function authorizePage(request: FastifyRequest, reply: FastifyReply, params: Params, error?: string) {
    const api = backend(request);
    allowRedirectToApp(reply);
    try {
      const grant = await checkGrant(api, params);
      const session = tokenFromCookie(request);
      const viewer = session === "" || error !== undefined ? "" : await whoIs(ctx, request, session);
      if (
        viewer === "" ||
        (request.method === "GET" && flagIn(params, "force_login") && error === undefined)
      ) {
        return renderPage(reply, "oauth-authorize", {
          title: `Authorize ${grant.app.name}`,
          mode: "login",
          app: grant.app,
          fields: grant.fields,
          error,
          username: text(params, "username", 64)?.slice(0, 32),
        });
      }
      return renderPage(reply, "oauth-authorize", {
        title: `Authorize ${grant.app.name}`,
        viewer,
        mode: "consent",
        app: grant.app,
        fields: grant.fields,
        redirectUri: grant.redirectUri,
        scopeLines: grant.scopes.map((s) => SCOPE_TEXT[s] ?? s),
      });
    } catch (err) {
      return answerPageError(reply, err);
    }
  }

  app.post("/oauth/authorize/login", { preHandler: app.csrfProtection }, async (request, reply) => {
    const params = paramsOf(request);
    const username = text(params, "username", 64) ?? "";
    const password = text(params, "password", 1024) ?? "";
    try {
      const session = await backendApi(ctx, request).login(username, password);
      const previous = tokenFromCookie(request);
      if (previous !== "" && previous !== session.token)
        await backendApi(ctx, request)
          .logout(previous)
          .catch(() => undefined);
      setSessionCookie(ctx, reply, session.token, session.expiresAtMs);
    } catch (err) {
      const failure = toHttpError(err);
      if (failure.statusCode >= 500 && failure.statusCode !== 503) throw err;
      if (failure.retryAfterSeconds !== undefined)
        reply.header("retry-after", String(failure.retryAfterSeconds));
      reply.code(failure.statusCode);
      return authorizePage(request, reply, params, failure.message);
    }
    const query = new URLSearchParams();
    for (const name of [
      "response_type",
      "client_id",
      "redirect_uri",
      "scope",
      "state",
      "code_challenge",
      "code_challenge_method",
    ]) {
      const value = text(params, name, 2000);
      if (value !== undefined) query.set(name, value);
    }
    return reply.redirect(`/oauth/authorize?${query.toString()}`, 303);
  });

  app.post("/oauth/authorize", { preHandler: app.csrfProtection }, async (request, reply) => {
    const params = paramsOf(request);
    const api = backend(request);
    allowRedirectToApp(reply);
    try {
      // Every parameter is checked again: the form's hidden fields are the client's to change.
      const grant = await checkGrant(api, params);
      const session = tokenFromCookie(request);
      if (session === "" || (await whoIs(ctx, request, session)) === "")
        return authorizePage(request, reply, params);
      if (text(params, "decision", 20) !== "approve")
        throw new Redirect(grant.redirectUri, {
          error: "access_denied",
          error_description: "the user denied the request",
          state: grant.state,
        });
      const c = api.clients;
      const { code } = await c.call(
        c.accounts,
        c.accounts.authorize,
        {
          clientId: grant.app.clientId,
          redirectUri: grant.redirectUri,
          scopes: grant.scopes,
          codeChallenge: grant.codeChallenge,
        },
        { token: session, requestId: request.id },
      );
      if (grant.redirectUri === OOB) {
        return renderPage(reply, "oauth-authorize", {
          title: "Authorization code",
          mode: "code",
          app: grant.app,
          code,
        });
      }
      return reply.redirect(withQuery(grant.redirectUri, { code, state: grant.state }), 303);
    } catch (err) {
      return answerPageError(reply, err);
    }
  });

  app.post("/oauth/token", async (request) => {
    const params = paramsOf(request);
    const { clientId, clientSecret } = clientCredentials(request, params);
    const grantType = text(params, "grant_type", 100);
    const api = backend(request);
    const c = api.clients;
    try {
      if (grantType === "authorization_code") {
        const code = text(params, "code", 200);
        if (code === undefined) throw new MastodonError(400, "invalid_request", "code is required");
        const token = await c.call(
          c.accounts,
          c.accounts.exchangeCode,
          {
            clientId,
            clientSecret,
            code,
            redirectUri: text(params, "redirect_uri", 2000) ?? "",
            codeVerifier: text(params, "code_verifier", 200) ?? "",
          },
          api.as(false),
        );
        return tokenEntity(token);
      }
      if (grantType === "client_credentials") {
        let scopes: string[];
        try {
          scopes = parseScopes(text(params, "scope", 1024));
        } catch {
          throw new MastodonError(
            400,
            "invalid_scope",
            "The requested scope is invalid, unknown, or malformed.",
          );
        }
        const token = await c.call(
          c.accounts,
          c.accounts.issueAppToken,
          { clientId, clientSecret, scopes },
          api.as(false),
        );
        return tokenEntity(token);
      }
      throw new MastodonError(
        400,
        grantType === undefined ? "invalid_request" : "unsupported_grant_type",
        "The authorization grant type is not supported by the authorization server.",
      );
    } catch (err) {
      throw oauthFailure(err);
    }
  });

  app.post("/oauth/revoke", async (request) => {
    const params = paramsOf(request);
    const { clientId, clientSecret } = clientCredentials(request, params);
    const api = backend(request);
    const c = api.clients;
    await c
      .call(
        c.accounts,
        c.accounts.revokeToken,
        { clientId, clientSecret, token: text(params, "token", 500) ?? "" },
        api.as(false),
      )
      .catch((err: unknown) => {
        throw oauthFailure(err);
      });
    return {};
  });

  app.get("/.well-known/oauth-authorization-server", async (request) => {
    const origin = originOf(ctx, request);
    return {
      issuer: origin,
      authorization_endpoint: `${origin}/oauth/authorize`,
      token_endpoint: `${origin}/oauth/token`,
      revocation_endpoint: `${origin}/oauth/revoke`,
      app_registration_endpoint: `${origin}/api/v1/apps`,
      scopes_supported: ["read", "write", "follow", "push", "profile"],
      response_types_supported: ["code"],
      response_modes_supported: ["query"],
      code_challenge_methods_supported: ["S256"],
      grant_types_supported: ["authorization_code", "client_credentials"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      service_documentation: `${origin}/`,
    };
  });

  function answerPageError(reply: FastifyReply, err: unknown) {
    if (err instanceof Redirect) return reply.redirect(err.location, 303);
    const statusCode = err instanceof PageError ? err.statusCode : toHttpError(err).statusCode;
    if (statusCode >= 500 && statusCode !== 503) throw err;
    const message = err instanceof PageError ? err.message : toHttpError(err).message;
    reply.code(statusCode);
    return renderPage(reply, "oauth-authorize", { title: "Cannot authorize", mode: "error", message });
  }
}

function flagIn(params: Params, name: string): boolean {
  const value = params[name];
  return typeof value === "string" && ["true", "1", "on", "yes"].includes(value.toLowerCase());
}

/** The user a session cookie names, or "" (not logged in, expired, or not a session). */
async function whoIs(ctx: WebContext, request: FastifyRequest, session: string): Promise<string> {
  try {
    const caller = await identify(ctx, request, session);
    return caller.kind === "session" ? caller.username : "";
  } catch (err) {
    if (err instanceof MastodonError && err.statusCode === 401) return "";
    throw err;
  }
}

/** The caller of an endpoint that takes an app's token: any valid OAuth token (a session is none). */
async function requireOAuth(ctx: WebContext, request: FastifyRequest) {
  const token = bearerOf(request);
  if (token === "") throw new MastodonError(401, "The access token is invalid");
  const caller = await identify(ctx, request, token);
  if (caller.kind === "session") throw new MastodonError(401, "The access token is invalid");
  return caller;
}
