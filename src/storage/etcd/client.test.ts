import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { describe, it } from "node:test";
import { EtcdStore, type EtcdCallObserver } from "./client.js";

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

/**
 * A member frozen mid-call (SIGSTOP, a partition that holds packets): it accepts connections
 * and never answers. Whatever was sent to it may still be applied when it wakes.
 */
async function frozenMember(t: { after(fn: () => unknown): void }): Promise<number> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return (server.address() as { port: number }).port;
}

function countingStore(port: number) {
  const calls: { what: string; ok: boolean; attempts: number }[] = [];
  const observer: EtcdCallObserver = {
    callDone: (what, _seconds, ok, attempts) => calls.push({ what, ok, attempts }),
    retry: () => undefined,
  };
  const store = new EtcdStore({
    endpoints: [`http://127.0.0.1:${port}`],
    prefix: "",
    timeoutMs: 1_500,
    observer,
  });
  return { store, calls };
}

describe("EtcdStore: a write that gives up", () => {
  it("says its outcome is unknown when an attempt may still be applied (a frozen member)", async (t) => {
    const { store, calls } = countingStore(await frozenMember(t));
    t.after(() => store.close());
    const write = { success: [{ request_put: { key: Buffer.from("f/a/b"), value: Buffer.from("1") } }] };
    await assert.rejects(store.txn(write), { name: "StoreOutcomeUnknownError" });
    // A read on the same member is only unavailable: it changed nothing.
    await assert.rejects(store.readInBatches([{ request_range: { key: Buffer.from("k") } }]), {
      name: "StoreTimeoutError",
    });
    assert.deepEqual(
      calls.map(({ what, ok }) => ({ what, ok })),
      [
        { what: "txn", ok: false },
        { what: "txn", ok: false },
      ],
    );
    for (const call of calls) assert.ok(call.attempts >= 2, `re-sent within the budget: ${call.attempts}`);
  });

  it("is only unavailable (safe to send again elsewhere) when no attempt reached etcd", async (t) => {
    const { store } = countingStore(await closedPort());
    t.after(() => store.close());
    const write = { success: [{ request_put: { key: Buffer.from("f/a/b"), value: Buffer.from("1") } }] };
    await assert.rejects(store.txn(write), { name: "StoreTimeoutError" });
  });
});
