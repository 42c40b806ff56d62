import assert from "node:assert/strict";
import { after, before, describe, it, mock } from "node:test";
import {
  Client,
  credentials,
  Metadata,
  status,
  type ServerUnaryCall,
  type ServiceError,
} from "@grpc/grpc-js";
import fc from "fast-check";
import { pino } from "pino";
import { AccountsServiceService } from "../../src/gen/flock/accounts/v1/accounts.js";
import { GraphServiceService } from "../../src/gen/flock/graph/v1/graph.js";
import { PostsServiceService } from "../../src/gen/flock/posts/v1/posts.js";
import { MAX_CALL_MS, unary } from "../../src/backend/handlers/unary.js";
import { assertUnchanged, inParallel, snapshot, type StoreSnapshot } from "./hostile.js";
import { forgedToken, hostileString, invalidText, invalidUsername } from "./payloads.js";
import { buildWorld, type World } from "./world.js";

interface MethodDefinition {
  path: string;
  requestSerialize(value: never): Buffer;
}

const SERVICES = { AccountsServiceService, GraphServiceService, PostsServiceService } as Record<
  string,
  Record<string, MethodDefinition>
>;
/** Every method the backends serve, by name ("createPost"), across the three services. */
const METHODS: Record<string, MethodDefinition> = Object.assign({}, ...Object.values(SERVICES));

interface GrpcCase {
  method: string;
  /** Encoded with the method's own serializer, or raw bytes. */
  message: Record<string, unknown> | Uint8Array;
  metadata: [string, string][];
  allowed: readonly status[];
}

interface Outcome {
  code: status;
  details: string;
}

const RUNS = 150;
const BATCH = 12;
const DEADLINE_MS = 8_000;

/**
 * The backends attacked directly over gRPC, bypassing the web tier: random bytes to every
 * method, hostile field values, forged, revoked and expired tokens, bad metadata, oversized
 * messages. Every call is answered (deadline), with an expected status, and nothing changes.
 */
