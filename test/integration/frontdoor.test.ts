import assert from "node:assert/strict";
import http from "node:http";
import { after, describe, it } from "node:test";
import { pino } from "pino";
import { waitFor } from "../../src/launcher/child.js";
import { freePorts } from "../../src/launcher/etcd-cluster.js";
import { startFrontDoor, type FrontDoor } from "../../src/frontdoor/proxy.js";

const log = pino({ level: "silent" });

/** A stand-in web replica: /readyz as told, every other request answered by `handle`. */
async function fakeReplica(name: string) {
  const state = {
    ready: true,
    served: 0,
    handle: (_req: http.IncomingMessage, res: http.ServerResponse): void => void res.end(name),
  };
  const server = http.createServer((req, res) => {
    if (req.url === "/readyz") {
      res.statusCode = state.ready ? 200 : 503;
      return res.end();
    }
    state.served++;
    state.handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    state,
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function get(door: FrontDoor, path = "/x"): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${door.port}${path}`);
  return { status: response.status, body: await response.text() };
}

async function metric(door: FrontDoor, pattern: RegExp): Promise<number> {
  const text = (await get(door, "/_frontdoor/metrics")).body;
  return Number(pattern.exec(text)?.[1] ?? 0);
}

describe("front door", () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of cleanup.reverse()) await close();
  });

  const start = async (upstreams: string[]) => {
    const door = await startFrontDoor({ host: "127.0.0.1", port: 0, upstreams, log, probeIntervalMs: 30 });
    cleanup.push(() => door.close());
    return door;
  };

  it("sends only to ready replicas, and to any when none is ready", async () => {
    const [a, b] = await Promise.all([fakeReplica("a"), fakeReplica("b")]);
    cleanup.push(a.close, b.close);
    b.state.ready = false;
    const door = await start([a.address, b.address]);
    for (let i = 0; i < 6; i++) assert.equal((await get(door)).body, "a");
    assert.equal(b.state.served, 0);

    a.state.ready = false;
    b.state.ready = true;
    await waitFor("b ready, a not", async () => {
      const [ua, ub] = door.upstreams();
      return !ua!.ready && ub!.ready;
    });
    for (let i = 0; i < 6; i++) assert.equal((await get(door)).body, "b");

    b.state.ready = false;
    await waitFor("neither ready", async () => door.upstreams().every((u) => !u.ready));
    const bodies = new Set<string>();
    for (let i = 0; i < 6; i++) bodies.add((await get(door)).body);
    assert.deepEqual([...bodies].sort(), ["a", "b"], "still served when nobody is ready");
  });

  it("retries elsewhere when a replica refuses the connection", async () => {
    const a = await fakeReplica("a");
    cleanup.push(a.close);
    const [closedPort] = await freePorts(1);
    const door = await start([`127.0.0.1:${closedPort}`, a.address]);
    for (let i = 0; i < 4; i++) assert.deepEqual(await get(door), { status: 200, body: "a" });
  });

  it("resends a request whose kept-alive connection the replica closed before reading it", async () => {
    const a = await fakeReplica("a");
    cleanup.push(a.close);
    const door = await start([a.address]);
    assert.equal((await get(door)).body, "a"); // leaves a kept-alive connection in the pool
    // The next request arrives on that connection, and the replica drops it unanswered:
    // the keep-alive race (Node's `reusedSocket` + ECONNRESET). It must be sent again.
    let dropped = 0;
    a.state.handle = (req, res) => {
      if (dropped++ === 0) req.socket.destroy();
      else res.end("a again");
    };
    assert.deepEqual(await get(door), { status: 200, body: "a again" });
    assert.equal(dropped, 2);
    assert.equal(
      await metric(door, /flock_frontdoor_retries_total\{upstream="[^"]+",reason="reset"[^}]*\} (\d+)/),
      1,
    );
  });

  it("does not resend once a replica has started answering", async () => {
    const a = await fakeReplica("a");
    cleanup.push(a.close);
    const door = await start([a.address]);
    a.state.handle = (_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial");
      setImmediate(() => res.socket?.destroy());
    };
    await assert.rejects(get(door));
    assert.equal(a.state.served, 1);
  });

  it("on close stops accepting and lets the request in flight finish", async () => {
    const a = await fakeReplica("a");
    cleanup.push(a.close);
    const door = await startFrontDoor({
      host: "127.0.0.1",
      port: 0,
      upstreams: [a.address],
      log,
      probeIntervalMs: 30,
    });
    let answer!: () => void;
    a.state.handle = (_req, res) => {
      answer = () => res.end("slow");
    };
    const inFlight = get(door);
    await waitFor("the request to reach the replica", async () => a.state.served === 1);
    const closing = door.close();
    await assert.rejects(fetch(`http://127.0.0.1:${door.port}/x`), "no new connections");
    answer();
    assert.deepEqual(await inFlight, { status: 200, body: "slow" });
    await closing;
  });
});
