import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { freePorts, PICKED_PORTS } from "./etcd-cluster.js";

describe("freePorts", () => {
  it("picks distinct free ports below Linux's ephemeral range", async () => {
    const ports = await freePorts(20);
    assert.equal(new Set(ports).size, 20);
    for (const port of ports) {
      assert.ok(port >= PICKED_PORTS.low && port < PICKED_PORTS.high && port < 32768, `port ${port}`);
    }
    // Each is free: it can be listened on right away.
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(ports[0], "127.0.0.1", () => resolve());
    });
    await new Promise((resolve) => server.close(resolve));
  });
});