describe("hostile gRPC", () => {
  let world: World;
  let baseline: StoreSnapshot;
  let client: Client;
  const started = performance.now();

  before(async () => {
    world = await buildWorld();
    client = new Client(`ipv4:${world.flock.backendAddrs.join(",")}`, credentials.createInsecure(), {
      "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
    });
    baseline = await snapshot(world.flock);
  });
  after(async () => {
    console.log(world.counter.summary("hostile gRPC", started));
    client.close();
    await world.close();
  });

  function call(c: GrpcCase): Promise<Outcome> {
    const definition = METHODS[c.method];
    const path = definition?.path ?? `/flock.accounts.v1.AccountsService/${c.method}`;
    const bytes =
      c.message instanceof Uint8Array
        ? Buffer.from(c.message)
        : definition!.requestSerialize(c.message as never);
    const metadata = new Metadata();
    for (const [key, value] of c.metadata) {
      if (key.endsWith("-bin")) metadata.add(key, Buffer.from(value));
      else metadata.add(key, value);
    }
    world.counter.grpc++;
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        bytes,
        metadata,
        { deadline: Date.now() + DEADLINE_MS },
        (err: ServiceError | null) =>
          resolve(err ? { code: err.code, details: err.details } : { code: status.OK, details: "" }),
      );
    });
  }

  async function check(cases: readonly GrpcCase[]): Promise<void> {
    await inParallel(cases, BATCH, async (c) => {
      const outcome = await call(c);
      const what = `${c.method} ${JSON.stringify(c.message instanceof Uint8Array ? `<${c.message.length} bytes>` : c.message).slice(0, 300)} metadata=${JSON.stringify(c.metadata).slice(0, 200)} → ${status[outcome.code]} ${outcome.details}`;
      assert.notEqual(outcome.code, status.DEADLINE_EXCEEDED, `no answer in time: ${what}`);
      assert.notEqual(outcome.code, status.UNKNOWN, `UNKNOWN: ${what}`);
      const deserialization = outcome.code === status.INTERNAL && /deserializ/i.test(outcome.details);
      assert.ok(
        c.allowed.includes(outcome.code) || (c.message instanceof Uint8Array && deserialization),
        `expected ${c.allowed.map((s) => status[s]).join("/")}: ${what}`,
      );
    });
    assertUnchanged(await snapshot(world.flock), baseline);
  }

  const bearer = (token: string): [string, string] => ["authorization", `Bearer ${token}`];
  // Logging out with an expired token may drop that dead session (a store forgets expired ones
  // when it reads them), rightly: not an attack to test.
  const expiredLogout = (method: string, metadata: [string, string][]) =>
    method === "logout" && metadata.some(([, v]) => v.includes(world.expiredToken));

  /** Metadata that authenticates nobody. */
  function badAuth(): fc.Arbitrary<[string, string][]> {
    const v = () => world.victim.token;
    return fc.oneof(
      fc.constant<[string, string][]>([]),
      forgedToken().map((t) => [bearer(t)]),
      fc.constantFrom<[string, string][]>(
        [bearer(world.revokedToken)],
        [bearer(world.expiredToken)],
        [["authorization", v()]],
        [["authorization", `Basic ${v()}`]],
        [["authorization", `bearer${v()}`]],
        [["authorization", `Bearer ${v()}x`]],
        [["x-authorization", `Bearer ${v()}`]],
        [["authorization-bin", `Bearer ${v()}`]],
        // HTTP/2 allows one authorization value; a forged one with a good one glued on is no token.
        [["authorization", `Bearer ${"A".repeat(43)}, Bearer ${v()}`]],
        [bearer("A".repeat(43)), ["x-forwarded-authorization", `Bearer ${v()}`]],
        [["cookie", `flock_session=${v()}`]],
      ),
    );
  }

  const anyInt = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 101, 2 ** 31 - 1, -(2 ** 31)));
  const anyString = fc.oneof(hostileString(60), invalidUsername(), fc.constant(""));

  /** Calls that act for a user, with bad credentials: only UNAUTHENTICATED (logout: a no-op). */
  function forgedCase(): fc.Arbitrary<GrpcCase> {
    return fc
      .tuple(
        fc.constantFrom("createPost", "getFeed", "follow", "unfollow", "authenticate", "logout"),
        badAuth(),
        fc.constantFrom("friend", "victim", "attacker"),
      )
      .filter(([method, metadata]) => !expiredLogout(method, metadata))
      .map(([method, metadata, name]) => ({
        method,
        message: {
          createPost: { text: "written with a forged token", idempotencyKey: "" },
          getFeed: { limit: 10, cursor: "" },
          follow: { username: name },
          unfollow: { username: name },
          authenticate: {},
          logout: {},
        }[method]!,
        metadata,
        allowed: method === "logout" ? [status.OK] : [status.UNAUTHENTICATED],
      }));
  }

  /** The attacker's own valid token with values the rules refuse. */
  function attackerCase(): fc.Arbitrary<GrpcCase> {
    const auth = () => [bearer(world.attacker.token)];
    return fc.oneof(
      invalidText()
        // Protobuf strings are UTF-8: a lone surrogate arrives as U+FFFD, which is valid text.
        .filter((t): t is string => typeof t === "string" && !/\p{Surrogate}/u.test(t))
        .map((text) => ({
          method: "createPost",
          message: { text, idempotencyKey: "" },
          metadata: auth(),
          allowed: [status.INVALID_ARGUMENT],
        })),
      fc
        .string({ unit: "binary", minLength: 1, maxLength: 80 })
        .filter((k) => !/^[A-Za-z0-9_-]{1,64}$/.test(k))
        .map((key) => ({
          method: "createPost",
          message: { text: "valid text, bad key", idempotencyKey: key },
          metadata: auth(),
          allowed: [status.INVALID_ARGUMENT],
        })),
      fc.tuple(fc.constantFrom("follow", "unfollow"), invalidUsername()).map(([method, username]) => ({
        method,
        message: { username },
        metadata: auth(),
        allowed: [status.INVALID_ARGUMENT],
      })),
      fc.tuple(anyInt, anyString).map(([limit, cursor]) => ({
        method: "getFeed",
        message: { limit, cursor },
        metadata: auth(),
        allowed: [status.OK, status.INVALID_ARGUMENT],
      })),
    );
  }

  /** Calls anyone may make, with hostile values: an answer, never a change. */
  function publicCase(): fc.Arbitrary<GrpcCase> {
    const none: [string, string][] = [];
    return fc.oneof(
      fc.tuple(invalidUsername(), anyString).map(([username, password]) => ({
        method: "createAccount",
        message: { username, password },
        metadata: none,
        allowed: [status.INVALID_ARGUMENT],
      })),
      fc
        .tuple(fc.oneof(fc.constant("victim"), invalidUsername()), anyString, anyString)
        .map(([username, password, clientAddress]) => ({
          method: "login",
          message: { username, password, clientAddress },
          metadata: none,
          allowed: [status.INVALID_ARGUMENT, status.UNAUTHENTICATED, status.RESOURCE_EXHAUSTED],
        })),
      anyString.map((username) => ({
        method: "getAccount",
        message: { username },
        metadata: none,
        allowed: [status.INVALID_ARGUMENT, status.NOT_FOUND],
      })),
      fc.tuple(anyString, anyInt).map(([prefix, limit]) => ({
        method: "searchAccounts",
        message: { prefix, limit },
        metadata: none,
        allowed: [status.OK, status.INVALID_ARGUMENT],
      })),
      fc.tuple(anyString, anyString).map(([follower, followee]) => ({
        method: "getRelationship",
        message: { follower, followee },
        metadata: none,
        allowed: [status.OK],
      })),
      fc
        .tuple(fc.constantFrom("getCounts", "countUserPosts"), invalidUsername())
        .map(([method, username]) => ({
          method,
          message: { username },
          metadata: none,
          allowed: [status.INVALID_ARGUMENT],
        })),
      fc
        .tuple(
          fc.constantFrom("listFollowing", "listFollowers", "listUserPosts"),
          fc.oneof(fc.constant("victim"), anyString),
          anyInt,
          anyString,
        )
        .map(([method, username, limit, cursor]) => ({
          method,
          message: { username, limit, cursor },
          metadata: none,
          allowed: [status.OK, status.INVALID_ARGUMENT],
        })),
    );
  }

  /** Random bytes to every method (and to methods that do not exist), with bad credentials. */
  function randomBytesCase(): fc.Arbitrary<GrpcCase> {
    return fc
      .tuple(
        fc.constantFrom(...Object.keys(METHODS), "doesNotExist", "../../etc"),
        fc.uint8Array({ maxLength: 512 }),
        badAuth(),
      )
      .filter(([method, , metadata]) => !expiredLogout(method, metadata))
      .map(([method, bytes, metadata]) => ({
        method,
        message: bytes,
        metadata,
        allowed: [
          status.OK,
          status.INVALID_ARGUMENT,
          status.UNAUTHENTICATED,
          status.NOT_FOUND,
          status.RESOURCE_EXHAUSTED,
          status.UNIMPLEMENTED,
        ],
      }));
  }

  it(
    `answers ${RUNS * BATCH} generated hostile calls with the right status and stores nothing`,
    { timeout: 120_000 },
    async (t) => {
      const before = world.counter.grpc;
      const anyCase = fc.oneof(
        { weight: 3, arbitrary: forgedCase() },
        { weight: 3, arbitrary: attackerCase() },
        { weight: 4, arbitrary: publicCase() },
        { weight: 3, arbitrary: randomBytesCase() },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(anyCase, { minLength: BATCH, maxLength: BATCH }), (cases) => check(cases)),
        { numRuns: RUNS, endOnFailure: true, includeErrorInReport: true },
      );
      t.diagnostic(`${world.counter.grpc - before} generated calls`);
    },
  );

  it("refuses oversized messages and metadata, and keeps serving", { timeout: 60_000 }, async () => {
    const big = await call({
      method: "createPost",
      message: { text: "x".repeat(2 * 1024 * 1024), idempotencyKey: "" },
      metadata: [bearer(world.attacker.token)],
      allowed: [],
    });
    assert.equal(big.code, status.RESOURCE_EXHAUSTED, big.details);
    const hugeMetadata = await call({
      method: "getFeed",
      message: { limit: 1, cursor: "" },
      metadata: [bearer("x".repeat(64 * 1024))],
      allowed: [],
    });
    assert.notEqual(hugeMetadata.code, status.OK, "a 64 KiB token authenticates nobody");
    const manyKeys = await call({
      method: "getFeed",
      message: { limit: 1, cursor: "" },
      metadata: Array.from({ length: 500 }, (_, i): [string, string] => [`x-k${i}`, "v".repeat(20)]),
      allowed: [],
    });
    assert.notEqual(manyKeys.code, status.OK);
    // Still serving, and nothing changed.
    const feed = await call({
      method: "getFeed",
      message: { limit: 5, cursor: "" },
      metadata: [bearer(world.victim.token)],
      allowed: [],
    });
    assert.equal(feed.code, status.OK);
    assertUnchanged(await snapshot(world.flock), baseline);
  });

  it("a forged, revoked or expired token neither reads nor writes through any backend", async () => {
    for (const token of ["", "A".repeat(43), world.revokedToken, world.expiredToken]) {
      for (const addr of world.flock.backendAddrs) {
        const one = new Client(addr, credentials.createInsecure());
        try {
          for (const [method, message] of [
            ["getFeed", { limit: 20, cursor: "" }],
            ["authenticate", {}],
            ["createPost", { text: "forged", idempotencyKey: "" }],
            ["follow", { username: "friend" }],
            ["unfollow", { username: "friend" }],
          ] as const) {
            const metadata = new Metadata();
            if (token) metadata.set("authorization", `Bearer ${token}`);
            world.counter.grpc++;
            const outcome = await new Promise<{ code: status; response?: Buffer }>((resolve) =>
              one.makeUnaryRequest(
                METHODS[method]!.path,
                (b: Buffer) => b,
                (b: Buffer) => b,
                METHODS[method]!.requestSerialize(message as never),
                metadata,
                { deadline: Date.now() + DEADLINE_MS },
                (err: ServiceError | null, response?: Buffer) =>
                  resolve({ code: err ? err.code : status.OK, response }),
              ),
            );
            assert.equal(outcome.code, status.UNAUTHENTICATED, `${method} with ${token.slice(0, 12)}`);
            assert.equal(outcome.response, undefined, "no data comes back");
          }
        } finally {
          one.close();
        }
      }
    }
    assertUnchanged(await snapshot(world.flock), baseline);
  });
});

