import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DEFAULT_ACCOUNTS_OPTIONS } from "../../src/services/accounts/service.js";
import { AccountRecord } from "../../src/gen/flock/storage/v1/records.js";
import { prefixEnd } from "../../src/storage/kv.js";
import { Keys } from "../../src/storage/keys.js";
import { HtmlClient } from "../fixtures/html-client.js";
import { assertUnchanged, send, snapshot, type Answer, type HostileRequest } from "./hostile.js";
import { encodeSegment, HOSTILE_NAMES } from "./payloads.js";
import { buildWorld, type World } from "./world.js";

const { maxFailuresPerAccount, maxFailuresPerAddress, failureWindowSeconds } = DEFAULT_ACCOUNTS_OPTIONS;
const JSON_TYPE = { "content-type": "application/json" };

/**
 * Authentication and authorization under attack: tokens that are forged, revoked, expired
 * or sent the wrong way; the login throttle (per account, per address, across replicas,
 * under parallel bursts); usernames that try to reach storage keys; and prototype keys.
 */
describe("hostile authentication", () => {
  let world: World;
  const started = performance.now();

  before(async () => {
    world = await buildWorld();
  });
  after(async () => {
    console.log(world.counter.summary("hostile authentication", started));
    await world.close();
  });

  const request = (r: HostileRequest, web = world.web()): Promise<Answer> =>
    send(web, r, world.agent, world.counter);

  const login = (username: string, password: string, address: string, web?: string) =>
    request(
      {
        method: "POST",
        path: "/api/v1/sessions",
        headers: { ...JSON_TYPE, "x-forwarded-for": address },
        body: JSON.stringify({ username, password }),
      },
      web,
    );

  it("never reads or writes with a missing, forged, revoked or expired token, or a session cookie", async () => {
    const before = await snapshot(world.flock);
    const v = world.victim.token;
    const credentials: [string, Record<string, string>][] = [
      ["missing", {}],
      ["forged", { authorization: `Bearer ${"A".repeat(43)}` }],
      ["garbage", { authorization: "Bearer ../../sess/x" }],
      ["revoked", { authorization: `Bearer ${world.revokedToken}` }],
      ["expired", { authorization: `Bearer ${world.expiredToken}` }],
      ["cookie", { cookie: `flock_session=${v}` }],
      ["query", {}],
    ];
    const calls: HostileRequest[] = [
      { method: "GET", path: "/api/v1/feed" },
      { method: "POST", path: "/api/v1/posts", headers: JSON_TYPE, body: '{"text":"forged"}' },
      { method: "PUT", path: "/api/v1/following/attacker" },
      { method: "DELETE", path: "/api/v1/following/friend" },
      { method: "DELETE", path: "/api/v1/sessions/current" },
    ];
    for (const [kind, headers] of credentials) {
      for (const call of calls) {
        for (const web of world.flock.webUrls) {
          const path = kind === "query" ? `${call.path}?token=${v}&access_token=${v}` : call.path;
          const answer = await request({ ...call, path, headers: { ...call.headers, ...headers } }, web);
          assert.equal(answer.status, 401, `${kind}: ${call.method} ${call.path}`);
          assert.deepEqual(Object.keys(JSON.parse(answer.text) as object), ["error"]);
          assert.ok(!answer.text.includes("friend"), "nothing of the victim's comes back");
        }
      }
    }
    assertUnchanged(await snapshot(world.flock), before);
    // The real session still works: none of the above touched it.
    assert.equal((await world.api.feed(v)).status, 200);
  });

  it("the HTML pages ignore the Authorization header (cookies only, behind CSRF)", async () => {
    const answer = await request({
      method: "GET",
      path: "/",
      headers: { authorization: `Bearer ${world.victim.token}` },
    });
    assert.equal(answer.status, 200);
    assert.match(answer.text, /action="\/login"/, "the logged-out landing page");
    assert.doesNotMatch(answer.text, /a post by the friend/);
  });

  it(`throttles an account after ${maxFailuresPerAccount} failures, across both web replicas`, async () => {
    const name = "throttled_one";
    const password = "the right password";
    await world.api.signup(name, password);
    const address = "198.51.100.7";
    const [a, b] = world.flock.webUrls as [string, string];
    for (let i = 0; i < maxFailuresPerAccount; i++) {
      const answer = await login(name, `wrong password ${i}`, address, i % 2 === 0 ? a : b);
      assert.equal(answer.status, 401, `failure ${i + 1}`);
    }
    for (const web of [a, b]) {
      const refused = await login(name, "yet another guess", address, web);
      assert.equal(refused.status, 429);
      assert.equal(refused.headers["retry-after"], String(failureWindowSeconds));
      assert.equal((JSON.parse(refused.text) as { error: { code: string } }).error.code, "rate_limited");
      // Even the right password, from another address, waits: the account is what is protected.
      const right = await login(name, password, "198.51.100.70", web);
      assert.equal(right.status, 429);
    }
    // The HTML form says the same, with Retry-After.
    const browser = new HtmlClient(b);
    await browser.get("/login");
    const form = await browser.postForm("/login", { username: name, password });
    assert.equal(form.status, 429);
    assert.equal(form.headers.get("retry-after"), String(failureWindowSeconds));
  });

  it(`throttles an address after ${maxFailuresPerAddress} failures over many accounts`, async () => {
    const address = "198.51.100.8";
    for (let i = 0; i < maxFailuresPerAddress; i++) {
      const answer = await login(`sprayed_${i % 25}`, "password guess", address);
      assert.equal(answer.status, 401, `failure ${i + 1}`);
    }
    await world.api.signup("fresh_target", "the right password");
    assert.equal((await login("fresh_target", "the right password", address)).status, 429);
    assert.equal((await login("fresh_target", "the right password", "198.51.100.9")).status, 201);
  });

  it("counts an IPv6 client by its /64, so rotating addresses inside it does not help", async () => {
    for (let i = 0; i < maxFailuresPerAddress; i++) {
      const answer = await login(
        `v6_spray_${i % 25}`,
        "password guess",
        `2001:db8:77:1::${(i + 1).toString(16)}`,
      );
      assert.equal(answer.status, 401);
    }
    await world.api.signup("v6_target", "the right password");
    assert.equal((await login("v6_target", "the right password", "2001:db8:77:1:ffff::1")).status, 429);
    assert.equal((await login("v6_target", "the right password", "2001:db8:77:2::1")).status, 201);
  });

  it("holds under a burst of parallel guesses at one account (checks queue, they do not race)", async () => {
    await world.api.signup("burst_target", "the right password");
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        login(
          "burst_target",
          `guess number ${i}`,
          `198.51.100.${100 + (i % 50)}`,
          world.flock.webUrls[i % 2],
        ),
      ),
    );
    const statuses = answers.map((a) => a.status);
    const failures = statuses.filter((s) => s === 401).length;
    assert.ok(
      statuses.every((s) => s === 401 || s === 429),
      statuses.join(","),
    );
    const backends = world.flock.backendAddrs.length;
    assert.ok(
      failures <= maxFailuresPerAccount + backends - 1,
      `${failures} guesses were checked; the limit is ${maxFailuresPerAccount} (+${backends - 1} in flight on other backends)`,
    );
  });

  it("gives the same answer for an unknown user and a wrong password", async () => {
    const address = "198.51.100.20";
    const wrong = await login("victim", "not the password", address);
    const unknown = await login("nobody_at_all", "not the password", address);
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(wrong.text, unknown.text);
  });

  it("keeps hostile usernames out of the store and out of storage keys", async () => {
    const before = await snapshot(world.flock);
    for (const name of HOSTILE_NAMES) {
      const body = JSON.stringify({ username: name, password: "correct horse battery" });
      const signup = await request({ method: "POST", path: "/api/v1/accounts", headers: JSON_TYPE, body });
      assert.equal(signup.status, 400, `signup ${JSON.stringify(name)}`);
      const session = await request({ method: "POST", path: "/api/v1/sessions", headers: JSON_TYPE, body });
      assert.equal(session.status, 400, `login ${JSON.stringify(name)}`);
      const follow = await request({
        method: "PUT",
        path: `/api/v1/following/${encodeSegment(name)}`,
        headers: { authorization: `Bearer ${world.attacker.token}` },
      });
      assert.ok([400, 404, 414].includes(follow.status), `follow ${JSON.stringify(name)}: ${follow.status}`);
      const profile = await request({ method: "GET", path: `/api/v1/users/${encodeSegment(name)}` });
      assert.ok(
        [400, 404, 414].includes(profile.status),
        `profile ${JSON.stringify(name)}: ${profile.status}`,
      );
    }
    assertUnchanged(await snapshot(world.flock), before);
    const keys = new Keys("flock/");
    const accounts = await world.flock.store.range({ key: keys.accounts, end: prefixEnd(keys.accounts) });
    for (const kv of accounts.kvs) {
      const stored = Keys.lastSegment(kv.key);
      assert.match(stored, /^[a-z0-9_]{3,32}$/);
      assert.equal(keys.account(stored), `flock/v2/a/acct/${stored}`);
      assert.equal(keys.follow(stored, stored).split("/").length, 6, "one key segment per username");
    }
  });

  it("treats prototype-named users like anyone else, and JSON keys do not pollute", async () => {
    const names = ["__proto__", "constructor", "prototype", "tostring", "hasownproperty", "valueof"];
    const tokens: string[] = [];
    for (const name of names) {
      const created = await request({
        method: "POST",
        path: "/api/v1/accounts",
        headers: JSON_TYPE,
        body: `{"username":"${name}","password":"correct horse battery","constructor":{"admin":true},"isAdmin":true}`,
      });
      assert.equal(created.status, 201, `${name}: ${created.text}`);
      assert.deepEqual(JSON.parse(created.text), { username: name });
      tokens.push((await world.api.login(name, "correct horse battery")).body.token);
    }
    const stored = await world.flock.store.range({ key: new Keys("flock/").account("constructor") });
    assert.deepEqual(Object.keys(AccountRecord.decode(stored.kvs[0]!.value)).sort(), [
      "bio",
      "createdAtMs",
      "displayName",
      "passwordHash",
      "username",
    ]);
    for (let i = 0; i < names.length; i++) {
      const next = names[(i + 1) % names.length]!;
      assert.equal((await world.api.follow(tokens[i]!, next)).status, 204);
      assert.equal((await world.api.post(tokens[i]!, `hello from ${names[i]}`)).status, 201);
    }
    for (let i = 0; i < names.length; i++) {
      const profile = await world.api.user(names[i]!);
      assert.deepEqual(profile.body, { username: names[i], followers: 1, following: 1, posts: 1 });
      const feed = await world.api.feed(tokens[i]!);
      const followed = names[(i + 1) % names.length]!;
      assert.deepEqual(
        feed.body.posts.map((p) => p.author),
        [followed],
      );
    }
    assert.equal(({} as Record<string, unknown>).admin, undefined);
    assert.equal(({} as Record<string, unknown>).isAdmin, undefined);
  });

  it("sends the security headers on every kind of answer", async () => {
    const answers: [string, Answer][] = [
      ["page", await request({ method: "GET", path: "/login" })],
      ["page 404", await request({ method: "GET", path: "/no/such/page" })],
      ["api", await request({ method: "GET", path: "/api/v1/users/victim" })],
      ["api 404", await request({ method: "GET", path: "/api/v1/users/nobody_here" })],
      ["api 400", await request({ method: "POST", path: "/api/v1/accounts", headers: JSON_TYPE, body: "{" })],
      ["bad url", await request({ method: "GET", path: "/u/%E0%A4%A" })],
      ["static", await request({ method: "GET", path: "/static/app.css" })],
    ];
    for (const [what, answer] of answers) {
      assert.equal(answer.headers["x-content-type-options"], "nosniff", what);
      assert.equal(answer.headers["access-control-allow-origin"], undefined, `${what}: no CORS`);
      assert.equal(answer.headers["x-powered-by"], undefined, what);
      if (what !== "static") assert.equal(answer.headers["cache-control"], "no-store", what);
      if (what.startsWith("page")) {
        const csp = String(answer.headers["content-security-policy"]);
        assert.match(csp, /default-src 'self'/, what);
        assert.match(csp, /script-src 'self'(;|$)/, what);
        assert.match(csp, /frame-ancestors 'none'/, what);
        assert.match(csp, /object-src 'none'/, what);
        assert.match(csp, /base-uri 'none'/, what);
        assert.match(csp, /form-action 'self'/, what);
        assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, what);
        assert.equal(answer.headers["referrer-policy"], "same-origin", what);
        assert.equal(answer.headers["x-frame-options"], "SAMEORIGIN", what);
      }
    }
    const browser = new HtmlClient(world.flock.webUrls[0]!);
    await browser.get("/login");
    const response = await browser.postForm("/login", {
      username: world.friend.name,
      password: world.friend.password,
    });
    const cookies = response.headers.getSetCookie();
    const session = cookies.find((c) => c.startsWith("flock_session="));
    assert.ok(session);
    assert.match(session, /; HttpOnly/i);
    assert.match(session, /; SameSite=Lax/i);
    assert.match(session, /; Path=\//i);
    const loginPage = await request({ method: "GET", path: "/login" });
    const csrfCookie = String(loginPage.headers["set-cookie"] ?? "");
    assert.match(csrfCookie, /_csrf=.*HttpOnly/i);
    assert.match(csrfCookie, /SameSite=Lax/i);
  });
});
