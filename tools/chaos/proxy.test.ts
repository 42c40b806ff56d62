import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { freePorts } from "../../src/launcher/etcd-cluster.js";
import {
  etcdPeerIdentity,
  FaultProxy,
  NEED_MORE,
  OPEN_LINK,
  type Direction,
  type LinkState,
} from "./proxy.js";

/** A target that echoes every byte and counts what it received. */
async function echoServer(port: number): Promise<{ server: Server; received: () => number }> {
  let received = 0;
  const server = createServer((socket) => {
    socket.on("data", (data) => {
      received += data.length;
      socket.write(data);
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { server, received: () => received };
}

/** A client socket that collects what it reads, and tells when it was closed. */
async function client(port: number) {
  const socket: Socket = connect({ host: "127.0.0.1", port });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let data = Buffer.alloc(0);
  let closed = false;
  socket.on("data", (chunk: Buffer) => (data = Buffer.concat([data, chunk])));
  socket.on("close", () => (closed = true));
  socket.on("error", () => undefined);
  return {
    socket,
    text: () => data.toString(),
    closed: () => closed,
    async waitFor(text: string, timeoutMs = 3_000) {
      const deadline = Date.now() + timeoutMs;
      while (!data.toString().includes(text)) {
        if (Date.now() > deadline) throw new Error(`no "${text}" within ${timeoutMs} ms (got "${data}")`);
        await sleep(5);
      }
    },
  };
}

describe("fault proxy", () => {
  let echoPort: number;
  let proxyPort: number;
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let state: (initiator: string | undefined, direction: Direction) => LinkState = () => OPEN_LINK;
  let proxy: FaultProxy;

  before(async () => {
    [echoPort, proxyPort] = (await freePorts(2)) as [number, number];
    echo = await echoServer(echoPort);
    proxy = new FaultProxy({
      name: "test",
      listenPort: proxyPort,
      targetPort: echoPort,
      policy: (initiator, direction) => state(initiator, direction),
    });
    await proxy.start();
  });
  after(async () => {
    await proxy.stop();
    await new Promise((resolve) => echo.server.close(resolve));
  });

  it("forwards both ways while the link is open", async () => {
    state = () => OPEN_LINK;
    const c = await client(proxyPort);
    c.socket.write("hello");
    await c.waitFor("hello");
    c.socket.destroy();
  });

  it("adds latency with jitter and keeps the byte order", async () => {
    state = () => ({ blackhole: false, delayMs: 60, jitterMs: 40 });
    const c = await client(proxyPort);
    const started = performance.now();
    c.socket.write("ping");
    await c.waitFor("ping");
    const rtt = performance.now() - started;
    // Up and down each waited 60 ± 40 ms.
    assert.ok(rtt >= 40, `round trip ${rtt} ms`);
    let sent = "";
    for (let i = 0; i < 40; i++) {
      const piece = `<${i}>`;
      sent += piece;
      c.socket.write(piece);
      await sleep(1);
    }
    await c.waitFor("<39>");
    assert.equal(c.text(), "ping" + sent);
    c.socket.destroy();
  });

  it("blackholes one direction only: the target gets the bytes, the client gets no answer", async () => {
    state = (_, direction) => ({ ...OPEN_LINK, blackhole: direction === "down" });
    const c = await client(proxyPort);
    const before = echo.received();
    c.socket.write("one-way");
    await sleep(200);
    assert.equal(echo.received() - before, "one-way".length, "the target received it");
    assert.equal(c.text(), "", "the answer was dropped");
    assert.equal(c.closed(), false, "the connection stays open, as in a partition");
    c.socket.destroy();
  });

  it("blackholes the other direction: nothing reaches the target", async () => {
    state = (_, direction) => ({ ...OPEN_LINK, blackhole: direction === "up" });
    const c = await client(proxyPort);
    const before = echo.received();
    c.socket.write("lost");
    await sleep(200);
    assert.equal(echo.received(), before);
    assert.equal(c.text(), "");
    c.socket.destroy();
  });

  it("drops bytes queued before a partition began, and resets broken connections on heal", async () => {
    let blocked = false;
    state = () => ({ blackhole: blocked, delayMs: 150, jitterMs: 0 });
    const c = await client(proxyPort);
    const before = echo.received();
    c.socket.write("in flight");
    await sleep(20);
    blocked = true;
    await sleep(300);
    assert.equal(echo.received(), before, "a chunk delivered during the partition is dropped");
    blocked = false;
    proxy.refresh();
    await sleep(50);
    assert.equal(c.closed(), true, "the connection that lost bytes was reset");
    // A new connection works at once.
    state = () => OPEN_LINK;
    const fresh = await client(proxyPort);
    fresh.socket.write("again");
    await fresh.waitFor("again");
    fresh.socket.destroy();
  });

  it("asks the policy with the initiator named by the first bytes", async () => {
    const seen: (string | undefined)[] = [];
    const identifying = new FaultProxy({
      name: "identifying",
      listenPort: (await freePorts(1))[0]!,
      targetPort: echoPort,
      identify: etcdPeerIdentity,
      policy: (initiator, direction) => {
        seen.push(initiator);
        return { ...OPEN_LINK, blackhole: initiator === "bad" && direction === "up" };
      },
    });
    await identifying.start();
    try {
      const good = await client(identifying.listenPort);
      good.socket.write("GET /raft/stream/msgapp/1 HTTP/1.1\r\nHost: x\r\n");
      await sleep(30);
      good.socket.write("X-Server-From: 8e9e05c52164694d\r\n\r\n");
      await good.waitFor("8e9e05c52164694d");
      assert.ok(seen.includes("8e9e05c52164694d"));

      const bad = await client(identifying.listenPort);
      const before = echo.received();
      bad.socket.write("POST /raft HTTP/1.1\r\nx-server-from: bad\r\n\r\nbody");
      await sleep(150);
      assert.equal(echo.received(), before, "the blocked initiator's request never arrived");
      good.socket.destroy();
      bad.socket.destroy();
    } finally {
      await identifying.stop();
    }
  });

  it("reads etcd's X-Server-From header, and waits for a whole request head", () => {
    const head = (h: string) => Buffer.from(`GET /raft/probing HTTP/1.1\r\nHost: a\r\n${h}\r\n`);
    assert.equal(etcdPeerIdentity(Buffer.from("GET / HTTP/1.1\r\nX-Server")), NEED_MORE);
    assert.equal(etcdPeerIdentity(head("X-Server-From: ABC123\r\n")), "abc123");
    assert.equal(etcdPeerIdentity(head("X-Raft-To: 1\r\n")), undefined);
  });
});
