import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../../src/shared/config.js";
import { startFrontDoor, type RunningFrontDoor } from "../fixtures/front-door.js";
import { assertUnchanged, send, snapshot, type StoreSnapshot } from "./hostile.js";
import { buildWorld, type World } from "./world.js";

/** Every status line in what came back on one connection (pipelined answers included). */
const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));

/**
 * Writes raw bytes on one connection from `from` and collects everything that comes back until
 * the door closes it or `waitMs` passes.
 */
function raw(door: RunningFrontDoor, bytes: string, waitMs = 2_000, from = "127.0.0.1"): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port: door.port, localAddress: from });
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString("latin1"));
    };
    const timer = setTimeout(done, waitMs);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", done);
    socket.on("close", done);
    socket.write(Buffer.from(bytes, "latin1"));
  });
}

/** A connection that sends its request a byte every `everyMs`; resolves with what came back and when. */
function slow(door: RunningFrontDoor, bytes: string, everyMs: number, from: string) {
  return new Promise<{ text: string; ms: number }>((resolve) => {
    const started = Date.now();
    const socket = net.connect({ host: "127.0.0.1", port: door.port, localAddress: from });
    const chunks: Buffer[] = [];
    let i = 0;
    const drip = setInterval(() => {
      if (i < bytes.length && !socket.destroyed) socket.write(bytes[i++]!, "latin1");
    }, everyMs);
    const done = () => {
      clearInterval(drip);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString("latin1"), ms: Date.now() - started });
    };
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", done);
    socket.on("close", done);
  });
}

/**
 * The public boundary as shipped (HAProxy with its default limits) under protocol-level attack:
 * request smuggling, obsolete line folding, oversize headers, slow-loris clients and connection
 * floods. No 5xx, nothing stored, no process exits, and other clients are served meanwhile.
 */
