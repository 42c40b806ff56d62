import { createHash } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { systemClock, type Clock } from "../../shared/clock.js";
import { FlockError, invalid, notFound } from "../../shared/errors.js";
import { isScope, within } from "../../shared/oauth.js";
import type { Keys } from "../../storage/keys.js";
import type { Freshness } from "../../storage/watch-cache.js";
import type { AccountsService } from "./service.js";
import type { AccountsFacts, NewToken } from "./facts.js";
import { hashToken, newClientId, newOAuthToken, newSecret, sameHash } from "./tokens.js";
import type { App, AccountsView } from "./view.js";

/** How long an authorization code lives (Doorkeeper's default, which Mastodon keeps). */
export const CODE_TTL_SECONDS = 600;
/** Access tokens a user may hold (across apps); a grant beyond it revokes the oldest. */
const MAX_TOKENS_PER_USER = 100;
/** An app's own (client_credentials) tokens; a grant beyond it revokes the oldest. */
const MAX_TOKENS_PER_APP = 10;
const MAX_REDIRECT_URIS = 10;
const MAX_URI_LENGTH = 2000;
const MAX_APP_NAME = 100;
export const OOB_REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob";

const CLIENT_ID = /^[A-Za-z0-9_-]{22}$/;
/** Authorization codes and client secrets: 256 bits, base64url. */
const SECRET = /^[A-Za-z0-9_-]{43}$/;
/** RFC 7636: a verifier is 43–128 unreserved characters; an S256 challenge is 43 base64url. */
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001F\u007F-\u009F]/u;

/** An OAuth failure: its RFC 6749 code leads the message, so the web tier can answer it as such. */
function oauthError(code: status, error: string, description: string): FlockError {
  return new FlockError(code, `${error}: ${description}`);
}
const invalidClient = () =>
  oauthError(
    status.UNAUTHENTICATED,
    "invalid_client",
    "client authentication failed (unknown client or wrong secret)",
  );
const invalidGrant = (why: string) => oauthError(status.FAILED_PRECONDITION, "invalid_grant", why);
const invalidScope = (why: string) => oauthError(status.INVALID_ARGUMENT, "invalid_scope", why);
const invalidRequest = (why: string) => oauthError(status.INVALID_ARGUMENT, "invalid_request", why);

export interface NewApp {
  app: App;
  clientSecret: string;
}

export interface IssuedToken {
  accessToken: string;
  scopes: readonly string[];
  createdAtMs: number;
}

/**
 * OAuth 2 as the Mastodon client API speaks it, in the accounts service: apps (their secrets
 * stored hashed, outside the views), authorization codes (hashed, short-lived, single use,
 * bound to app, redirect URI, scopes and PKCE challenge), and access tokens, stored hashed like
 * sessions, so authentication and revocation work the same way for both (see service.ts).
 */
export class OAuthService {
  constructor(
    private readonly facts: AccountsFacts,
    private readonly view: AccountsView,
    private readonly freshness: Freshness,
    private readonly keys: Keys,
    private readonly accounts: AccountsService,
    private readonly clock: Clock = systemClock,
  ) {}

  async createApp(
    rawName: string,
    rawWebsite: string,
    rawRedirectUris: readonly string[],
    rawScopes: readonly string[],
  ): Promise<NewApp> {
    const name = checkAppName(rawName);
    const website = checkWebsite(rawWebsite);
    const redirectUris = checkRedirectUris(rawRedirectUris);
    const scopes = checkScopes(rawScopes, "the app's scopes");
    const clientId = newClientId();
    const clientSecret = newSecret();
    const createdAtMs = this.clock.now();
    const revision = await this.facts.createApp(
      clientId,
      { name, website, redirectUris, scopes, createdAtMs },
      hashToken(clientSecret),
    );
    await this.freshness.reached(revision);
    const app = this.view.app(clientId) ?? {
      clientId,
      name,
      website,
      redirectUris,
      scopes,
      createdAtMs,
      revision,
    };
    return { app, clientSecret };
  }

  async getApp(clientId: string): Promise<App> {
    if (!CLIENT_ID.test(clientId)) throw notFound("no such app");
    await this.freshness.fresh();
    const app = this.view.app(clientId);
    if (!app) throw notFound("no such app");
    return app;
  }

  /** Deletes the app (authenticated by its secret): all its tokens stop working at once. */
  async deleteApp(clientId: string, clientSecret: string): Promise<void> {
    const app = await this.client(clientId, clientSecret);
    const revision = await this.facts.deleteApp(clientId, app.revision);
    if (revision !== undefined) await this.freshness.reached(revision);
  }

