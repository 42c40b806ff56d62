import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import { status } from "@grpc/grpc-js";
import { FakeClock } from "../../../test/fixtures/fake-clock.js";
import { KEYS, memoryServicesFor, signUp, storedKeys } from "../../../test/fixtures/memory-services.js";
import { FlockError } from "../../shared/errors.js";
import { text } from "../../storage/kv.js";
import { CODE_TTL_SECONDS, OOB_REDIRECT_URI, s256 } from "./oauth.js";

const REDIRECT = "https://app.example/callback";

async function setup(t: TestContext) {
  const clock = new FakeClock();
  const s = await memoryServicesFor(t, { clock });
  const session = await signUp(s, "alice");
  const { app, clientSecret } = await s.oauth.createApp(
    "Test app",
    "",
    [REDIRECT, OOB_REDIRECT_URI],
    ["read", "write", "follow"],
  );
  const verifier = randomBytes(32).toString("base64url");
  const grant = (scopes = ["read", "write"], challenge = s256(verifier), redirect = REDIRECT) =>
    s.oauth.authorize(session, app.clientId, redirect, scopes, challenge);
  const exchange = (code: string, v = verifier, redirect = REDIRECT, secret = clientSecret) =>
    s.oauth.exchangeCode(app.clientId, secret, code, redirect, v);
  return { ...s, clock, session, app, clientSecret, verifier, grant, exchange };
}

