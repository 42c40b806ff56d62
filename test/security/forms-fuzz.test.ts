import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { HtmlClient } from "../fixtures/html-client.js";
import {
  assertUnchanged,
  describeRequest,
  inParallel,
  send,
  snapshot,
  type HostileRequest,
  type StoreSnapshot,
} from "./hostile.js";
import {
  encodeSegment,
  FORBIDDEN_CHARS,
  forgedToken,
  hostileString,
  invalidUsername,
  PROTO_KEYS,
  XSS_PAYLOADS,
} from "./payloads.js";
import { buildWorld, type World } from "./world.js";

interface Case {
  request: HostileRequest;
  allowed: readonly number[];
  /** Strings that must not appear raw in the answer (markup the request carried). */
  mustNotReflect?: readonly string[];
  /** How the case was made, for the failure message. */
  note?: string;
}

const RUNS = 120;
const BATCH = 10;
const FORM = "application/x-www-form-urlencoded";

/** A urlencoded form body, every byte of every value %-escaped as a browser would. */
function formBody(fields: readonly (readonly [string, string])[]): string {
  return fields.map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(v)}`).join("&");
}

/** Well-formed UTF-8 can't carry a lone surrogate: a browser sends U+FFFD instead, which is valid text. */
const sendable = (s: string) => !/\p{Surrogate}/u.test(s);

/**
 * The HTML forms under attack: cross-site posts without (or with someone else's) CSRF token
 * carrying a logged-in victim's cookies, logged-out posts, bad input with a valid token, and
 * hostile paths and queries on every page. Nothing may be stored or revoked, no answer may
 * be a 5xx or reflect markup, and every page carries the CSP.
 */
describe("hostile HTML forms", () => {
  let world: World;
  let baseline: StoreSnapshot;
  let victimBrowser: HtmlClient;
  let attackerBrowser: HtmlClient;
  let anonymous: HtmlClient;
  const started = performance.now();

  before(async () => {
    world = await buildWorld();
    victimBrowser = new HtmlClient(world.flock.webUrls[0]!);
    await victimBrowser.get("/login");
    const login = await victimBrowser.postForm("/login", {
      username: world.victim.name,
      password: world.victim.password,
    });
    assert.equal(login.status, 303);
    await victimBrowser.get("/");
    attackerBrowser = new HtmlClient(world.flock.webUrls[1]!);
    await attackerBrowser.get("/login");
    await attackerBrowser.postForm("/login", {
      username: world.attacker.name,
      password: world.attacker.password,
    });
    await attackerBrowser.get("/");
    anonymous = new HtmlClient(world.flock.webUrls[0]!);
    await anonymous.get("/login");
    baseline = await snapshot(world.flock);
  });
  after(async () => {
    console.log(world.counter.summary("hostile HTML forms", started));
    await world.close();
  });

  const cookies = (browser: HtmlClient, names = ["flock_session", "_csrf"]) =>
    names
      .map((n) => [n, browser.cookie(n)] as const)
      .filter(([, v]) => v !== undefined)
      .map(([n, v]) => `${n}=${v}`)
      .join("; ");

  async function check(cases: readonly Case[]): Promise<void> {
    await inParallel(cases, BATCH, async ({ request, allowed, mustNotReflect, note }) => {
      const answer = await send(world.web(), request, world.agent, world.counter);
      const what = `${note ?? ""} ${describeRequest(request)} → ${answer.status} ${answer.text.slice(0, 300)}`;
      assert.ok(answer.status < 500, `5xx for ${what}`);
      assert.ok(allowed.includes(answer.status), `expected ${allowed.join("/")} for ${what}`);
      for (const markup of mustNotReflect ?? []) {
        assert.ok(
          !answer.text.includes(markup),
          `markup reflected raw: ${JSON.stringify(markup)} in ${what}`,
        );
      }
      if ((answer.headers["content-type"] ?? "").startsWith("text/html")) {
        const csp = String(answer.headers["content-security-policy"] ?? "");
        assert.match(csp, /script-src 'self'(;|$)/, `CSP on ${what}`);
        assert.match(csp, /frame-ancestors 'none'/, `frame-ancestors on ${what}`);
      }
    });
    assertUnchanged(await snapshot(world.flock), baseline);
  }

  /** What a cross-site page can make the victim's browser post: every state-changing form. */
  function stateChangingForm(): fc.Arbitrary<[string, [string, string][]]> {
    const theirs = world.friendPost;
    return fc.constantFrom<[string, [string, string][]]>(
      ["/posts", [["text", "posted by a cross-site form"]]],
      [
        "/posts",
        [
          ["text", "a cross-site reply"],
          ["inReplyTo", theirs],
        ],
      ],
      [`/posts/${world.victimPosts[0]!}/delete`, [["back", "/"]]],
      [`/posts/${theirs}/like`, [["back", "/"]]],
      [`/posts/${theirs}/repost`, []],
      [`/posts/${theirs}/unlike`, []],
      [
        "/settings/profile",
        [
          ["displayName", "Pwned"],
          ["bio", "pwned by a cross-site form"],
        ],
      ],
      ["/u/friend/block", []],
      ["/u/friend/mute", []],
      ["/u/attacker/unblock", []],
      ["/u/friend/unfollow", []],
      ["/u/attacker/follow", [["back", "home"]]],
      ["/logout", []],
      // Login CSRF: logging the victim's browser into the attacker's account.
      [
        "/login",
        [
          ["username", "attacker"],
          ["password", "__ATTACKER_PASSWORD__"],
        ],
      ],
      [
        "/signup",
        [
          ["username", "csrf_made_user"],
          ["password", "correct horse battery"],
        ],
      ],
    );
  }

  function csrfAttackCase(): fc.Arbitrary<Case> {
    const token = fc.oneof(
      fc.constant<string | undefined>(undefined),
      forgedToken(),
      // A real token, but bound to the attacker's secret cookie, not the victim's.
      fc.constant("__ATTACKER_TOKEN__"),
    );
    const where = fc.constantFrom("field", "header", "duplicate-field", "proto-field");
    const cookieJar = fc.constantFrom("victim", "victim-session-only", "victim-with-attacker-secret");
    const type = fc.constantFrom(
      FORM,
      FORM,
      "application/json",
      "text/plain",
      "multipart/form-data; boundary=x",
    );
    return fc
      .tuple(stateChangingForm(), token, where, cookieJar, type)
      .map(([[path, fields], rawToken, place, jar, contentType]) => {
        const tokenValue = rawToken === "__ATTACKER_TOKEN__" ? attackerBrowser.csrfToken() : rawToken;
        const values = fields.map(
          ([k, v]) => [k, v === "__ATTACKER_PASSWORD__" ? world.attacker.password : v] as const,
        );
        const all: (readonly [string, string])[] = [...values];
        const headers: Record<string, string> = {
          "content-type": contentType,
          origin: "https://evil.example",
        };
        if (tokenValue !== undefined) {
          if (place === "field") all.push(["_csrf", tokenValue]);
          if (place === "duplicate-field") all.push(["_csrf", tokenValue], ["_csrf", `${tokenValue}x`]);
          if (place === "proto-field")
            all.push(["__proto__[_csrf]", tokenValue], ["constructor[prototype][_csrf]", tokenValue]);
          if (place === "header") headers["x-csrf-token"] = tokenValue;
        }
        headers.cookie =
          jar === "victim"
            ? cookies(victimBrowser)
            : jar === "victim-session-only"
              ? cookies(victimBrowser, ["flock_session"])
              : `flock_session=${victimBrowser.cookie("flock_session")}; _csrf=${attackerBrowser.cookie("_csrf")}`;
        const body =
          contentType === "application/json"
            ? JSON.stringify(Object.fromEntries(all))
            : contentType === FORM
              ? formBody(all)
              : all.map(([k, v]) => `${k}=${v}`).join("\n");
        const kind =
          rawToken === undefined
            ? "no token"
            : rawToken === "__ATTACKER_TOKEN__"
              ? "attacker's token"
              : "forged token";
        return {
          request: { method: "POST", path, headers, body },
          allowed: [403, 415],
          note: `[${kind} in ${place}, ${jar} cookies]`,
        };
      });
  }

  /** The victim's own valid form token and session, with input the rules refuse. */
  function badInputCase(): fc.Arbitrary<Case> {
    const auth = () => ({ "content-type": FORM, cookie: cookies(victimBrowser) });
    const csrf = () => victimBrowser.csrfToken();
    const badText = fc.oneof(
      fc.constantFrom(
        "",
        "   ",
        "\u200b",
        "\u3164",
        "x".repeat(281),
        ...FORBIDDEN_CHARS.filter(sendable).map((c) => `a${c}b`),
      ),
      fc
        .tuple(
          fc.constantFrom(...XSS_PAYLOADS),
          fc.constantFrom("\u0000", "\u0007", "\ufffe", "x".repeat(300)),
        )
        .map(([xss, bad]) => `${xss}${bad}`),
    );
    const form = (path: string, fields: [string, string][], allowed: number[], reflected = ""): Case => ({
      request: { method: "POST", path, headers: auth(), body: formBody([...fields, ["_csrf", csrf()]]) },
      allowed,
      mustNotReflect: XSS_PAYLOADS.filter((x) => reflected.includes(x) && /[<>"]/.test(x)),
    });
    const badId = fc.oneof(
      fc.constantFrom("0", "-1", "1.5", "01", "abc", "1".repeat(17), " 7"),
      hostileString(30).filter((v) => sendable(v) && v !== "" && !/^[1-9][0-9]{0,15}$/.test(v)),
    );
    const badDisplayName = fc.oneof(
      fc.constantFrom(
        "x".repeat(51),
        "two\nlines",
        "\u200b",
        ...FORBIDDEN_CHARS.filter(sendable).map((c) => `a${c}a`),
      ),
      fc.constantFrom(...XSS_PAYLOADS).map((x) => `${x}${"x".repeat(60)}`),
    );
    const badBio = fc.oneof(
      fc.constantFrom("x".repeat(161), "\u3164", ...FORBIDDEN_CHARS.filter(sendable).map((c) => `b${c}b`)),
      fc.constantFrom(...XSS_PAYLOADS).map((x) => `${x}\u0007`),
    );
    const conversation = fc.oneof(
      badId.map((id) =>
        form(
          "/posts",
          [
            ["text", "a reply"],
            ["inReplyTo", id],
          ],
          [400],
        ),
      ),
      fc.integer({ min: 10 ** 12, max: 10 ** 15 }).map((id) =>
        form(
          "/posts",
          [
            ["text", "a reply to nothing"],
            ["inReplyTo", String(id)],
          ],
          [404],
        ),
      ),
      fc
        .tuple(
          fc.oneof(badId.map(encodeSegment), fc.constantFrom("..", "%2e%2e", "1%00", "a".repeat(150))),
          fc.constantFrom("like", "unlike", "repost", "unrepost", "delete"),
        )
        .map(([id, action]) => form(`/posts/${id}/${action}`, [["back", "/"]], [400, 404, 414])),
      fc.constant(null).map(() => form(`/posts/${world.friendPost}/delete`, [], [403])),
      fc.tuple(badDisplayName, fc.oneof(fc.constant("A fine bio"), badBio)).map(([displayName, bio]) =>
        form(
          "/settings/profile",
          [
            ["displayName", displayName],
            ["bio", bio],
          ],
          [400],
          displayName + bio,
        ),
      ),
      badBio.map((bio) =>
        form(
          "/settings/profile",
          [
            ["displayName", "Fine"],
            ["bio", bio],
          ],
          [400],
          bio,
        ),
      ),
      fc
        .constantFrom("displayName=a&displayName=b&bio=x", "bio=x", "displayName[]=x&bio=y")
        .map((fields) => ({
          request: {
            method: "POST",
            path: "/settings/profile",
            headers: auth(),
            body: `${fields}&_csrf=${encodeSegment(csrf())}`,
          },
          allowed: [400],
        })),
      fc
        .tuple(
          fc.oneof(invalidUsername().map(encodeSegment), fc.constantFrom("..", "victim%00", "a".repeat(150))),
          fc.constantFrom("block", "unblock", "mute", "unmute"),
        )
        .map(([segment, action]) => form(`/u/${segment}/${action}`, [], [400, 404, 414])),
      fc.constantFrom("block", "mute").map((action) => form(`/u/victim/${action}`, [], [400])),
    );
    return fc.oneof(
      conversation,
      badText.map((text) => ({
        request: {
          method: "POST",
          path: "/posts",
          headers: auth(),
          body: formBody([
            ["text", text],
            ["_csrf", csrf()],
          ]),
        },
        allowed: [400],
        mustNotReflect: XSS_PAYLOADS.filter((x) => text.includes(x) && /[<>"]/.test(x)),
      })),
      fc
        .constantFrom(
          "text=a&text=b",
          "text[]=hello",
          "text[a]=hello",
          "__proto__[text]=hello",
          "constructor[prototype][text]=hello",
          "TEXT=hello",
          "text",
          "",
        )
        .map((fields) => ({
          request: {
            method: "POST",
            path: "/posts",
            headers: auth(),
            body: `${fields}&_csrf=${encodeSegment(csrf())}`,
          },
          allowed: [400],
        })),
      fc
        .tuple(
          fc.oneof(
            invalidUsername().map(encodeSegment),
            fc.constantFrom("..", "%2e%2e", "victim%00", "a".repeat(150)),
          ),
          fc.constantFrom("follow", "unfollow"),
        )
        .map(([segment, action]) => ({
          request: {
            method: "POST",
            path: `/u/${segment}/${action}`,
            headers: auth(),
            body: formBody([["_csrf", csrf()]]),
          },
          allowed: [400, 404, 414],
        })),
      fc
        .tuple(invalidUsername().filter(sendable), hostileString(40).filter(sendable))
        .map(([username, password]) => ({
          request: {
            method: "POST",
            path: "/signup",
            headers: { "content-type": FORM, cookie: cookies(anonymous) },
            body: formBody([
              ["username", username],
              ["password", password],
              ["_csrf", anonymous.csrfToken()],
            ]),
          },
          allowed: [400],
          mustNotReflect: XSS_PAYLOADS.filter((x) => username.includes(x) && /[<>"]/.test(x)),
        })),
      hostileString(60)
        .filter(sendable)
        .map((password) => ({
          request: {
            method: "POST",
            path: "/login",
            headers: { "content-type": FORM, cookie: cookies(anonymous) },
            body: formBody([
              ["username", "victim"],
              ["password", password],
              ["_csrf", anonymous.csrfToken()],
            ]),
          },
          allowed: [400, 401, 429],
        })),
    );
  }

  /** A logged-out browser with a valid form token: nothing happens, it is sent to log in. */
  function loggedOutCase(): fc.Arbitrary<Case> {
    return fc
      .constantFrom<[string, [string, string][]]>(
        ["/posts", [["text", "posted while logged out"]]],
        ["/u/friend/follow", []],
        ["/u/victim/unfollow", []],
        [`/posts/${world.friendPost}/like`, []],
        [`/posts/${world.victimPosts[0]!}/delete`, []],
        [
          "/settings/profile",
          [
            ["displayName", "Logged out"],
            ["bio", ""],
          ],
        ],
        ["/u/friend/block", []],
      )
      .chain(([path, fields]) =>
        fc.constantFrom("none", "forged", "revoked", "expired").map((session) => {
          const sessionCookie =
            session === "none"
              ? ""
              : `; flock_session=${session === "forged" ? "A".repeat(43) : session === "revoked" ? world.revokedToken : world.expiredToken}`;
          return {
            request: {
              method: "POST",
              path,
              headers: { "content-type": FORM, cookie: cookies(anonymous, ["_csrf"]) + sessionCookie },
              body: formBody([...fields, ["_csrf", anonymous.csrfToken()]]),
            },
            // With no session it is sent to log in; a form token minted while logged out does
            // not fit a request carrying a session cookie (tokens are bound to the session).
            allowed: session === "none" ? [303] : [403],
          };
        }),
      );
  }

  /** Pages fetched with hostile paths and queries, logged in or not. */
  function pageCase(): fc.Arbitrary<Case> {
    const payload = fc.oneof(
      fc.constantFrom(...XSS_PAYLOADS),
      hostileString(40),
      fc.constantFrom(...PROTO_KEYS),
    );
    return fc
      .tuple(
        payload,
        fc.constantFrom(
          "/u/SEG",
          "/u/SEG/following",
          "/u/SEG/followers",
          "/search?q=SEG",
          "/?cursor=SEG",
          "/?limit=SEG",
          "/?notice=SEG",
          "/u/victim?cursor=SEG",
          "/SEG",
          "/static/SEG",
          "/posts/SEG",
          "/posts/SEG/likes",
          "/posts/SEG/reposts",
          `/posts/${world.victimPosts[2]!}?cursor=SEG`,
          `/posts/${world.victimPosts[2]!}?limit=SEG`,
          "/tags/SEG",
          "/tags/birds?cursor=SEG",
          "/search?q=SEG&cursor=SEG",
          "/notifications?cursor=SEG",
          "/settings/profile?x=SEG",
        ),
        fc.boolean(),
      )
      .map(([value, template, loggedIn]) => ({
        request: {
          method: "GET",
          path: template.replace("SEG", encodeSegment(value)),
          headers: loggedIn ? { cookie: cookies(victimBrowser) } : ({} as Record<string, string>),
        },
        // A page that needs a session sends the logged-out browser to log in (303).
        allowed: [200, 303, 400, 403, 404, 414],
        mustNotReflect: XSS_PAYLOADS.filter((x) => value.includes(x) && /[<>"]/.test(x)),
      }));
  }

  it(
    `answers ${RUNS * BATCH} generated hostile form posts and page requests safely and stores nothing`,
    { timeout: 120_000 },
    async (t) => {
      const before = world.counter.http;
      const anyCase = fc.oneof(
        { weight: 4, arbitrary: csrfAttackCase() },
        { weight: 3, arbitrary: badInputCase() },
        { weight: 1, arbitrary: loggedOutCase() },
        { weight: 3, arbitrary: pageCase() },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(anyCase, { minLength: BATCH, maxLength: BATCH }), (cases) => check(cases)),
        { numRuns: RUNS, endOnFailure: true, includeErrorInReport: true },
      );
      t.diagnostic(`${world.counter.http - before} generated requests`);
      // The victim's browser session survived every forged logout.
      const home = await victimBrowser.get("/");
      assert.equal(home.status, 200);
      assert.match(victimBrowser.lastHtml, /@victim/);
    },
  );

  it("shows markup in posts, names and queries as text on every page", { timeout: 60_000 }, async () => {
    await world.api.follow(world.victim.token, world.attacker.name);
    for (const payload of XSS_PAYLOADS) {
      const posted = await world.api.post(world.attacker.token, payload);
      assert.equal(posted.status, 201, payload);
      assert.equal(
        posted.body.text,
        payload.trim(),
        "stored and answered as given: the API returns text, not HTML",
      );
    }
    await attackerBrowser.get("/");
    const viaForm = await attackerBrowser.postForm("/posts", { text: XSS_PAYLOADS[0]! });
    assert.equal(viaForm.status, 303);

    const pages = [
      "/",
      "/u/attacker",
      "/u/attacker/followers",
      "/u/victim/following",
      "/search?q=script",
      "/notifications",
    ];
    for (const path of pages) {
      const response = await victimBrowser.get(path);
      assert.equal(response.status, 200, path);
      assert.match(response.headers.get("content-security-policy") ?? "", /script-src 'self'(;|$)/);
      assert.doesNotMatch(response.headers.get("content-security-policy") ?? "", /unsafe-inline|unsafe-eval/);
      for (const payload of XSS_PAYLOADS.filter((p) => /[<>"]/.test(p))) {
        assert.ok(!victimBrowser.lastHtml.includes(payload), `${path} shows ${payload} raw`);
      }
    }
    await victimBrowser.get("/u/attacker");
    assert.ok(
      victimBrowser.lastHtml.includes("&lt;script&gt;alert(1)&lt;/script&gt;"),
      "the post is there, escaped",
    );
    // Only the app's own script file: no inline script anywhere.
    assert.doesNotMatch(victimBrowser.lastHtml, /<script(?![^>]*\bsrc="\/static\/)[^>]*>/);
    for (const payload of XSS_PAYLOADS) {
      const search = await victimBrowser.get(`/search?q=${encodeURIComponent(payload)}`);
      assert.ok(search.status < 500);
      if (/[<>"]/.test(payload))
        assert.ok(!victimBrowser.lastHtml.includes(payload), `search reflects ${payload}`);
    }
  });

  it("rotates the session on login: the browser's previous session is revoked", async () => {
    const browser = new HtmlClient(world.flock.webUrls[0]!);
    await browser.get("/login");
    await browser.postForm("/login", { username: world.friend.name, password: world.friend.password });
    const first = browser.cookie("flock_session")!;
    await browser.get("/login");
    await browser.postForm("/login", { username: world.friend.name, password: world.friend.password });
    const second = browser.cookie("flock_session")!;
    assert.notEqual(first, second);
    assert.equal((await world.api.feed(first)).status, 401, "the old session is gone");
    assert.equal((await world.api.feed(second)).status, 200);
  });

  it("does not let prototype keys in the query change a page (render.ts noticeFor)", async () => {
    for (const key of ["constructor", "__proto__", "toString"]) {
      const response = await anonymous.get(`/?notice=${key}`);
      assert.equal(response.status, 200);
      assert.doesNotMatch(anonymous.lastHtml, /native code|\[object Object\]/, key);
    }
  });
});
