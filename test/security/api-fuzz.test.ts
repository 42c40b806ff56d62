import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { BODY_LIMIT_BYTES } from "../../src/web/app.js";
import {
  assertUnchanged,
  describeRequest,
  inParallel,
  send,
  sendRaw,
  snapshot,
  type HostileRequest,
  type StoreSnapshot,
} from "./hostile.js";
import {
  deepJson,
  encodeSegment,
  FORBIDDEN_CHARS,
  forgedToken,
  hostileString,
  invalidText,
  invalidUsername,
  PROTO_KEYS,
} from "./payloads.js";
import { buildWorld, type World } from "./world.js";

/** A generated request and the answers it may get. Nothing here may be stored, whatever the answer. */
interface Case {
  request: HostileRequest;
  allowed: readonly number[];
}

const JSON_TYPE = { "content-type": "application/json" };

/** The method each body-taking route answers. */
function methodFor(path: string): string {
  if (path.includes("following") || path.endsWith("/like")) return "PUT";
  if (path === "/api/v1/me") return "PATCH";
  return "POST";
}
const RUNS = 200;
const BATCH = 10;

/**
 * The JSON API under attack: thousands of generated requests (bad input, forged credentials,
 * wrong content types, huge and deep bodies, path and header tricks) through two web
 * replicas. Each must get one of the expected 4xx answers (never a 5xx, never a hang), and
 * the stores must hold exactly what they held before.
 */
