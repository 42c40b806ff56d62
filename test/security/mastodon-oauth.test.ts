import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { AuthorizationCodeRecord } from "../../src/gen/flock/storage/v1/records.js";
import { put } from "../../src/storage/kv.js";
import { Keys } from "../../src/storage/keys.js";
import { HtmlClient } from "../fixtures/html-client.js";
import { startInProcessFlock, type InProcessFlock } from "../fixtures/in-process-flock.js";
import { authorizeInBrowser, hiddenFields, pkce, REDIRECT_URI, signUpFlock } from "../fixtures/mastodon.js";
import { assertUnchanged, snapshot } from "./hostile.js";

const KEYS = new Keys("flock/");

interface App {
  client_id: string;
  client_secret: string;
}

/**
 * Hostile input for the OAuth endpoints: redirect URIs that differ from the registered one,
 * reused and expired codes, wrong PKCE verifiers, another app's codes, scope escalation, bad
 * client secrets, forged forms, the password grant, tokens of a deleted app. Each is refused,
 * and the store shows that nothing was issued.
 */
describe("OAuth endpoints under hostile input", () => {
  let flock: InProcessFlock;
  let web: string;
  let other: string;
  let app: App;
  let otherApp: App;
  let browser: HtmlClient;

  const json = async (path: string, body: unknown, base = web, headers: Record<string, string> = {}) => {
    const response = await fetch(base + path, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const register = async (scopes: string) =>
    (await json("/api/v1/apps", { client_name: "hostile test", redirect_uris: REDIRECT_URI, scopes }))
      .body as unknown as App;
  const code = (forApp: App, scope: string, challenge?: string) =>
    authorizeInBrowser(web, {
      clientId: forApp.client_id,
      scope,
      username: "alice",
      codeChallenge: challenge,
      browser,
    });
  const exchange = (forApp: App, theCode: string, extra: Record<string, string> = {}, base = web) =>
    json(
      "/oauth/token",
      {
        grant_type: "authorization_code",
        client_id: forApp.client_id,
        client_secret: forApp.client_secret,
        code: theCode,
        redirect_uri: REDIRECT_URI,
        ...extra,
      },
      base,
    );
  const whoAmI = async (token: string, base = web) =>
    (
      await fetch(`${base}/api/v1/accounts/verify_credentials`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).status;

  /** Runs `act` and checks that the store did not change. */
  const refusedAndNothingStored = async (act: () => Promise<void>) => {
    const before = await snapshot(flock);
    await act();
    assertUnchanged(await snapshot(flock), before);
  };

  before(async () => {
    flock = await startInProcessFlock({ backends: 2, webs: 2 });
    [web, other] = flock.webUrls as [string, string];
    await signUpFlock(web, "alice");
    app = await register("read write");
    otherApp = await register("read write follow");
    browser = new HtmlClient(web);
    await code(app, "read"); // logs the browser in
  });
  after(() => flock.close());

  it("shows an error page, and never redirects, for a redirect URI the app did not register", async () => {
    for (const redirect of [
      "https://evil.example/callback",
      `${REDIRECT_URI}/more`,
      `${REDIRECT_URI}?next=https://evil.example`,
      REDIRECT_URI.replace("https", "http"),
      `${REDIRECT_URI}#x`,
      "javascript:alert(1)",
    ]) {
      await refusedAndNothingStored(async () => {
        const query = new URLSearchParams({
          response_type: "code",
          client_id: app.client_id,
          redirect_uri: redirect,
        });
        const page = await browser.get(`/oauth/authorize?${query.toString()}`);
        assert.equal(page.status, 400, redirect);
        assert.equal(page.headers.get("location"), null);
      });
    }
    // The consent form's hidden redirect_uri changed by hand: refused on the POST too.
    await browser.get(
      `/oauth/authorize?${new URLSearchParams({ response_type: "code", client_id: app.client_id, redirect_uri: REDIRECT_URI })}`,
    );
    const fields = hiddenFields(browser.lastHtml, "/oauth/authorize");
    await refusedAndNothingStored(async () => {
      const answer = await browser.postForm("/oauth/authorize", {
        ...fields,
        redirect_uri: "https://evil.example/callback",
        decision: "approve",
      });
      assert.equal(answer.status, 400);
      assert.equal(answer.headers.get("location"), null);
    });
  });

  it("refuses a code exchanged with another redirect URI, verifier, client or secret", async () => {
    const { verifier, challenge } = pkce();
    const theCode = await code(app, "read", challenge);
    await refusedAndNothingStored(async () => {
      for (const [extra, error, status] of [
        [{ redirect_uri: "https://evil.example/callback" }, "invalid_grant", 400],
        [{ code_verifier: pkce().verifier }, "invalid_grant", 400],
        [{}, "invalid_grant", 400],
        [{ code_verifier: "short" }, "invalid_grant", 400],
        [{ code_verifier: verifier, client_secret: "x".repeat(43) }, "invalid_client", 401],
        [{ code_verifier: verifier, client_id: "AAAAAAAAAAAAAAAAAAAAAA" }, "invalid_client", 401],
      ] as const) {
        const answer = await exchange(app, theCode, extra);
        assert.equal(answer.status, status, JSON.stringify(extra));
        assert.equal(answer.body.error, error, JSON.stringify(extra));
        assert.equal(answer.body.access_token, undefined);
      }
      const theirs = await exchange(otherApp, theCode, { code_verifier: verifier });
      assert.equal(theirs.body.error, "invalid_grant");
    });
    // The right verifier still works (the refusals used nothing up)...
    const token = await exchange(app, theCode, { code_verifier: verifier });
    assert.equal(token.status, 200);
    assert.equal(await whoAmI(String(token.body.access_token), other), 200);
  });

  it("refuses a code used twice, and revokes the token its first use gave", async () => {
    const theCode = await code(app, "read");
    const first = await exchange(app, theCode);
    assert.equal(first.status, 200);
    const before = await snapshot(flock);
    const second = await exchange(app, theCode, {}, other);
    assert.equal(second.status, 400);
    assert.equal(second.body.error, "invalid_grant");
    assert.equal(await whoAmI(String(first.body.access_token)), 401);
    // Nothing new: only the first token is gone.
    const now = await snapshot(flock);
    const added = Object.keys(now.facts).filter((k) => !(k in before.facts));
    assert.deepEqual(added, []);
  });

  it("refuses an expired code", async () => {
    // What a code looks like after its ten minutes (its lease outlives it by up to a minute).
    const expired = "e".repeat(43);
    const hash = createHash("sha256").update(expired).digest("base64url");
    await flock.store.txn({
      success: [
        put(
          KEYS.authorizationCode(hash),
          AuthorizationCodeRecord.encode({
            clientId: app.client_id,
            username: "alice",
            redirectUri: REDIRECT_URI,
            scopes: ["read"],
            codeChallenge: "",
            expiresAtMs: Date.now() - 1000,
            tokenHash: "",
          }).finish(),
        ),
      ],
    });
    await refusedAndNothingStored(async () => {
      const answer = await exchange(app, expired);
      assert.equal(answer.status, 400);
      assert.equal(answer.body.error, "invalid_grant");
    });
  });

  it("refuses scopes beyond the app's, at every step", async () => {
    await refusedAndNothingStored(async () => {
      const query = new URLSearchParams({
        response_type: "code",
        client_id: app.client_id,
        redirect_uri: REDIRECT_URI,
        scope: "read write follow",
        state: "s1",
      });
      const page = await browser.get(`/oauth/authorize?${query.toString()}`);
      assert.equal(page.status, 303);
      const location = new URL(page.headers.get("location")!);
      assert.equal(location.searchParams.get("error"), "invalid_scope");
      assert.equal(location.searchParams.get("state"), "s1");
      assert.equal(location.searchParams.get("code"), null);

      await browser.get(
        `/oauth/authorize?${new URLSearchParams({ response_type: "code", client_id: app.client_id, redirect_uri: REDIRECT_URI, scope: "read" })}`,
      );
      const fields = hiddenFields(browser.lastHtml, "/oauth/authorize");
      for (const scope of ["read write follow", "admin:read", "push"]) {
        const answer = await browser.postForm("/oauth/authorize", { ...fields, scope, decision: "approve" });
        assert.equal(answer.status, 303);
        assert.equal(new URL(answer.headers.get("location")!).searchParams.get("error"), "invalid_scope");
      }
      const appToken = await json("/oauth/token", {
        grant_type: "client_credentials",
        client_id: app.client_id,
        client_secret: app.client_secret,
        scope: "read follow",
      });
      assert.equal(appToken.status, 400);
      assert.equal(appToken.body.error, "invalid_scope");
    });
    // A code is good for the scopes granted, whatever the exchange asks for.
    const granted = await exchange(app, await code(app, "read"), { scope: "read write" });
    assert.equal(granted.body.scope, "read");
    const token = String(granted.body.access_token);
    await refusedAndNothingStored(async () => {
      const post = await json("/api/v1/statuses", { status: "not allowed" }, web, {
        authorization: `Bearer ${token}`,
      });
      assert.equal(post.status, 403);
      // Flock's own API holds the same scopes.
      const own = await json("/api/v1/posts", { text: "not allowed" }, other, {
        authorization: `Bearer ${token}`,
      });
      assert.equal(own.status, 403);
    });
  });

  it("refuses forged forms, the password grant and unknown grants", async () => {
    await refusedAndNothingStored(async () => {
      await browser.get(
        `/oauth/authorize?${new URLSearchParams({ response_type: "code", client_id: app.client_id, redirect_uri: REDIRECT_URI })}`,
      );
      const fields = hiddenFields(browser.lastHtml, "/oauth/authorize");
      const forged = await browser.postForm("/oauth/authorize", {
        ...fields,
        _csrf: "forged",
        decision: "approve",
      });
      assert.equal(forged.status, 403);
      const stranger = new HtmlClient(web);
      const noSession = await stranger.postForm(
        "/oauth/authorize",
        { ...fields, decision: "approve" },
        false,
      );
      assert.equal(noSession.status, 403);
      for (const grant_type of ["password", "refresh_token", "implicit", ""]) {
        const answer = await json("/oauth/token", {
          grant_type,
          client_id: app.client_id,
          client_secret: app.client_secret,
          username: "alice",
          password: "password123",
        });
        assert.equal(answer.status, 400, grant_type);
        assert.ok(["unsupported_grant_type", "invalid_request"].includes(String(answer.body.error)));
      }
    });
  });

  it("stops every token of a deleted app at once, and issues it nothing more", async () => {
    const doomed = await register("read write");
    const token = String((await exchange(doomed, await code(doomed, "read"))).body.access_token);
    const pending = await code(doomed, "read");
    assert.equal(await whoAmI(token, other), 200);
    const deleted = await fetch(`${web}/api/v1/apps`, {
      method: "DELETE",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_id: doomed.client_id, client_secret: doomed.client_secret }),
    });
    assert.equal(deleted.status, 200);
    assert.equal(await whoAmI(token, web), 401);
    assert.equal(await whoAmI(token, other), 401);
    await refusedAndNothingStored(async () => {
      const late = await exchange(doomed, pending);
      assert.equal(late.status, 401);
      assert.equal(late.body.error, "invalid_client");
      const appToken = await json("/oauth/token", {
        grant_type: "client_credentials",
        client_id: doomed.client_id,
        client_secret: doomed.client_secret,
      });
      assert.equal(appToken.status, 401);
      const page = await browser.get(
        `/oauth/authorize?${new URLSearchParams({ response_type: "code", client_id: doomed.client_id, redirect_uri: REDIRECT_URI })}`,
      );
      assert.equal(page.status, 400);
    });
  });

  it("lets an app revoke only its own tokens", async () => {
    const token = String((await exchange(app, await code(app, "read"))).body.access_token);
    await refusedAndNothingStored(async () => {
      const theirs = await json("/oauth/revoke", {
        client_id: otherApp.client_id,
        client_secret: otherApp.client_secret,
        token,
      });
      assert.equal(theirs.status, 403);
      assert.equal(theirs.body.error, "unauthorized_client");
      const wrongSecret = await json("/oauth/revoke", {
        client_id: app.client_id,
        client_secret: "y".repeat(43),
        token,
      });
      assert.equal(wrongSecret.status, 401);
    });
    assert.equal(await whoAmI(token), 200);
    const mine = await json("/oauth/revoke", {
      client_id: app.client_id,
      client_secret: app.client_secret,
      token,
    });
    assert.deepEqual(mine, { status: 200, body: {} });
    assert.equal(await whoAmI(token, other), 401);
  });
});
