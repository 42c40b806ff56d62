import assert from "node:assert/strict";
import net from "node:net";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { buildWebApp } from "../../src/web/app.js";
import { createWebContext } from "../../src/web/context.js";
import { UNAVAILABLE_MESSAGE } from "../../src/web/http-errors.js";
import { ApiClient } from "../fixtures/api-client.js";
import { startInProcessFlock, type InProcessFlock } from "../fixtures/in-process-flock.js";

/**
 * Defects found by using the web tier from outside (issue 13): bodyless requests that carry a
 * JSON content type, and what a 503 tells the client.
 */
describe("web edges", () => {
  describe("a bodyless request with Content-Type: application/json behaves as without it", () => {
    let flock: InProcessFlock;
    let api: ApiClient;
    before(async () => {
      flock = await startInProcessFlock({ backends: 1, webs: 1 });
      api = new ApiClient(flock.webUrls[0]!);
    });
    after(() => flock.close());

    /** The same request with the header (no body, then an explicit empty one) and without it. */
    const threeWays = async (method: string, path: string, token?: string) => {
      const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      const send = (headers: Record<string, string>) =>
        fetch(`${flock.webUrls[0]}${path}`, { method, headers: { ...auth, ...headers } }).then(async (r) => ({
          status: r.status,
          body: await r.text(),
        }));
      return {
        withType: await send({ "content-type": "application/json" }),
        withTypeAndLength: await send({
          "content-type": "application/json; charset=utf-8",
          "content-length": "0",
        }),
        without: await send({}),
      };
    };

    it("PUT and DELETE /api/v1/following/:username", async () => {
      const token = await api.newUser("edge_a");
      await api.newUser("edge_b");
      const put = await threeWays("PUT", "/api/v1/following/edge_b", token);
      assert.deepEqual(put.withType, { status: 204, body: "" });
      assert.deepEqual(put.withTypeAndLength, put.without);
      assert.equal((await api.user("edge_b")).body.followers, 1);
      const del = await threeWays("DELETE", "/api/v1/following/edge_b", token);
      assert.deepEqual(del.withType, { status: 204, body: "" });
      assert.deepEqual(del.withTypeAndLength, del.without);
      assert.equal((await api.user("edge_b")).body.followers, 0);
    });

    it("DELETE /api/v1/sessions/current", async () => {
      for (const header of [{ "content-type": "application/json" }, {}]) {
        const token = await api.login("edge_a", "correct horse battery").then((r) => r.body.token);
        const answer = await fetch(`${flock.webUrls[0]}/api/v1/sessions/current`, {
          method: "DELETE",
          headers: { authorization: `Bearer ${token}`, ...header },
        });
        assert.equal(answer.status, 204, JSON.stringify(header));
        assert.equal((await api.feed(token)).status, 401, "the session ended");
      }
    });

    it("calls that need a body get the same 400 either way, and malformed JSON is still refused", async () => {
      const token = await api.login("edge_a", "correct horse battery").then((r) => r.body.token);
      const post = await threeWays("POST", "/api/v1/posts", token);
      assert.equal(post.without.status, 400);
      assert.deepEqual(post.withType, post.without);
      const malformed = await fetch(`${flock.webUrls[0]}/api/v1/posts`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: "{",
      });
      assert.equal(malformed.status, 400);
      const proto = await fetch(`${flock.webUrls[0]}/api/v1/posts`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: '{"text":"x","__proto__":{"admin":true}}',
      });
      assert.equal(proto.status, 400);
    });
  });

  describe("a 503 says a fixed message; the detail goes to the log with the request id", () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino(
      { level: "info" },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString("utf8").split("\n")) if (line) lines.push(JSON.parse(line));
          done();
        },
      }),
    );
    /** A "backend" that accepts connections and never says a word: every call hits its deadline. */
    let mute: net.Server;
    let web: Awaited<ReturnType<typeof buildWebApp>>;
    let close: () => Promise<void>;
    let url: string;
    before(async () => {
      const sockets = new Set<net.Socket>();
      mute = net.createServer((socket) => {
        sockets.add(socket);
        socket.on("error", () => undefined);
      });
      await new Promise<void>((resolve) => mute.listen(0, "127.0.0.1", resolve));
      const { port } = mute.address() as net.AddressInfo;
      const ctx = createWebContext({
        backendAddrs: [`127.0.0.1:${port}`],
        grpcTimeoutMs: 300,
        log,
        cookieSecure: false,
      });
      web = await buildWebApp(ctx);
      url = await web.listen({ host: "127.0.0.1", port: 0 });
      close = async () => {
        await web.close();
        ctx.backend.close();
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => mute.close(resolve));
      };
    });
    after(() => close());

    it("JSON API: 503, Retry-After, the fixed message; the deadline's words only in the log", async () => {
      const requestId = "edge-503-request-0001";
      const response = await fetch(`${url}/api/v1/users/somebody`, {
        headers: { "x-request-id": requestId },
      });
      assert.equal(response.status, 503);
      assert.ok(Number(response.headers.get("retry-after")) > 0, "Retry-After");
      const text = await response.text();
      assert.deepEqual(JSON.parse(text), { error: { code: "unavailable", message: UNAVAILABLE_MESSAGE } });
      assert.doesNotMatch(text, /deadline|remote_addr|127\.0\.0\.1|\d\.\d+s/i);

      const logged = lines.find((l) => l.reqId === requestId && typeof l.detail === "string");
      assert.ok(logged, `a log line with the request id and the detail: ${JSON.stringify(lines.slice(-5))}`);
      assert.match(String(logged.detail), /deadline/i);
    });

    it("HTML pages: the error page shows the fixed message only", async () => {
      const response = await fetch(`${url}/u/somebody`);
      assert.equal(response.status, 503);
      const html = await response.text();
      assert.ok(html.includes("please try again in a moment"), html.slice(0, 500));
      assert.doesNotMatch(html, /deadline|remote_addr|127\.0\.0\.1:\d+/i);
    });
  });
});
