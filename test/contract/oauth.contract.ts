import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { Services } from "../../src/services/services.js";
import { backendOn, signUp, type StoreUnderTest } from "../fixtures/store-backends.js";

const REDIRECT = "https://client.example/callback";

/**
 * OAuth apps, codes and tokens as facts, run against each store (memory, etcd): a token issued
 * through one backend works through another at once, and stops there at once when it is
 * revoked or its app is deleted (one range delete, seen through the real watch); a code is
 * redeemed once whichever backend is asked; a backend loading a fresh snapshot holds the same
 * apps and tokens as one that followed the watch.
 */
export function oauthContract(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`OAuth contract: ${name}`, () => {
    let store: StoreUnderTest;
    let a: Services;
    let b: Services;

    beforeEach(async () => {
      store = await make();
      a = await backendOn(store);
      b = await backendOn(store);
    });
    afterEach(async () => {
      await a?.close();
      await b?.close();
      await store.cleanup();
    });

    const setup = async () => {
      const session = await signUp(a, "alice");
      const { app, clientSecret } = await a.oauth.createApp("contract", "", [REDIRECT], ["read", "write"]);
      const verifier = randomBytes(32).toString("base64url");
      const challenge = createHash("sha256").update(verifier).digest("base64url");
      const grant = () => b.oauth.authorize(session, app.clientId, REDIRECT, ["read"], challenge);
      return { session, app, clientSecret, verifier, grant };
    };

    it("authenticates a token on every backend at once, and stops it everywhere at once", async () => {
      const { app, clientSecret, verifier, grant } = await setup();
      const first = await a.oauth.exchangeCode(app.clientId, clientSecret, await grant(), REDIRECT, verifier);
      const second = await b.oauth.exchangeCode(
        app.clientId,
        clientSecret,
        await grant(),
        REDIRECT,
        verifier,
      );
      assert.equal((await b.accounts.identify(first.accessToken)).username, "alice");
      assert.equal((await a.accounts.identify(second.accessToken)).username, "alice");
      await b.oauth.revokeToken(app.clientId, clientSecret, first.accessToken);
      await assert.rejects(a.accounts.identify(first.accessToken));
      await a.oauth.deleteApp(app.clientId, clientSecret);
      await assert.rejects(b.accounts.identify(second.accessToken));
      assert.equal(b.model.accounts.app(app.clientId), undefined);
    });

    it("redeems a code once, whichever backend is asked", async () => {
      const { app, clientSecret, verifier, grant } = await setup();
      const code = await grant();
      const token = await a.oauth.exchangeCode(app.clientId, clientSecret, code, REDIRECT, verifier);
      await assert.rejects(b.oauth.exchangeCode(app.clientId, clientSecret, code, REDIRECT, verifier));
      await assert.rejects(a.accounts.identify(token.accessToken));
    });

    it("holds the same apps and tokens after a fresh snapshot as by following the watch", async () => {
      const { app, clientSecret, verifier, grant } = await setup();
      const kept = await a.oauth.exchangeCode(app.clientId, clientSecret, await grant(), REDIRECT, verifier);
      const gone = await a.oauth.exchangeCode(app.clientId, clientSecret, await grant(), REDIRECT, verifier);
      await a.oauth.revokeToken(app.clientId, clientSecret, gone.accessToken);
      const other = await a.oauth.createApp("other", "", [REDIRECT], ["read"]);
      await a.oauth.issueAppToken(other.app.clientId, other.clientSecret, []);
      await a.accounts.identify(kept.accessToken);
      const fresh = await backendOn(store);
      try {
        await fresh.accounts.identify(kept.accessToken);
        await b.accounts.identify(kept.accessToken);
        assert.deepEqual(fresh.model.accounts.digest(), b.model.accounts.digest());
      } finally {
        await fresh.close();
      }
    });
  });
}