describe("hostile JSON API", () => {
  let world: World;
  let baseline: StoreSnapshot;
  const started = performance.now();

  before(async () => {
    world = await buildWorld();
    baseline = await snapshot(world.flock);
  });
  after(async () => {
    const line = world.counter.summary("hostile JSON API", started);
    console.log(line);
    await world.close();
  });

  async function check(cases: readonly Case[]): Promise<void> {
    await inParallel(cases, BATCH, async ({ request, allowed }) => {
      const target = world.web();
      const answer = await send(target, request, world.agent, world.counter);
      const what = `${target === world.door.url ? "(front door) " : ""}${describeRequest(request)} → ${answer.status} ${answer.text.slice(0, 200)}`;
      // The front door refuses what its HTTP parser will not take (headers beyond its 16 KiB
      // buffer or 101 fields) itself, with a 400 of its own, before any route.
      const parsedAway =
        target === world.door.url && answer.status === 400 && answer.text.startsWith("<html>");
      const expected = parsedAway ? [...allowed, 400] : allowed;
      assert.ok(answer.status < 500, `5xx for ${what}`);
      assert.ok(expected.includes(answer.status), `expected ${expected.join("/")} for ${what}`);
      const api = request.path.startsWith("/api/");
      if (api && answer.status >= 400 && answer.status !== 431 && !parsedAway && request.method !== "HEAD") {
        const body = JSON.parse(answer.text) as Record<string, unknown>;
        assert.deepEqual(Object.keys(body), ["error"], `an error answer carries only the error: ${what}`);
      }
    });
    assertUnchanged(await snapshot(world.flock), baseline);
  }

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  /** Credentials that name nobody the API may act for. */
  function badCredentials(): fc.Arbitrary<Record<string, string>> {
    const v = () => world.victim.token;
    return fc.oneof(
      fc.constant({}),
      forgedToken().map((t) => bearer(t)),
      fc.constantFrom(
        bearer(world.revokedToken),
        bearer(world.expiredToken),
        // A valid session, but as a cookie: the API reads only the Authorization header.
        { cookie: `flock_session=${v()}` },
        { cookie: `flock_session=${v()}`, "x-csrf-token": "x" },
        { authorization: `Basic ${v()}` },
        { authorization: `Token ${v()}` },
        { authorization: v() },
        { authorization: `Bearer ${v()}x` },
        { authorization: `Bearer ${v().slice(0, 42)}` },
        { authorization: `Bearer ${v().slice(1)}A` },
        { authorization: `Bearer ${v()} ${v()}` },
        { authorization: `Bearer ${v()},Bearer ${v()}` },
        { "x-authorization": `Bearer ${v()}` },
        { "proxy-authorization": `Bearer ${v()}` },
      ),
    );
  }

  /** Each authenticated call, with a body it would accept from a real session. */
  function authenticatedCall(): fc.Arbitrary<HostileRequest> {
    const f = () => world.friend.name;
    const mine = () => world.victimPosts[0]!;
    const theirs = () => world.friendPost;
    return fc.constantFrom<HostileRequest>(
      { method: "POST", path: "/api/v1/posts", body: JSON.stringify({ text: "forged post" }) },
      {
        method: "POST",
        path: "/api/v1/posts",
        body: JSON.stringify({ text: "forged reply", inReplyTo: theirs() }),
      },
      { method: "PUT", path: `/api/v1/following/${f()}` },
      { method: "DELETE", path: `/api/v1/following/${f()}` },
      { method: "DELETE", path: "/api/v1/sessions/current" },
      { method: "GET", path: "/api/v1/feed" },
      { method: "GET", path: `/api/v1/feed?access_token=${world.victim.token}` },
      { method: "DELETE", path: `/api/v1/posts/${mine()}` },
      { method: "PUT", path: `/api/v1/posts/${theirs()}/like` },
      { method: "DELETE", path: `/api/v1/posts/${theirs()}/like` },
      { method: "PUT", path: `/api/v1/posts/${theirs()}/repost` },
      { method: "DELETE", path: `/api/v1/posts/${theirs()}/repost` },
      { method: "GET", path: "/api/v1/me" },
      { method: "PATCH", path: "/api/v1/me", body: JSON.stringify({ displayName: "Forged", bio: "forged" }) },
      { method: "GET", path: "/api/v1/notifications" },
      { method: "POST", path: "/api/v1/notifications/read", body: JSON.stringify({ upTo: mine() }) },
      { method: "PUT", path: `/api/v1/blocks/${f()}` },
      { method: "DELETE", path: `/api/v1/blocks/${f()}` },
      { method: "PUT", path: `/api/v1/mutes/${f()}` },
      { method: "DELETE", path: `/api/v1/mutes/${f()}` },
      { method: "GET", path: "/api/v1/blocks" },
      { method: "GET", path: "/api/v1/mutes" },
    );
  }

  /**
   * The stream, with credentials that name nobody. (A valid session cookie is a credential
   * there, for EventSource: it is left out, since it would rightly open a stream.)
   */
  function forgedStreamCase(): fc.Arbitrary<Case> {
    const v = () => world.victim.token;
    const credentials = fc.oneof(
      fc.constant({}),
      forgedToken().map((t) => bearer(t)),
      forgedToken().map((t) => ({ cookie: `flock_session=${encodeSegment(t)}` })),
      fc.constantFrom<Record<string, string>>(
        bearer(world.revokedToken),
        bearer(world.expiredToken),
        { cookie: `flock_session=${world.revokedToken}` },
        { cookie: `flock_session=${world.expiredToken}` },
        { authorization: `Basic ${v()}` },
        { authorization: `Bearer ${v()}x` },
        { authorization: `Bearer ${v().slice(1)}A` },
        { "x-authorization": `Bearer ${v()}` },
      ),
    );
    const where = fc.constantFrom(
      "/api/v1/streaming",
      "/api/v1/streaming?lastEventId=5",
      `/api/v1/streaming?access_token=${v()}`,
    );
    return fc.tuple(credentials, where).map(([headers, path]) => ({
      request: { method: "GET", path, headers: { ...headers, accept: "text/event-stream" } },
      allowed: [401],
    }));
  }

  function forgedCredentialCase(): fc.Arbitrary<Case> {
    return fc.tuple(authenticatedCall(), badCredentials()).map(([call, headers]) => ({
      request: {
        ...call,
        headers: { ...headers, ...(call.body === undefined ? {} : JSON_TYPE) },
      },
      allowed: [401],
    }));
  }

  function badSignupCase(): fc.Arbitrary<Case> {
    const password = fc.oneof(hostileString(300), fc.constant("correct horse battery"));
    const body = fc.oneof(
      fc
        .tuple(invalidUsername(), password)
        .map(([username, pw]) => JSON.stringify({ username, password: pw })),
      // An acceptable name with a password that breaks a rule.
      fc
        .tuple(fc.stringMatching(/^new_[a-z0-9]{6}$/), invalidPassword())
        .map(([username, pw]) => JSON.stringify({ username, password: pw })),
      // An acceptable name and password, next to a prototype-polluting key: the parser refuses it.
      fc
        .tuple(fc.stringMatching(/^new_[a-z0-9]{6}$/), fc.constantFrom(...protoBodies()))
        .map(([username, template]) => template.replace("NAME", username)),
      fc.constantFrom("null", "[]", '"x"', "42", "true", "{}", '{"username":null}', '{"username":["a","b"]}'),
    );
    return body.map((b) => ({
      request: { method: "POST", path: "/api/v1/accounts", headers: JSON_TYPE, body: b },
      allowed: [400],
    }));
  }

  function invalidPassword(): fc.Arbitrary<unknown> {
    return fc.oneof(
      fc.constantFrom("", "short", "1234567", "x".repeat(257), "🐦".repeat(257), 12345678, null, [], {}),
      fc
        .tuple(fc.constantFrom("\u0000", "\u0007", "\ud800", "\udfff", "\ufffe", "\u009b"), hostileString(20))
        // The x keeps a lone surrogate lone: `rest` may start with its other half.
        .map(([bad, rest]) => `password${bad}x${rest}`),
    );
  }

  function protoBodies(): string[] {
    const rest = '"username":"NAME","password":"correct horse battery"';
    return [
      `{"__proto__":{"admin":true},${rest}}`,
      `{${rest},"__proto__":{"username":"victim"}}`,
      `{"constructor":{"prototype":{"admin":true}},${rest}}`,
      `{${rest},"a":{"b":{"__proto__":{"x":1}}}}`,
      `{${rest},"list":[{"__proto__":null}]}`,
    ];
  }

  function badLoginCase(): fc.Arbitrary<Case> {
    const name = fc.oneof(fc.constant(world.victim.name), fc.constant("VICTIM"), invalidUsername());
    const password = fc.oneof(hostileString(64), fc.constant("correct horse battery"), invalidPassword());
    const xff = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom(
        "203.0.113.9",
        "2001:db8::1",
        "not-an-ip",
        "1.2.3.4, 5.6.7.8",
        "x".repeat(300),
        "../../x",
      ),
    );
    return fc.tuple(name, password, xff).map(([username, pw, forwarded]) => ({
      request: {
        method: "POST",
        path: "/api/v1/sessions",
        headers: { ...JSON_TYPE, ...(forwarded ? { "x-forwarded-for": forwarded } : {}) },
        body: JSON.stringify({ username, password: pw }),
      },
      allowed: [400, 401, 429],
    }));
  }

  /** The attacker's own valid session, sending input the rules refuse. */
  function attackerBadInputCase(): fc.Arbitrary<Case> {
    const auth = () => ({ ...bearer(world.attacker.token) });
    const hostileNameSegment = invalidUsername().map(encodeSegment);
    const pathTrick = fc.constantFrom(
      "..",
      ".",
      "%2e%2e",
      "%2E%2E%2Fvictim",
      "victim%00",
      "victim%2F",
      "victim%2F..",
      "..%2Fvictim",
      "victim/",
      "victim/..",
      "./victim",
      "victim%20",
      "%20victim",
      "victim%0d%0aX-Injected:%201",
      "victim;x",
      "victim%3B",
      "%E2%84%AAelvin",
      "%C4%B0stanbul",
      "%ff%fe",
      "%E0%A4%A",
      "%",
      "a".repeat(150),
    );
    const followPath = fc.oneof(hostileNameSegment, pathTrick);
    const query = fc.oneof(
      fc.constantFrom(
        "limit=0",
        "limit=-1",
        "limit=101",
        "limit=1e2",
        "limit=0x10",
        "limit=1.5",
        "limit=%201",
        "limit=abc",
        "limit=99999999999999999999",
        "limit=1&limit=2",
        "cursor=a&cursor=b",
        "cursor=not-a-cursor",
        "cursor=%00",
        `cursor=${"A".repeat(600)}`,
        "cursor=YzE6Li4vLi4v",
        "cursor=" + Buffer.from("c1:../../acct/victim").toString("base64url"),
        "__proto__=1",
        "constructor=x&limit=5",
        "limit[]=1",
        "limit[a]=1",
      ),
      hostileString(30).map((s) => `limit=${encodeSegment(s)}&cursor=${encodeSegment(s)}`),
    );
    return fc.oneof(
      conversationBadInput(auth, followPath, query),
      invalidText().map((text) => ({
        request: {
          method: "POST",
          path: "/api/v1/posts",
          headers: { ...auth(), ...JSON_TYPE },
          body: JSON.stringify({ text }),
        },
        allowed: [400],
      })),
      fc.tuple(fc.constantFrom(...PROTO_KEYS), invalidText()).map(([key, text]) => ({
        request: {
          method: "POST",
          path: "/api/v1/posts",
          headers: { ...auth(), ...JSON_TYPE },
          body: `{"${key}":{"text":"polluted"},"text":${JSON.stringify(text)}}`,
        },
        allowed: [400],
      })),
      fc
        .string({ unit: "grapheme-ascii", maxLength: 100 })
        .filter((k) => k.trim() !== "" && !/^[A-Za-z0-9_-]{1,64}$/.test(k.trim()))
        .map((key) => ({
          request: {
            method: "POST",
            path: "/api/v1/posts",
            headers: { ...auth(), ...JSON_TYPE, "idempotency-key": key },
            body: JSON.stringify({ text: "valid text, invalid key" }),
          },
          allowed: [400],
        })),
      fc.tuple(fc.constantFrom("PUT", "DELETE"), followPath).map(([method, segment]) => ({
        request: { method, path: `/api/v1/following/${segment}`, headers: auth() },
        allowed: [400, 404, 414],
      })),
      fc
        .tuple(
          fc.constantFrom("PUT", "DELETE"),
          fc.constantFrom(
            "/api//v1/following/victim",
            "/API/v1/following/victim",
            "/api/v1/following",
            "/api/v1/following/",
            "/api/v1/following/victim/extra",
          ),
        )
        .map(([method, path]) => ({
          request: { method, path, headers: auth() },
          allowed: [400, 404],
        })),
      query.map((q) => ({
        request: { method: "GET", path: `/api/v1/feed?${q}`, headers: auth() },
        allowed: [200, 400],
      })),
      fc.tuple(fc.oneof(hostileNameSegment, pathTrick), query).map(([segment, q]) => ({
        request: { method: "GET", path: `/api/v1/users/${segment}/posts?${q}` },
        allowed: [200, 400, 404, 414],
      })),
    );
  }

  /**
   * The routes of conversations and reactions, with the attacker's own session: replies to
   * what cannot be answered, hostile post ids and names in paths, profile text the rules
   * refuse, read marks that are no ids, someone else's post to delete, hostile searches,
   * tags and resume points. None may store anything.
   */
  function conversationBadInput(
    auth: () => Record<string, string>,
    namePath: fc.Arbitrary<string>,
    query: fc.Arbitrary<string>,
  ): fc.Arbitrary<Case> {
    const json = (method: string, path: string, body: unknown, allowed: number[]): Case => ({
      request: { method, path, headers: { ...auth(), ...JSON_TYPE }, body: JSON.stringify(body) },
      allowed,
    });
    const badId = fc.oneof(
      fc.constantFrom("0", "-1", "1.5", "01", "1e3", " 1", "1 ", "0x10", "1".repeat(17), "NaN", "Infinity"),
      hostileString(30).filter((s) => !/^[1-9][0-9]{0,15}$/.test(s) && s !== ""),
    );
    const noSuchId = fc.integer({ min: 10 ** 12, max: 10 ** 15 }).map(String);
    const idSegment = fc.oneof(
      badId.map(encodeSegment),
      noSuchId,
      fc.constantFrom("..", "%2e%2e", "1%2F..", "1%00", "1;x", "a".repeat(150), "%ff"),
    );
    const postPath = fc.constantFrom("", "/thread", "/like", "/repost", "/likes", "/reposts");
    const badName = fc.oneof(
      fc.constantFrom(
        "",
        "   ",
        "\u200b",
        "\u3164",
        "x".repeat(51),
        "🐦".repeat(51),
        "two\nlines",
        "a\u2028b",
      ),
      fc.constantFrom(12, true, [], {}, ["name"]),
      fc.constantFrom(...FORBIDDEN_CHARS).map((c) => `name${c}name`),
    );
    const badBio = fc.oneof(
      fc.constantFrom("\u200b", "x".repeat(161), "é".repeat(161), 7, false, [], {}),
      fc.constantFrom(...FORBIDDEN_CHARS).map((c) => `bio ${c} bio`),
    );
    const validName = fc.constantFrom("Fine Name", null);
    const validBio = fc.constantFrom("A fine bio.", null);
    const badUpTo = fc.oneof(badId, fc.constantFrom<unknown>(null, true, [], {}, -5, 1.5, ""));
    const badEventId = fc
      .oneof(badId, fc.constantFrom("abc", "-1", "1.5", "01"))
      .filter((s) => !/^(0|[1-9][0-9]{0,15})?$/.test(s.trim()) && !/[\r\n\0]/.test(s))
      .filter((s) => /^[\x20-\x7e]*$/.test(s));
    return fc.oneof(
      badId.map((inReplyTo) =>
        json("POST", "/api/v1/posts", { text: "a reply to nothing", inReplyTo }, [400]),
      ),
      fc
        .constantFrom<unknown>(0, 42, true, [], {}, ["1"])
        .map((inReplyTo) => json("POST", "/api/v1/posts", { text: "a reply to nothing", inReplyTo }, [400])),
      noSuchId.map((inReplyTo) =>
        json("POST", "/api/v1/posts", { text: "a reply to nothing", inReplyTo }, [404]),
      ),
      fc.tuple(fc.constantFrom("GET", "PUT", "DELETE"), idSegment, postPath).map(([method, id, rest]) => ({
        request: { method, path: `/api/v1/posts/${id}${rest}`, headers: auth() },
        allowed: [400, 404, 405, 414],
      })),
      fc.constantFrom(0, 1, 2).map((i) => ({
        request: { method: "DELETE", path: `/api/v1/posts/${world.victimPosts[i]!}`, headers: auth() },
        allowed: [403],
      })),
      fc.tuple(fc.constantFrom("/thread", "/likes", "/reposts"), query).map(([rest, q]) => ({
        request: {
          method: "GET",
          path: `/api/v1/posts/${world.victimPosts[2]!}${rest}?${q}`,
          headers: auth(),
        },
        allowed: [200, 400],
      })),
      fc
        .oneof(
          badName.map((displayName) => ({ displayName })),
          badBio.map((bio) => ({ bio })),
          fc.tuple(validName, badBio).map(([displayName, bio]) => ({ displayName, bio })),
          fc.tuple(badName, validBio).map(([displayName, bio]) => ({ displayName, bio })),
        )
        .map((body) => json("PATCH", "/api/v1/me", body, [400])),
      fc.constantFrom("null", "[]", '"x"', "42", "true").map((body) => ({
        request: { method: "PATCH", path: "/api/v1/me", headers: { ...auth(), ...JSON_TYPE }, body },
        allowed: [400],
      })),
      badUpTo.map((upTo) => json("POST", "/api/v1/notifications/read", { upTo }, [400])),
      fc.constantFrom("{}", "[]", "null", '{"upto":"5"}').map((body) => ({
        request: {
          method: "POST",
          path: "/api/v1/notifications/read",
          headers: { ...auth(), ...JSON_TYPE },
          body,
        },
        allowed: [400],
      })),
      query.map((q) => ({
        request: { method: "GET", path: `/api/v1/notifications?${q}`, headers: auth() },
        allowed: [200, 400],
      })),
      fc
        .tuple(fc.constantFrom("PUT", "DELETE"), fc.constantFrom("blocks", "mutes"), namePath)
        .map(([method, list, segment]) => ({
          request: { method, path: `/api/v1/${list}/${segment}`, headers: auth() },
          allowed: [400, 404, 414],
        })),
      fc
        .tuple(fc.constantFrom("PUT", "DELETE"), fc.constantFrom("blocks", "mutes"))
        .map(([method, list]) => ({
          request: { method, path: `/api/v1/${list}/attacker`, headers: auth() },
          allowed: [400],
        })),
      fc.tuple(fc.constantFrom("blocks", "mutes"), query).map(([list, q]) => ({
        request: { method: "GET", path: `/api/v1/${list}?${q}`, headers: auth() },
        allowed: [200, 400],
      })),
      fc.tuple(fc.oneof(hostileString(70).map(encodeSegment), namePath), query).map(([segment, q]) => ({
        request: { method: "GET", path: `/api/v1/tags/${segment}/posts?${q}` },
        allowed: [200, 400, 404, 414],
      })),
      fc.tuple(hostileString(250), query, fc.boolean()).map(([q, rest, withToken]) => ({
        request: {
          method: "GET",
          path: `/api/v1/search?q=${encodeSegment(q)}&${rest}`,
          headers: withToken ? auth() : {},
        },
        allowed: [200, 400],
      })),
      fc.constantFrom("", "q=a&q=b", "q[]=a", "q[a]=b", "__proto__=x").map((q) => ({
        request: { method: "GET", path: `/api/v1/search?${q}` },
        allowed: [400],
      })),
      fc.tuple(badEventId, fc.boolean()).map(([id, inHeader]) => ({
        request: {
          method: "GET",
          path: inHeader ? "/api/v1/streaming" : `/api/v1/streaming?lastEventId=${encodeSegment(id)}`,
          headers: { ...auth(), ...(inHeader ? { "last-event-id": id } : {}) },
        },
        allowed: [400],
      })),
      fc.constantFrom("POST", "PUT", "DELETE", "PATCH").map((method) => ({
        request: { method, path: "/api/v1/streaming", headers: auth() },
        allowed: [404, 405],
      })),
    );
  }

  function wrongContentTypeCase(): fc.Arbitrary<Case> {
    const type = fc.constantFrom<string | undefined>(
      undefined,
      "text/plain",
      "text/plain; charset=utf-8",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=xyz",
      "application/xml",
      "text/html",
      "application/javascript",
      "application/jsonx",
      "application/json-patch+json",
      "application/vnd.api+json",
      "json",
      "application",
      "*/*",
      "application/octet-stream",
      "image/png",
      "",
    );
    const target = fc.constantFrom<[string, string, string]>(
      ["POST", "/api/v1/posts", JSON.stringify({ text: "smuggled in as another type" })],
      [
        "POST",
        "/api/v1/accounts",
        JSON.stringify({ username: "smuggled_user", password: "correct horse battery" }),
      ],
      ["POST", "/api/v1/accounts", "username=smuggled_form&password=correct+horse+battery"],
      ["POST", "/api/v1/posts", "text=smuggled+form+post"],
      ["POST", "/api/v1/posts", JSON.stringify({ text: "smuggled reply", inReplyTo: "1" })],
      ["PATCH", "/api/v1/me", JSON.stringify({ displayName: "Smuggled", bio: "smuggled" })],
      ["PATCH", "/api/v1/me", "displayName=Smuggled&bio=smuggled"],
      ["POST", "/api/v1/notifications/read", JSON.stringify({ upTo: "99" })],
    );
    return fc.tuple(type, target).map(([contentType, [method, path, body]]) => ({
      request: {
        method,
        path,
        headers: {
          ...bearer(world.attacker.token),
          ...(contentType === undefined ? {} : { "content-type": contentType }),
        },
        // Bytes, so that no client library adds a content type of its own.
        body: Buffer.from(body),
      },
      allowed: [400, 415],
    }));
  }

  function hugeBodyCase(): fc.Arbitrary<Case> {
    return fc
      .tuple(
        fc.integer({ min: BODY_LIMIT_BYTES + 1, max: 256 * 1024 }),
        fc.constantFrom(
          "/api/v1/posts",
          "/api/v1/accounts",
          "/api/v1/sessions",
          "/api/v1/following/friend",
          "/api/v1/me",
          "/api/v1/notifications/read",
          "/api/v1/posts/1/like",
        ),
        fc.constantFrom("json-text", "random", "chunked"),
      )
      .map(([size, path, how]) => {
        const body =
          how === "random"
            ? randomBytes(size)
            : JSON.stringify({ text: "x".repeat(size), username: "big_one" });
        const headers: Record<string, string> = { ...bearer(world.attacker.token), ...JSON_TYPE };
        if (how === "chunked") headers["transfer-encoding"] = "chunked";
        return {
          request: { method: methodFor(path), path, headers, body },
          allowed: [413],
        };
      });
  }

  function deepJsonCase(): fc.Arbitrary<Case> {
    return fc
      .tuple(
        fc.integer({ min: 100, max: 2700 }),
        fc.constantFrom("array", "object", "proto") as fc.Arbitrary<"array" | "object" | "proto">,
        fc.boolean(),
      )
      .map(([depth, kind, wrapped]) => ({
        request: {
          method: "POST",
          path: wrapped ? "/api/v1/posts" : "/api/v1/accounts",
          headers: { ...bearer(world.attacker.token), ...JSON_TYPE },
          body: wrapped ? `{"text":${deepJson(depth, kind)}}` : deepJson(depth * 2, kind),
        },
        allowed: [400, 413],
      }));
  }

  function randomBytesCase(): fc.Arbitrary<Case> {
    return fc
      .tuple(
        fc.uint8Array({ maxLength: 4096 }),
        fc.constantFrom("/api/v1/posts", "/api/v1/accounts", "/api/v1/sessions"),
      )
      .map(([bytes, path]) => ({
        request: {
          method: "POST",
          path,
          headers: { ...bearer(world.attacker.token), ...JSON_TYPE },
          body: bytes,
        },
        allowed: [400],
      }));
  }

  function headerTrickCase(): fc.Arbitrary<Case> {
    return fc.oneof(
      fc.integer({ min: 17 * 1024, max: 64 * 1024 }).map((size) => ({
        request: {
          method: "GET",
          path: "/api/v1/feed",
          headers: { ...bearer(world.attacker.token), "x-padding": "a".repeat(size) },
        },
        allowed: [431],
      })),
      fc.integer({ min: 50, max: 300 }).map((count) => {
        const headers: Record<string, string> = {};
        for (let i = 0; i < count; i++) headers[`x-h${i}`] = "v";
        return { request: { method: "GET", path: "/api/v1/users/victim", headers }, allowed: [200] };
      }),
      fc
        .constantFrom("evil.example", "localhost:99999", "a".repeat(300), "[::1]", "127.0.0.1:1")
        .map((host) => ({
          request: { method: "GET", path: "/api/v1/users/victim", headers: { host } },
          allowed: [200, 400],
        })),
      fc.constantFrom("PATCH", "OPTIONS", "HEAD", "TRACE", "PROPFIND").map((method) => ({
        request: { method, path: "/api/v1/posts", headers: bearer(world.attacker.token) },
        allowed: method === "HEAD" ? [404] : [400, 404, 405],
      })),
      forgedToken().map((id) => ({
        request: { method: "GET", path: "/api/v1/users/victim", headers: { "x-request-id": id } },
        allowed: [200],
      })),
    );
  }

  it(
    `answers ${RUNS * BATCH} generated hostile requests with the right 4xx and stores nothing`,
    { timeout: 120_000 },
    async (t) => {
      const anyCase = fc.oneof(
        { weight: 3, arbitrary: forgedCredentialCase() },
        { weight: 1, arbitrary: forgedStreamCase() },
        { weight: 2, arbitrary: badSignupCase() },
        { weight: 2, arbitrary: badLoginCase() },
        { weight: 6, arbitrary: attackerBadInputCase() },
        { weight: 2, arbitrary: wrongContentTypeCase() },
        { weight: 1, arbitrary: hugeBodyCase() },
        { weight: 1, arbitrary: deepJsonCase() },
        { weight: 1, arbitrary: randomBytesCase() },
        { weight: 1, arbitrary: headerTrickCase() },
      );
      const before = world.counter.http;
      await fc.assert(
        fc.asyncProperty(fc.array(anyCase, { minLength: BATCH, maxLength: BATCH }), (cases) => check(cases)),
        { numRuns: RUNS, endOnFailure: true, includeErrorInReport: true },
      );
      t.diagnostic(`${world.counter.http - before} generated requests`);
    },
  );

  it(
    "refuses malformed HTTP at the protocol level without a 5xx, and keeps serving",
    { timeout: 60_000 },
    async (t) => {
      const token = world.attacker.token;
      const post = (extra: string, body: string) =>
        `POST /api/v1/posts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\n${extra}\r\n${body}`;
      const smuggled = `PUT /api/v1/following/friend HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`;
      const raw: string[] = [
        // Request smuggling: both Content-Length and Transfer-Encoding, or two lengths.
        post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", `0\r\n\r\n${smuggled}`),
        post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", `0\r\n\r\n${smuggled}`),
        post("Content-Length: 17\r\nContent-Length: 200\r\n", '{"text":"smug"}'),
        post("Transfer-Encoding: chunked, identity\r\n", `0\r\n\r\n`),
        post("Transfer-Encoding: xchunked\r\n", `0\r\n\r\n`),
        post("Transfer-Encoding: chunked\r\n", `zz\r\n{"text":"x"}\r\n0\r\n\r\n`),
        post("Content-Length: -1\r\n", "{}"),
        post("Content-Length: 1e3\r\n", "{}"),
        post("Content-Length: 18446744073709551617\r\n", "{}"),
        // Header injection and malformed header lines.
        post("X-Bad: a\nInjected: b\r\nContent-Length: 2\r\n", "{}"),
        post("X-Bad: a\u0000b\r\nContent-Length: 2\r\n", "{}"),
        post(" folded: continuation\r\nContent-Length: 2\r\n", "{}"),
        post("Bad Header Name: x\r\nContent-Length: 2\r\n", "{}"),
        // Odd request lines.
        "GET http://evil.example/api/v1/users/victim HTTP/1.1\r\nHost: evil.example\r\n\r\n",
        "GET /api/v1/users/victim HTTP/9.9\r\nHost: x\r\n\r\n",
        "GET /api/v1/users/victim\r\n\r\n",
        "GET  /api/v1/users/victim  HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /api/v1/users/vic tim HTTP/1.1\r\nHost: x\r\n\r\n",
        `GET /${"a".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003",
        "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n",
      ];
      const random = fc
        .sample(fc.uint8Array({ minLength: 1, maxLength: 2048 }), 40)
        .map((b) => Buffer.from(b));
      const payloads = [...raw.map((s) => Buffer.from(s, "latin1")), ...random];
      const answers = await inParallel(payloads, 8, (bytes) => sendRaw(world.web(), bytes, world.counter));
      answers.forEach((answer, i) => {
        if (answer.status !== undefined) {
          assert.ok(answer.status < 500, `5xx for raw request #${i}: ${answer.text.slice(0, 200)}`);
        }
      });
      for (const url of world.flock.webUrls) {
        const health = await send(url, { method: "GET", path: "/healthz" }, world.agent, world.counter);
        assert.equal(health.status, 200, "the replica still serves");
      }
      assertUnchanged(await snapshot(world.flock), baseline);
      t.diagnostic(`${payloads.length} raw requests`);
    },
  );

  it("leaves the victim's session and data working after the attack", async () => {
    const feed = await world.api.feed(world.victim.token);
    assert.equal(feed.status, 200);
    assert.deepEqual(
      feed.body.posts.map((p) => p.text),
      ["a post by the friend"],
    );
    const profile = await world.api.user(world.victim.name);
    assert.deepEqual(profile.body, {
      username: "victim",
      displayName: null,
      bio: null,
      followers: 0,
      following: 1,
      posts: 3,
    });
  });
});
