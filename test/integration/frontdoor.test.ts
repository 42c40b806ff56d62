import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { waitFor } from "../../src/launcher/child.js";
import { freePorts } from "../../src/launcher/etcd-cluster.js";
import {
  frontDoorSettings,
  haproxyConfig,
  type FrontDoorSettings,
} from "../../src/frontdoor/haproxy-config.js";
import { findHaproxy, readReplicaStates } from "../../src/frontdoor/haproxy.js";
import { loadConfig, type RateLimits } from "../../src/shared/config.js";
import { startFrontDoor, type RunningFrontDoor } from "../fixtures/front-door.js";

/** A stand-in web replica: /readyz as told, every other request answered by `handle`. */
async function fakeReplica(name: string) {
  const state = {
    ready: true,
    seen: [] as { method: string; url: string; headers: http.IncomingHttpHeaders }[],
    handle: (_req: http.IncomingMessage, res: http.ServerResponse): void => void res.end(name),
  };
  const server = http.createServer((req, res) => {
    if (req.url === "/readyz") {
      res.statusCode = state.ready ? 200 : 503;
      return res.end();
    }
    state.seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    req.resume();
    req.on("end", () => state.handle(req, res));
  });
  // Upgraded connections leave the HTTP server's books: close keeps every socket to end it.
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    state,
    server,
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on a connection of its own, from `from` (a loopback address: 127.0.0.x). */
function request(
  url: string,
  path: string,
  options: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string; from?: string } = {},
): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: hostname,
        port,
        path,
        method: options.method ?? "GET",
        headers: options.headers,
        localAddress: options.from,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on("error", reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${path} within 10 s`)));
    req.on("error", reject);
    req.end(options.body);
  });
}

const LIMITS: RateLimits = {
  signups: { count: 3, periodSeconds: 1800 },
  logins: { count: 3, periodSeconds: 300 },
  posts: { count: 3, periodSeconds: 10800 },
  follows: { count: 3, periodSeconds: 86400 },
  perToken: { count: 5, periodSeconds: 300 },
  connectionsPerAddress: 5,
};

describe("front door (HAProxy)", () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of cleanup.reverse()) await close();
  });
  const replica = async (name: string) => {
    const r = await fakeReplica(name);
    cleanup.push(r.close);
    return r;
  };
  const door = async (webAddrs: string[], overrides: Partial<FrontDoorSettings> = {}, waitReady = true) => {
    const d = await startFrontDoor(webAddrs, overrides, waitReady);
    cleanup.push(d.stop);
    return d;
  };
  const statesOf = async (d: RunningFrontDoor) => (await readReplicaStates(d.adminUrl)).map((s) => s.status);

  it("writes a configuration HAProxy accepts, with limits and without", () => {
    const dir = mkdtempSync(join(tmpdir(), "flock-haproxy-cfg-"));
    try {
      const base = loadConfig({});
      assert.ok(base.rateLimits, "rate limits are on by default");
      for (const env of [
        {},
        { RATE_LIMITS: "off" },
        { RATE_LIMIT_SIGNUPS: "1/10s", RATE_LIMIT_TOKEN: "7/1d" },
      ]) {
        const config = loadConfig(env);
        const text = haproxyConfig(frontDoorSettings(config));
        writeFileSync(join(dir, "haproxy.cfg"), text);
        const check = spawnSync(findHaproxy(), ["-c", "-f", join(dir, "haproxy.cfg")], { encoding: "utf8" });
        assert.equal(check.status, 0, check.stderr);
        assert.doesNotMatch(check.stderr, /WARNING|ALERT/, check.stderr);
        assert.match(text, /^ {4}timeout tunnel 1h$/m, "upgraded connections (WebSockets) stay open");
        assert.match(
          text,
          /^ {4}retry-on conn-failure$/m,
          "a request is sent again only when no connection was made",
        );
        assert.match(text, /^ {4}option forwardfor$/m);
        assert.equal(/st_signups/.test(text), config.rateLimits !== undefined, JSON.stringify(env));
      }
      assert.match(
        haproxyConfig(frontDoorSettings(loadConfig({ RATE_LIMIT_SIGNUPS: "1/10s" }))),
        /sc0_http_req_rate\(st_signups\) gt 1 /,
      );
      assert.throws(() => loadConfig({ RATE_LIMIT_POSTS: "300 per hour" }), /RATE_LIMIT_POSTS/);
      assert.throws(() => loadConfig({ RATE_LIMITS: "no" }), /RATE_LIMITS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("sends only to ready replicas, and to any when none is ready", async () => {
    const [a, b] = [await replica("a"), await replica("b")];
    b.state.ready = false;
    const d = await door([a.address, b.address]);
    await waitFor("b down, a up", async () => (await statesOf(d)).join() === "UP,DOWN");
    for (let i = 0; i < 6; i++) assert.equal((await request(d.url, "/x")).body, "a");
    assert.equal(b.state.seen.length, 0);

    a.state.ready = false;
    b.state.ready = true;
    await waitFor("a down, b up", async () => (await statesOf(d)).join() === "DOWN,UP");
    for (let i = 0; i < 6; i++) assert.equal((await request(d.url, "/x")).body, "b");

    b.state.ready = false;
    await waitFor("neither ready", async () => (await statesOf(d)).join() === "DOWN,DOWN");
    const bodies = new Set<string>();
    for (let i = 0; i < 6; i++) bodies.add((await request(d.url, "/x")).body);
    assert.deepEqual([...bodies].sort(), ["a", "b"], "both still tried: each answers for itself");
    a.state.ready = b.state.ready = true;
  });

  it("a replica that refuses connections costs no request, GET or POST: another answers", async () => {
    const a = await replica("a");
    const [closed] = await freePorts(1);
    // Checked slowly, so the dead replica still counts as up while requests go to it.
    const d = await door([`127.0.0.1:${closed}`, a.address], { probeIntervalMs: 60_000 }, false);
    for (let i = 0; i < 8; i++) {
      const method = i % 2 ? "POST" : "GET";
      const answer = await request(d.url, "/x", { method, body: method === "POST" ? "{}" : undefined });
      assert.equal(answer.status, 200, `${method}: ${answer.body}`);
      assert.equal(answer.body, "a");
    }
  });

  it("never sends a request again once a replica got it, even when it answered nothing", async () => {
    const [a, b] = [await replica("a"), await replica("b")];
    const drop = (req: http.IncomingMessage) => req.socket.destroy();
    a.state.handle = drop;
    b.state.handle = drop;
    const d = await door([a.address, b.address]);
    const answer = await request(d.url, "/api/v1/posts", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"text":"once"}',
    });
    assert.equal(answer.status, 502);
    assert.equal(JSON.parse(answer.body).error.code, "bad_gateway");
    const posts = [...a.state.seen, ...b.state.seen].filter((s) => s.method === "POST");
    assert.equal(posts.length, 1, "the POST reached one replica, once");
  });

  it("appends the client's address to X-Forwarded-For (a client's own entries stay in front)", async () => {
    const a = await replica("a");
    const d = await door([a.address]);
    await request(d.url, "/x", { from: "127.0.0.2", headers: { "x-forwarded-for": "203.0.113.9" } });
    await request(d.url, "/y", { from: "127.0.0.3" });
    assert.equal(a.state.seen[0]!.headers["x-forwarded-for"], "203.0.113.9, 127.0.0.2");
    assert.equal(a.state.seen[1]!.headers["x-forwarded-for"], "127.0.0.3");
  });

  it("serves operations only on the admin listener", async () => {
    const a = await replica("a");
    const d = await door([a.address]);
    for (const path of [
      "/metrics",
      "/readyz",
      "/healthz",
      "/cluster",
      "/cluster.json",
      "/cluster?x=1",
      "/%6Detrics",
      "/cluster%2Ejson",
      "/%63luster",
    ]) {
      const answer = await request(d.url, path);
      assert.equal(answer.status, 404, path);
      assert.equal(JSON.parse(answer.body).error.code, "not_found", path);
    }
    assert.deepEqual(a.state.seen, [], "none reached a replica");
    const metrics = await request(d.adminUrl, "/metrics");
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /^haproxy_server_status\{proxy="web",server="web-1",state="UP"\} 1/m);
    assert.equal((await request(d.adminUrl, "/stats")).status, 200);
    assert.equal((await request(d.adminUrl, "/readyz")).status, 200);
    assert.equal((await request(d.adminUrl, "/cluster")).body, "a", "the cluster page comes from a replica");
    assert.equal((await request(d.adminUrl, "/api/v1/feed")).status, 404, "no product there");
  });

  it("answers 503 with Retry-After (and JSON) when no replica can be reached", async () => {
    const closed = await freePorts(2);
    const d = await door(
      closed.map((p) => `127.0.0.1:${p}`),
      {},
      false,
    );
    const answer = await request(d.url, "/api/v1/feed");
    assert.equal(answer.status, 503);
    assert.ok(Number(answer.headers["retry-after"]) > 0);
    assert.equal(JSON.parse(answer.body).error.code, "unavailable");
  });

  it("rate limits per address and per token: 429 with Retry-After; RATE_LIMITS=off turns them off", async () => {
    const a = await replica("a");
    const d = await door([a.address], { rateLimits: LIMITS });
    const json = { "content-type": "application/json" };
    const post = (path: string, from: string, headers: http.OutgoingHttpHeaders = json) =>
      request(d.url, path, { method: "POST", headers, body: "{}", from });

    for (let i = 0; i < 3; i++) assert.equal((await post("/api/v1/accounts", "127.0.0.2")).status, 200);
    const limited = await post("/api/v1/accounts", "127.0.0.2");
    assert.equal(limited.status, 429);
    assert.equal(limited.headers["retry-after"], "1800");
    assert.equal(JSON.parse(limited.body).error.code, "rate_limited");
    const page = await post("/signup", "127.0.0.2", { "content-type": "application/x-www-form-urlencoded" });
    assert.equal(page.status, 429, "the sign-up form counts too");
    assert.match(String(page.headers["content-type"]), /text\/html/);
    assert.equal((await post("/api/v1/accounts", "127.0.0.3")).status, 200, "another address is not limited");
    assert.equal((await post("/api/v1/sessions", "127.0.0.2")).status, 200, "logins count apart");

    for (let i = 0; i < 3; i++) {
      const verb = i % 2 ? "DELETE" : "PUT";
      assert.equal(
        (await request(d.url, "/api/v1/following/x", { method: verb, from: "127.0.0.4" })).status,
        200,
      );
    }
    assert.equal(
      (await post("/u/x/follow", "127.0.0.4", {})).status,
      429,
      "follows by API and by form add up",
    );
    assert.equal((await post("/u/x/unfollow", "127.0.0.4", {})).status, 429);
    for (let i = 0; i < 3; i++) assert.equal((await post("/api/v1/posts", "127.0.0.5")).status, 200);
    assert.equal((await post("/posts", "127.0.0.5", {})).status, 429);

    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    for (let i = 0; i < 5; i++)
      assert.equal((await request(d.url, "/api/v1/feed", { headers: bearer("one") })).status, 200);
    const tokenLimited = await request(d.url, "/api/v1/feed", { headers: bearer("one") });
    assert.equal(tokenLimited.status, 429);
    assert.equal(tokenLimited.headers["retry-after"], "300");
    assert.equal((await request(d.url, "/api/v1/feed", { headers: bearer("two") })).status, 200);
    for (let i = 0; i < 5; i++) await request(d.url, "/", { headers: { cookie: "flock_session=three" } });
    assert.equal((await request(d.url, "/", { headers: { cookie: "flock_session=three" } })).status, 429);
    assert.equal(
      (await request(d.url, "/static/app.css", { headers: { cookie: "flock_session=three" } })).status,
      200,
    );

    // Open connections per address: the sixth from one address is refused, another address is not.
    // Each held connection is answered once first, so HAProxy has surely counted it (its threads
    // accept on their own: a connection only queued in the kernel is not counted yet).
    const sockets: net.Socket[] = [];
    const open = (from: string) =>
      new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ host: "127.0.0.1", port: d.port, localAddress: from }, () =>
          s.write("GET /x HTTP/1.1\r\nHost: flock\r\n\r\n"),
        );
        s.once("data", () => resolve(s));
        s.on("error", reject);
        sockets.push(s);
      });
    try {
      for (let i = 0; i < 5; i++) await open("127.0.0.6");
      await assert.rejects(request(d.url, "/x", { from: "127.0.0.6" }), "the sixth connection is refused");
      assert.equal((await request(d.url, "/x", { from: "127.0.0.7" })).status, 200);
    } finally {
      for (const s of sockets) s.destroy();
    }

    const off = await door([a.address], { rateLimits: undefined });
    for (let i = 0; i < 12; i++) {
      const answer = await request(off.url, "/api/v1/accounts", {
        method: "POST",
        headers: json,
        body: "{}",
        from: "127.0.0.8",
      });
      assert.equal(answer.status, 200);
    }
  });

  it("answers HTTP/1.0 clients without chunked framing, and lets an upgraded connection through", async () => {
    const a = await replica("a");
    a.state.handle = (_req, res) => {
      res.write("first part, ");
      setTimeout(() => res.end("second part"), 20);
    };
    a.server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket) => {
      socket.write("HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n");
      socket.on("data", (data) => socket.write(data));
    });
    const d = await door([a.address]);
    const raw = await new Promise<string>((resolve) => {
      const socket = net.connect(d.port, "127.0.0.1", () => socket.write("GET /chunks HTTP/1.0\r\n\r\n"));
      const chunks: Buffer[] = [];
      socket.on("data", (c) => chunks.push(c));
      socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    });
    assert.match(raw, /^HTTP\/1\.[01] 200/);
    assert.doesNotMatch(raw, /transfer-encoding/i);
    assert.match(raw, /\r\n\r\nfirst part, second part$/);

    const echoed = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(d.port, "127.0.0.1", () =>
        socket.write("GET /stream HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n"),
      );
      let text = "";
      socket.on("data", (c: Buffer) => {
        text += c.toString("latin1");
        if (text.includes("\r\n\r\n") && !text.includes("ping")) socket.write("ping");
        if (text.endsWith("ping")) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on("error", reject);
    });
    assert.match(echoed, /^HTTP\/1\.1 101/);
  });

  it("lets a replica know at once when a client leaves a live stream", async () => {
    const a = await replica("a");
    const d = await door([a.address]);
    let closed = false;
    a.state.handle = (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(": open\n\n");
      res.on("close", () => (closed = true));
    };
    const { hostname, port } = new URL(d.url);
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: hostname, port, path: "/api/v1/streaming", agent: false }, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", reject);
    });
    // The replica holds the stream (a file descriptor, a backend subscription) until it hears:
    // well before HAProxy's 30 s client timeout would end it.
    await waitFor("the replica to see the stream closed", async () => closed, 5_000);
  });
});