describe("gRPC handler limits", () => {
  const log = pino({ level: "silent" });
  const fakeCall = (deadline: number, cancelled = false) =>
    ({
      cancelled,
      request: {},
      metadata: new Metadata(),
      getDeadline: () => deadline,
    }) as unknown as ServerUnaryCall<object, object>;

  it("answers a call that carries no deadline with DEADLINE_EXCEEDED once the cap passes", (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const answers: (number | undefined)[] = [];
    const handler = unary<object, object>(log, "Hang", () => new Promise<object>(() => undefined));
    handler(fakeCall(Infinity), (err) => answers.push(err?.code));
    t.mock.timers.tick(MAX_CALL_MS - 1);
    assert.deepEqual(answers, []);
    t.mock.timers.tick(1);
    assert.deepEqual(answers, [status.DEADLINE_EXCEEDED]);
  });

  it("does no work for a call its caller already cancelled", async () => {
    const handle = mock.fn(async () => ({}));
    const handler = unary<object, object>(log, "Cancelled", handle);
    const callback = mock.fn();
    handler(fakeCall(Date.now() + 1000, true), callback);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(handle.mock.callCount(), 0);
    assert.equal(callback.mock.callCount(), 0);
  });

  it("answers once: a late result after the cap is dropped", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    let finish: (value: object) => void = () => undefined;
    const handler = unary<object, object>(
      log,
      "Late",
      () => new Promise<object>((resolve) => (finish = resolve)),
    );
    const answers: unknown[] = [];
    handler(fakeCall(Infinity), (err, value) => answers.push(err?.code ?? value));
    t.mock.timers.tick(MAX_CALL_MS);
    finish({ late: true });
    await Promise.resolve();
    await Promise.resolve();
    assert.deepEqual(answers, [status.DEADLINE_EXCEEDED]);
  });
});