describe("attacks on the front door", { timeout: 120_000 }, () => {
  let world: World;
  let door: RunningFrontDoor;
  let baseline: StoreSnapshot;
  let requests = 0;

  before(async () => {
    world = await buildWorld();
    door = await startFrontDoor(
      world.flock.webUrls.map((u) => new URL(u).host),
      { rateLimits: loadConfig({}).rateLimits },
    );
    baseline = await snapshot(world.flock);
  });
  after(async () => {
    console.log(`front door attacks: ${requests} hostile requests and connections`);
    await door?.stop();
    await world?.close();
  });

  /** The door and both replicas still run and serve, and the store is as it was. */
  const stillFine = async () => {
    assert.equal(door.child.process.exitCode, null, "HAProxy is still running");
    const answer = await send(door.url, { method: "GET", path: "/api/v1/users/victim" }, world.agent);
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.text), {
      username: "victim",
      displayName: null,
      bio: null,
      followers: 0,
      following: 1,
      posts: 3,
    });
    for (const url of world.flock.webUrls)
      assert.equal((await send(url, { method: "GET", path: "/healthz" }, world.agent)).status, 200);
    assertUnchanged(await snapshot(world.flock), baseline);
  };

  it("request smuggling, line folding and oversize headers: 4xx or a closed connection, nothing stored", async () => {
    const token = world.attacker.token;
    const victim = world.victim.token;
    // What a desync would slip through: the victim following the attacker, a post in their name.
    const hidden =
      `PUT /api/v1/following/attacker HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${victim}\r\n\r\n` +
      `POST /api/v1/posts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${victim}\r\n` +
      `Content-Type: application/json\r\nContent-Length: 20\r\n\r\n{"text":"smuggled!"}`;
    const post = (headers: string, body: string) =>
      `POST /api/v1/posts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: application/json\r\n${headers}\r\n${body}`;
    const payloads = [
      // CL.TE and TE.CL: the two framings disagree about where the body ends.
      post("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", `0\r\n\r\n${hidden}`),
      post("Transfer-Encoding: chunked\r\nContent-Length: 4\r\n", `5c\r\n${hidden}\r\n0\r\n\r\n`),
      post("Content-Length: 0\r\nContent-Length: 400\r\n", hidden),
      post("Content-Length: 400\r\nContent-Length: 0\r\n", hidden),
      post("Content-Length: 0, 400\r\n", hidden),
      post("Content-Length: +0\r\n", hidden),
      post("Content-Length : 0\r\n", hidden),
      // Transfer-Encoding in disguise.
      post("Transfer-Encoding: chunked, identity\r\nContent-Length: 0\r\n", `0\r\n\r\n${hidden}`),
      post("Transfer-Encoding: identity, chunked\r\nContent-Length: 0\r\n", `0\r\n\r\n${hidden}`),
      post("Transfer-Encoding : chunked\r\nContent-Length: 0\r\n", `0\r\n\r\n${hidden}`),
      post("Transfer-Encoding:\tchunked\r\nContent-Length: 0\r\n", `0\r\n\r\n${hidden}`),
      post("Transfer-Encoding: xchunked\r\nContent-Length: 0\r\n", `0\r\n\r\n${hidden}`),
      post("Transfer-Encoding: CHUNKED\r\nContent-Length: 0\r\n", `0\r\n\r\n${hidden}`),
      post("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", `0\r\n\r\n${hidden}`),
      post("Transfer-Encoding: chunked\r\n", `ffffffffffffffffff\r\n${hidden}\r\n0\r\n\r\n`),
      post("Transfer-Encoding: chunked\r\n", `0;ext="\r\n"\r\n\r\n${hidden}`),
      // Obsolete line folding (RFC 7230 §3.2.4), of framing headers and of any header.
      post("Transfer-Encoding:\r\n chunked\r\nContent-Length: 0\r\n", `0\r\n\r\n${hidden}`),
      post("Content-Length: 0\r\n 400\r\n", hidden),
      post("X-Folded: a\r\n\tb\r\nContent-Length: 2\r\n", "{}"),
      // Bare LF, NUL and other bytes a lenient parser might read differently.
      post("Content-Length: 0\nTransfer-Encoding: chunked\r\n", `0\r\n\r\n${hidden}`),
      post("X-Nul: a\u0000Transfer-Encoding: chunked\r\nContent-Length: 0\r\n", `0\r\n\r\n${hidden}`),
      post("X-Cr: a\rTransfer-Encoding: chunked\r\nContent-Length: 0\r\n", `0\r\n\r\n${hidden}`),
      // Oversize: one huge header, very many headers, a huge request line.
      post(`X-Huge: ${"a".repeat(20_000)}\r\nContent-Length: 2\r\n`, "{}"),
      post(`${Array.from({ length: 150 }, (_, i) => `X-H${i}: v\r\n`).join("")}Content-Length: 2\r\n`, "{}"),
      `GET /api/v1/users/${"a".repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      // Old and odd protocols.
      "GET /api/v1/users/victim HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "GET /api/v1/users/victim HTTP/0.9\r\n\r\n",
      "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n",
      "GET /api/v1/users/victim HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
      "GET /api/v1/users/victim HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n",
    ];
    const seen: string[] = [];
    for (const [i, payload] of payloads.entries()) {
      const text = await raw(door, payload);
      requests++;
      for (const status of statuses(text)) {
        assert.ok(status < 500, `payload #${i}: ${status} in ${text.slice(0, 300)}`);
      }
      seen.push(`#${i}:${statuses(text).join("+") || "closed"}`);
    }
    console.log(`smuggling attempts through the front door: ${seen.join(" ")}`);
    await stillFine();
  });

  it("slow-loris clients are cut off while others are served", async () => {
    const headers = `GET /api/v1/users/victim HTTP/1.1\r\nHost: x\r\nX-Slow: ${"a".repeat(40)}\r\n\r\n`;
    const body = `POST /api/v1/posts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${world.attacker.token}\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"text":"${"s".repeat(27)}"}`;
    const started = Date.now();
    const lorises = [
      ...Array.from({ length: 40 }, () => slow(door, headers, 500, "127.0.0.2")),
      // Headers at once, then the body a byte at a time: the web tier's request timeout ends it.
      slow(door, body.slice(0, body.indexOf("\r\n\r\n") + 4), 1, "127.0.0.2").then(() => undefined),
    ];
    const trickle = slow(door, body, 700, "127.0.0.2");
    requests += lorises.length + 1;
    // Meanwhile, another client is served at once, again and again.
    for (let i = 0; i < 10; i++) {
      const t0 = Date.now();
      const answer = await send(door.url, { method: "GET", path: "/api/v1/users/victim" }, world.agent);
      assert.equal(answer.status, 200);
      assert.ok(Date.now() - t0 < 2_000, "served promptly during the attack");
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const cut = (await Promise.all(lorises.slice(0, 40))) as { text: string; ms: number }[];
    for (const { text, ms } of cut) {
      assert.ok(ms < 13_000, `a slow client is cut within the headers timeout (took ${ms} ms)`);
      for (const status of statuses(text)) assert.equal(status, 408, text.slice(0, 200));
    }
    const trickled = await trickle;
    for (const status of statuses(trickled.text)) assert.ok(status < 500, trickled.text.slice(0, 200));
    assert.ok(trickled.ms < 20_000, `a trickled body is cut (took ${trickled.ms} ms)`);
    assert.ok(Date.now() - started < 25_000);
    await stillFine();
  });

  it("a connection flood from one address is capped; other addresses are served; nothing breaks", async () => {
    const cap = loadConfig({}).rateLimits!.connectionsPerAddress;
    const flood: net.Socket[] = [];
    const outcomes = { open: 0, refused: 0 };
    const connect = () =>
      new Promise<void>((resolve) => {
        const s = net.connect({ host: "127.0.0.1", port: door.port, localAddress: "127.0.0.4" });
        flood.push(s);
        s.once("connect", () => {
          // A refused connection is closed by the door right after the handshake.
          const settle = setTimeout(() => {
            outcomes.open++;
            resolve();
          }, 300);
          s.once("close", () => {
            clearTimeout(settle);
            outcomes.refused++;
            resolve();
          });
        });
        s.once("error", () => {
          outcomes.refused++;
          resolve();
        });
      });
    try {
      await Promise.all(Array.from({ length: cap * 3 }, connect));
      requests += cap * 3;
      assert.ok(outcomes.open <= cap, `at most ${cap} connections held open (${JSON.stringify(outcomes)})`);
      assert.ok(outcomes.refused >= cap * 2 - 5, `the rest refused (${JSON.stringify(outcomes)})`);
      // Other clients are served meanwhile, with nothing worse than a 4xx.
      const others = await Promise.all(
        Array.from({ length: 20 }, () =>
          send(door.url, { method: "GET", path: "/api/v1/users/victim" }, world.agent),
        ),
      );
      assert.deepEqual(
        others.map((a) => a.status),
        others.map(() => 200),
      );
    } finally {
      for (const s of flood) s.destroy();
    }
    // Once the flood is gone, that address is served again.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const again = await raw(
      door,
      "GET /api/v1/users/victim HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      2_000,
      "127.0.0.4",
    );
    assert.deepEqual(statuses(again), [200]);
    await stillFine();
  });
});
