import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Fastify from "fastify";
import { registerSecurityHeaders } from "./security-headers.js";

const CSP =
  "default-src 'self';script-src 'self';style-src 'self';img-src 'self' data:;form-action 'self';" +
  "frame-ancestors 'none';base-uri 'none';object-src 'none'";

async function appWith(overTls: boolean) {
  const app = Fastify();
  registerSecurityHeaders(app, overTls);
  app.get("/ok", async () => ({ ok: true }));
  app.get("/boom", async () => {
    throw new Error("boom");
  });
  await app.ready();
  return app;
}

describe("registerSecurityHeaders", () => {
  it("sets the same headers on every answer: found, not found and failed", async () => {
    const app = await appWith(false);
    try {
      for (const url of ["/ok", "/ok", "/nope", "/boom"]) {
        const answer = await app.inject({ url });
        assert.equal(answer.headers["content-security-policy"], CSP, url);
        assert.equal(answer.headers["x-content-type-options"], "nosniff", url);
        assert.equal(answer.headers["x-frame-options"], "SAMEORIGIN", url);
        assert.equal(answer.headers["referrer-policy"], "same-origin", url);
        assert.equal(answer.headers["cross-origin-opener-policy"], "same-origin", url);
        assert.equal(answer.headers["x-powered-by"], undefined, url);
        assert.equal(answer.headers["strict-transport-security"], undefined, url);
      }
    } finally {
      await app.close();
    }
  });

  it("asks browsers for HTTPS only when served over TLS", async () => {
    const app = await appWith(true);
    try {
      const answer = await app.inject({ url: "/ok" });
      assert.equal(answer.statusCode, 200);
      assert.match(String(answer.headers["strict-transport-security"]), /^max-age=\d+; includeSubDomains$/);
    } finally {
      await app.close();
    }
  });
});