  /**
   * The user behind `sessionToken` (a Flock session: an OAuth token is refused, it never mints
   * another) grants `clientId` the scopes asked for: answers a code for the app to exchange.
   */
  async authorize(
    sessionToken: string,
    clientId: string,
    redirectUri: string,
    rawScopes: readonly string[],
    codeChallenge: string,
  ): Promise<string> {
    const viewer = await this.accounts.authenticate(sessionToken);
    const app = CLIENT_ID.test(clientId) ? this.view.app(clientId) : undefined;
    if (!app) throw invalidClient();
    if (!app.redirectUris.includes(redirectUri))
      throw invalidRequest("redirect_uri is not one the app registered");
    const scopes = checkScopes(rawScopes, "scope");
    if (!within(scopes, app.scopes)) throw invalidScope("the scopes asked for exceed the app's");
    if (codeChallenge !== "" && !CHALLENGE.test(codeChallenge))
      throw invalidRequest("code_challenge must be an S256 challenge (43 base64url characters)");
    const code = newSecret();
    const stored = await this.facts.storeCode(viewer, hashToken(code), {
      clientId,
      username: viewer.username,
      redirectUri,
      scopes,
      codeChallenge,
      expiresAtMs: this.clock.now() + CODE_TTL_SECONDS * 1000,
      tokenHash: "",
    });
    if (!stored) throw new FlockError(status.UNAUTHENTICATED, "session expired or revoked");
    return code;
  }

  /** The authorization_code grant. Every refusal is invalid_grant, and issues nothing. */
  async exchangeCode(
    clientId: string,
    clientSecret: string,
    code: string,
    redirectUri: string,
    codeVerifier: string,
  ): Promise<IssuedToken> {
    const app = await this.client(clientId, clientSecret);
    if (!SECRET.test(code)) throw invalidGrant("the code is malformed");
    const codeHash = hashToken(code);
    const stored = await this.facts.readCode(codeHash);
    if (!stored) throw invalidGrant("the code is unknown or expired");
    const grant = stored.record;
    if (grant.clientId !== clientId) throw invalidGrant("the code was issued to another client");
    if (grant.tokenHash !== "") {
      // A code used twice: someone else may hold it. Revoke what it gave (RFC 6749 §4.1.2).
      await this.freshness.reached(await this.facts.deleteKey(this.keys.token(clientId, grant.tokenHash)));
      throw invalidGrant("the code was used already");
    }
    if (grant.expiresAtMs <= this.clock.now()) throw invalidGrant("the code expired");
    if (grant.redirectUri !== redirectUri) throw invalidGrant("redirect_uri differs from the one authorized");
    if (grant.codeChallenge === "") {
      if (codeVerifier !== "") throw invalidGrant("a code_verifier was sent but no code_challenge was");
    } else if (!VERIFIER.test(codeVerifier) || !sameHash(s256(codeVerifier), grant.codeChallenge)) {
      throw invalidGrant("the code_verifier does not match the code_challenge");
    }
    const account = this.view.account(grant.username);
    if (!account) throw invalidGrant("the account is gone");
    const accessToken = newOAuthToken();
    const createdAtMs = this.clock.now();
    const token: NewToken = {
      clientId,
      tokenHash: hashToken(accessToken),
      record: { username: grant.username, createdAtMs, scopes: grant.scopes },
    };
    const held = this.view.tokensOf({ username: grant.username });
    const evict = held.slice(0, Math.max(0, held.length - (MAX_TOKENS_PER_USER - 1))).map((t) => t.key);
    let revision = await this.facts.redeemCode(
      codeHash,
      stored,
      token,
      {
        appRevision: app.revision,
        accountKey: this.keys.account(account.username),
        accountRevision: account.revision,
      },
      evict,
    );
    if (revision === undefined) {
      // A compare failed: the code was redeemed meanwhile (by this very call, when the store
      // client re-sent the txn after it landed) or expired, or the app or account went.
      const now = await this.facts.readCode(codeHash);
      if (now?.record.tokenHash !== token.tokenHash) throw invalidGrant("the code is no longer valid");
      revision = now.modRevision;
    }
    await this.freshness.reached(revision);
    return { accessToken, scopes: grant.scopes, createdAtMs };
  }