const oauthError = (code: status, error: string) => (err: unknown) => {
  assert.ok(err instanceof FlockError, `expected a FlockError, got ${String(err)}`);
  assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code]}: ${err.message}`);
  assert.ok(err.message.startsWith(`${error}:`), `expected ${error}, got ${err.message}`);
  return true;
};
const INVALID_GRANT = oauthError(status.FAILED_PRECONDITION, "invalid_grant");
const INVALID_CLIENT = oauthError(status.UNAUTHENTICATED, "invalid_client");
const DENIED = (err: unknown) => err instanceof FlockError && err.code === status.PERMISSION_DENIED;

describe("OAuthService", () => {
  it("registers an app with its secret stored only as a hash, outside the views' range", async (t) => {
    const { app, clientSecret, kv } = await setup(t);
    assert.match(app.clientId, /^[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(app.scopes, ["read", "write", "follow"]);
    const stored = await storedKeys(kv);
    assert.ok(!stored.some((e) => text(e.value).includes(clientSecret) || e.key.includes(clientSecret)));
    const secret = stored.find((e) => e.key === KEYS.appSecret(app.clientId));
    assert.ok(secret && secret.key < KEYS.watched.key, "the secret's hash lies outside the watched range");
  });

  it("refuses bad redirect URIs and unknown scopes when registering", async (t) => {
    const { oauth } = await setup(t);
    for (const uris of [
      [],
      ["relative/path"],
      ["javascript:alert(1)"],
      ["https://a.example/#frag"],
      ["data:text/html,x"],
    ]) {
      await assert.rejects(oauth.createApp("x", "", uris, ["read"]), `${JSON.stringify(uris)} accepted`);
    }
    await assert.rejects(oauth.createApp("x", "", [REDIRECT], ["read", "admin:write"]));
    await assert.rejects(oauth.createApp("", "", [REDIRECT], ["read"]));
  });

  it("exchanges a code with PKCE for a token that acts within its scopes, once", async (t) => {
    const { grant, exchange, accounts, posts } = await setup(t);
    const code = await grant(["read", "write:statuses"]);
    const token = await exchange(code);
    assert.match(token.accessToken, /^flock_at_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(token.scopes, ["read", "write:statuses"]);
    const identity = await accounts.identify(token.accessToken);
    assert.equal(identity.username, "alice");
    assert.equal(identity.kind, "oauth");

    const post = await posts.createPost(token.accessToken, "hello from an app");
    assert.equal(post.author, "alice");
    await posts.getFeed(token.accessToken, 10, "");
    // write:favourites is not granted: liking is refused, and nothing is written.
    await assert.rejects(posts.like(token.accessToken, post.id), DENIED);
    // A call that names no scope (the Flock-only ones) takes no OAuth token at all.
    await assert.rejects(accounts.authenticate(token.accessToken), DENIED);

    await assert.rejects(exchange(code), INVALID_GRANT);
    // The second use revoked the token the first one gave.
    await assert.rejects(
      accounts.identify(token.accessToken),
      (err) => err instanceof FlockError && err.code === status.UNAUTHENTICATED,
    );
  });

  it("refuses wrong verifiers, redirect URIs, secrets, expired codes and other apps' codes, issuing nothing", async (t) => {
    const s = await setup(t);
    const tokensBefore = (await storedKeys(s.kv, KEYS.tokens)).length;

    await assert.rejects(s.exchange(await s.grant(), "x".repeat(43)), INVALID_GRANT);
    await assert.rejects(s.exchange(await s.grant(), ""), INVALID_GRANT);
    await assert.rejects(
      s.exchange(await s.grant(), s.verifier, "https://evil.example/callback"),
      INVALID_GRANT,
    );
    await assert.rejects(s.exchange(await s.grant(), s.verifier, REDIRECT, "y".repeat(43)), INVALID_CLIENT);
    // A verifier for a code that was granted without a challenge (a PKCE downgrade).
    await assert.rejects(s.exchange(await s.grant(["read"], ""), s.verifier), INVALID_GRANT);
    const late = await s.grant();
    s.clock.advance(CODE_TTL_SECONDS * 1000 + 1);
    await assert.rejects(s.exchange(late), INVALID_GRANT);

    const other = await s.oauth.createApp("Other", "", [REDIRECT], ["read"]);
    const theirs = await s.grant();
    await assert.rejects(
      s.oauth.exchangeCode(other.app.clientId, other.clientSecret, theirs, REDIRECT, s.verifier),
      INVALID_GRANT,
    );
    assert.equal((await storedKeys(s.kv, KEYS.tokens)).length, tokensBefore, "a token was issued");
  });

  it("refuses to authorize scopes beyond the app's, unregistered redirects, or with an OAuth token", async (t) => {
    const { grant, exchange, oauth, app } = await setup(t);
    await assert.rejects(grant(["read", "push"]), oauthError(status.INVALID_ARGUMENT, "invalid_scope"));
    await assert.rejects(
      grant(["read"], "", "https://evil.example/"),
      oauthError(status.INVALID_ARGUMENT, "invalid_request"),
    );
    const token = await exchange(await grant());
    await assert.rejects(oauth.authorize(token.accessToken, app.clientId, REDIRECT, ["read"], ""), DENIED);
  });

  it("revokes tokens one by one, and all of an app's when it is deleted", async (t) => {
    const { grant, exchange, oauth, app, clientSecret, accounts, kv } = await setup(t);
    const first = await exchange(await grant());
    const second = await exchange(await grant());
    const other = await oauth.createApp("Other", "", [REDIRECT], ["read"]);
    await assert.rejects(
      oauth.revokeToken(other.app.clientId, other.clientSecret, first.accessToken),
      oauthError(status.PERMISSION_DENIED, "unauthorized_client"),
    );
    await oauth.revokeToken(app.clientId, clientSecret, first.accessToken);
    await oauth.revokeToken(app.clientId, clientSecret, first.accessToken);
    await assert.rejects(accounts.identify(first.accessToken));
    assert.equal((await accounts.identify(second.accessToken)).username, "alice");

    const appToken = await oauth.issueAppToken(app.clientId, clientSecret, []);
    assert.equal((await accounts.identify(appToken.accessToken)).kind, "app");
    await oauth.deleteApp(app.clientId, clientSecret);
    await assert.rejects(accounts.identify(second.accessToken));
    await assert.rejects(accounts.identify(appToken.accessToken));
    assert.deepEqual(await storedKeys(kv, KEYS.tokensOf(app.clientId)), []);
    await assert.rejects(oauth.issueAppToken(app.clientId, clientSecret, []), INVALID_CLIENT);
  });

  it("sees a token issued on one backend at once on another, and its revocation too", async (t) => {
    const s = await setup(t);
    const other = await s.another();
    const token = await s.exchange(await s.grant());
    assert.equal((await other.accounts.identify(token.accessToken)).username, "alice");
    await s.oauth.revokeToken(s.app.clientId, s.clientSecret, token.accessToken);
    await assert.rejects(other.accounts.identify(token.accessToken));
  });
});
