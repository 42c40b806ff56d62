import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { startFrontDoor, type RunningFrontDoor } from "../fixtures/front-door.js";
import { startInProcessFlock, type InProcessFlock } from "../fixtures/in-process-flock.js";

/** The front door's own address, as the web replicas see it: not 127.0.0.1, as on another host. */
const FRONT_DOOR_SOURCE = "127.0.0.9";
const PER_ADDRESS = 5;

/** One login through the front door, from loopback address `from`, on a connection of its own. */
function login(door: RunningFrontDoor, from: string, password: string, xff?: string) {
  return new Promise<{ status: number; retryAfter?: string }>((resolve, reject) => {
    const body = JSON.stringify({ username: "throttled", password });
    const req = http.request(
      {
        host: "127.0.0.1",
        port: door.port,
        path: "/api/v1/sessions",
        method: "POST",
        localAddress: from,
        agent: false,
        headers: { "content-type": "application/json", ...(xff ? { "x-forwarded-for": xff } : {}) },
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] as string }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * Issue 13, defect 2: behind the front door, the per-address login throttle must count each
 * client's address, not the front door's. Here, as in deploy/, the front door connects from an
 * address of its own (127.0.0.9) that the web replicas are told to trust (TRUSTED_PROXIES);
 * clients come from 127.0.0.2 and 127.0.0.3.
 */
describe("the login throttle behind the front door counts each client's address", () => {
  let flock: InProcessFlock;
  let door: RunningFrontDoor;

  before(async () => {
    flock = await startInProcessFlock({
      backends: 1,
      webs: 2,
      trustedProxies: [FRONT_DOOR_SOURCE],
      accounts: { maxFailuresPerAddress: PER_ADDRESS, maxFailuresPerAccount: 1000 },
    });
    const webAddrs = flock.webUrls.map((u) => new URL(u).host);
    door = await startFrontDoor(webAddrs, { sourceAddress: FRONT_DOOR_SOURCE });
    const created = await fetch(`${door.url}/api/v1/accounts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "throttled", password: "right password" }),
    });
    assert.equal(created.status, 201);
  });
  after(async () => {
    await door?.stop();
    await flock?.close();
  });

  it("failures from 127.0.0.2 lock out 127.0.0.2 only; a forged X-Forwarded-For changes nothing", async () => {
    for (let i = 0; i < PER_ADDRESS; i++) {
      // Each one claims another address: the front door appends the real one, which is what counts.
      assert.equal((await login(door, "127.0.0.2", "wrong password", `198.51.100.${i}`)).status, 401);
    }
    const locked = await login(door, "127.0.0.2", "right password");
    assert.equal(locked.status, 429, "the address that failed is throttled");
    assert.ok(Number(locked.retryAfter) > 0);
    assert.equal(
      (await login(door, "127.0.0.2", "right password", "127.0.0.3")).status,
      429,
      "claiming to be 127.0.0.3 does not help",
    );
    assert.equal((await login(door, "127.0.0.3", "right password")).status, 201, "another address logs in");
  });
});
