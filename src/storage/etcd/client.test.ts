import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { EtcdStore } from "./client.js";

/** A loopback port nobody listens on: every connection is refused (the store is away). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("EtcdStore call budget", () => {
  it("gives up within its budget even when the wall clock jumps backwards during the call", async () => {
    const store = new EtcdStore({
      endpoints: [`http://127.0.0.1:${await closedPort()}`],
      prefix: "",
      timeoutMs: 1_000,
    });
    const realNow = Date.now;
    // A clock stepped back by ten minutes (NTP, a VM resumed, libfaketime) while the call retries.
    const jump = setTimeout(() => (Date.now = () => realNow() - 10 * 60_000), 200);
    const started = performance.now();
    try {
      await assert.rejects(store.range({ key: Buffer.from("k") }), { name: "StoreTimeoutError" });
      const ms = performance.now() - started;
      assert.ok(ms < 5_000, `the call retried for ${Math.round(ms)} ms on a 1000 ms budget`);
    } finally {
      clearTimeout(jump);
      Date.now = realNow;
      store.close();
    }
  });
});
