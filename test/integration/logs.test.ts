import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePorts } from "../../src/launcher/etcd-cluster.js";
import { Stack } from "../../src/launcher/stack.js";
import { ApiClient } from "../fixtures/api-client.js";
import { HtmlClient } from "../fixtures/html-client.js";

/**
 * Structured logs as the real processes write them (front door, web, backend, each its own
 * process, LOG_LEVEL=trace): the request id travels from the web into the backend's lines,
 * and no password, token or cookie value appears anywhere.
 */
describe("logs: request ids travel, secrets never appear", { timeout: 60_000 }, () => {
  let dir: string;
  let stack: Stack | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "flock-logs-"));
    const [front, web, backend] = await freePorts(3);
    stack = new Stack({
      storage: "memory",
      dataDir: dir,
      frontPort: front!,
      webPorts: [web!],
      backendPorts: [backend!],
      env: { SCRYPT_LOG_N: "10", LOG_LEVEL: "trace", DRAIN_MS: "0" },
    });
    await stack.start();
  });

  after(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("a signup/login/post/logout flow (API and HTML forms) logs ids and no secrets", async () => {
    const api = new ApiClient(stack!.frontUrl);
    const apiPassword = "api-Secret-Passw0rd-4417";
    assert.equal((await api.signup("logapiuser", apiPassword)).status, 201);
    const login = await api.login("logapiuser", apiPassword);
    assert.equal(login.status, 201);
    const token = login.body.token;
    const requestId = "logtest-request-0001";
    const posted = await api.request("POST", "/api/v1/posts", {
      token,
      json: { text: "hello from the log test" },
      headers: { "x-request-id": requestId },
    });
    assert.equal(posted.status, 201);
    assert.equal((await api.feed(token)).status, 200);
    assert.equal((await api.login("logapiuser", "wrong-Passw0rd-9931")).status, 401);
    assert.equal((await api.logout(token)).status, 204);

    const browser = new HtmlClient(stack!.frontUrl);
    const formPassword = "form-Secret-Passw0rd-8823";
    await browser.get("/signup");
    assert.equal(
      (await browser.postForm("/signup", { username: "logformuser", password: formPassword })).status,
      303,
    );
    const sessionCookie = browser.cookie("flock_session");
    const csrfCookie = browser.cookie("_csrf");
    assert.ok(sessionCookie && sessionCookie.length >= 16, "a session cookie was set");
    await browser.get("/");
    assert.equal((await browser.postForm("/posts", { text: "a form post" })).status, 303);
    await browser.get("/");
    assert.equal((await browser.postForm("/logout", {})).status, 303);
    await browser.get("/login");
    assert.equal(
      (await browser.postForm("/login", { username: "logformuser", password: formPassword })).status,
      303,
    );
    const secondSession = browser.cookie("flock_session");

    // Stopping flushes every log; then read them all.
    await stack!.stop();
    const logDir = join(dir, "logs");
    const files = await readdir(logDir);
    const logs = Object.fromEntries(
      await Promise.all(files.map(async (f) => [f, await readFile(join(logDir, f), "utf8")] as const)),
    );
    const all = Object.values(logs).join("\n");
    assert.ok(all.length > 1000, "trace-level logs were written");

    const secrets: [string, string | undefined][] = [
      ["API password", apiPassword],
      ["wrong password", "wrong-Passw0rd-9931"],
      ["form password", formPassword],
      ["API token", token],
      ["session cookie", sessionCookie],
      ["second session cookie", secondSession],
      ["CSRF cookie", csrfCookie],
    ];
    for (const [what, secret] of secrets) {
      if (!secret) continue;
      for (const [file, text] of Object.entries(logs)) {
        assert.ok(!text.includes(secret), `${what} appears in ${file}`);
        assert.ok(!text.includes(encodeURIComponent(secret)), `${what} (url-encoded) appears in ${file}`);
      }
    }

    // Every line is JSON; the web's request id shows up on the backend's line for that call.
    const backendLines = logs["backend-1.log"]!.trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const call = backendLines.find((l) => l.requestId === requestId && l.rpc === "PostsService/CreatePost");
    assert.ok(call, "the backend logged CreatePost with the web's request id");
    assert.equal(call.code, "OK");
    assert.equal(typeof call.ms, "number");
    const webLines = logs["web-1.log"]!.trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(
      webLines.some((l) => l.reqId === requestId),
      "the web logged the same request id",
    );
  });
});