  /** The client_credentials grant: a token of the app itself, acting for no user. */
  async issueAppToken(
    clientId: string,
    clientSecret: string,
    rawScopes: readonly string[],
  ): Promise<IssuedToken> {
    const app = await this.client(clientId, clientSecret);
    const scopes = rawScopes.length === 0 ? ["read"] : checkScopes(rawScopes, "scope");
    if (!within(scopes, app.scopes)) throw invalidScope("the scopes asked for exceed the app's");
    const accessToken = newOAuthToken();
    const createdAtMs = this.clock.now();
    const held = this.view.tokensOf({ clientId });
    const evict = held.slice(0, Math.max(0, held.length - (MAX_TOKENS_PER_APP - 1))).map((t) => t.key);
    const revision = await this.facts.createToken(
      { clientId, tokenHash: hashToken(accessToken), record: { username: "", createdAtMs, scopes } },
      [{ key: this.keys.app(clientId), target: "createRevision", equals: app.revision }],
      evict,
    );
    if (revision === undefined) throw invalidClient();
    await this.freshness.reached(revision);
    return { accessToken, scopes, createdAtMs };
  }

  /**
   * Revokes one of the calling app's tokens (RFC 7009): OK for a token that names nothing;
   * unauthorized_client for another app's. A Flock session is never an app's to revoke.
   */
  async revokeToken(clientId: string, clientSecret: string, token: string): Promise<void> {
    await this.client(clientId, clientSecret);
    if (token.length > 200) return;
    const session = this.view.session(hashToken(token));
    if (!session?.oauth) return;
    if (session.oauth.clientId !== clientId)
      throw oauthError(status.PERMISSION_DENIED, "unauthorized_client", "the token belongs to another app");
    await this.freshness.reached(await this.facts.deleteKey(session.key));
  }

  /** The app a client id and secret authenticate, as of now; invalid_client otherwise. */
  private async client(clientId: string, clientSecret: string): Promise<App> {
    if (!CLIENT_ID.test(clientId) || !SECRET.test(clientSecret)) throw invalidClient();
    const [stored] = await Promise.all([this.facts.appSecretHash(clientId), this.freshness.fresh()]);
    const app = this.view.app(clientId);
    if (!app || stored === undefined || !sameHash(stored, hashToken(clientSecret))) throw invalidClient();
    return app;
  }
}

/** PKCE S256: base64url(sha256(verifier)), no padding. */
export function s256(verifier: string): string {
  return createHash("sha256").update(verifier, "ascii").digest("base64url");
}

function checkAppName(raw: string): string {
  const name = raw.trim();
  if (name === "") throw invalid("Validation failed: Application name can't be blank");
  if ([...name].length > MAX_APP_NAME || CONTROLS.test(name))
    throw invalid(`Validation failed: Application name is at most ${MAX_APP_NAME} characters of text`);
  return name;
}

function checkWebsite(raw: string): string {
  const website = raw.trim();
  if (website === "") return "";
  if (website.length > MAX_URI_LENGTH || !/^https?:$/.test(parseUrl(website)?.protocol ?? ""))
    throw invalid("Validation failed: Website must be an http(s) URL");
  return website;
}

/**
 * Redirect URIs: absolute, no fragment, not a script or data scheme; custom schemes (apps'
 * `myapp://callback`) and plain http (local clients) are allowed, as on Mastodon; or exactly
 * the out-of-band URN, which shows the code on a page.
 */
function checkRedirectUris(raw: readonly string[]): string[] {
  const uris = [...new Set(raw.map((u) => u.trim()).filter((u) => u !== ""))];
  if (uris.length === 0) throw invalid("Validation failed: Redirect URI can't be blank");
  if (uris.length > MAX_REDIRECT_URIS)
    throw invalid(`Validation failed: at most ${MAX_REDIRECT_URIS} redirect URIs`);
  for (const uri of uris) {
    if (uri === OOB_REDIRECT_URI) continue;
    const url = uri.length <= MAX_URI_LENGTH && !CONTROLS.test(uri) ? parseUrl(uri) : undefined;
    if (!url || uri.includes("#") || /^\s/.test(uri))
      throw invalid("Validation failed: Redirect URI must be an absolute URI without a fragment");
    if (["javascript:", "data:", "vbscript:", "file:", "blob:"].includes(url.protocol))
      throw invalid("Validation failed: Redirect URI uses a forbidden scheme");
  }
  return uris;
}

function checkScopes(raw: readonly string[], what: string): string[] {
  if (raw.length === 0) return ["read"];
  const scopes: string[] = [];
  for (const scope of raw) {
    if (!isScope(scope)) throw invalidScope(`${what}: unknown scope "${scope.slice(0, 40)}"`);
    if (!scopes.includes(scope)) scopes.push(scope);
  }
  return scopes;
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
