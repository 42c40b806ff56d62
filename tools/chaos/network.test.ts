import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { get, memberStatus, put } from "./etcd-admin.js";
import { ProxiedCluster } from "./proxied-cluster.js";

/** Puts `key` through `url` again and again for `ms`; the revisions acknowledged and the failures. */
async function writeFor(url: string, key: string, ms: number, timeoutMs = 1_500) {
  const acked: number[] = [];
  let failed = 0;
  const end = Date.now() + ms;
  for (let n = 0; Date.now() < end; n++) {
    try {
      acked.push(await put(url, key, `v${n}`, timeoutMs));
    } catch {
      failed++;
    }
  }
  return { acked, failed };
}

/** Every member answers and they agree on the leader and the revision. */
async function converged(cluster: ProxiedCluster, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const all = await Promise.all(cluster.endpoints.map((u) => memberStatus(u)));
      const leaders = new Set(all.map((s) => s.leader));
      const revisions = new Set(all.map((s) => s.revision));
      if (leaders.size === 1 && !leaders.has("0") && revisions.size === 1) return all[0]!.revision;
    } catch {
      // a member not answering yet
    }
    if (Date.now() > deadline) throw new Error("the members did not converge");
    await sleep(100);
  }
}

describe("fault proxies in front of a real 3-member etcd cluster", { timeout: 180_000 }, () => {
  let dir: string;
  let proxied: ProxiedCluster;
  const leader = () => proxied.cluster.leaderIndex();
  const clientUrl = (c: number, m: number) => proxied.network.clientEndpoints(c)[m]!;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "flock-chaos-net-"));
    proxied = await ProxiedCluster.start({ dataDir: dir, clients: 2 });
  });
  afterEach(async () => {
    proxied.network.heal();
    await converged(proxied);
  });
  after(async () => {
    await proxied?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("members talk through their peer proxies, and the proxies know who is who", async () => {
    await put(clientUrl(0, 0), "k", "v");
    await converged(proxied);
    const forwarded = proxied.network.peerProxies.map((p) => p.stats.bytesForwarded);
    assert.ok(
      forwarded.every((b) => b > 0),
      `raft traffic crossed every peer proxy: ${forwarded.join(", ")}`,
    );
  });

  it("an isolated leader acknowledges nothing; the other two elect a leader and go on", async () => {
    const old = await leader();
    proxied.network.isolate(old);
    const [minority, majority] = await Promise.all([
      writeFor(proxied.endpoints[old]!, "isolated", 4_000),
      (async () => {
        await sleep(2_500);
        return writeFor(proxied.endpoints[(old + 1) % 3]!, "majority", 1_500);
      })(),
    ]);
    assert.deepEqual(minority.acked, [], "the isolated leader acknowledged a write");
    assert.ok(majority.acked.length > 0, "the majority did not take writes");
    const statuses = await Promise.all(
      [0, 1, 2].filter((m) => m !== old).map((m) => memberStatus(proxied.endpoints[m]!)),
    );
    const oldId = (await memberStatus(proxied.endpoints[old]!)).memberId;
    for (const s of statuses)
      assert.notEqual(s.leader, oldId, "a follower still follows the isolated leader");
  });

  it("split 1|2 with the clients on the minority side: no write is acknowledged, then all recover", async () => {
    const minority = await leader();
    const majority = [0, 1, 2].filter((m) => m !== minority);
    proxied.network.split([minority]);
    for (const c of [0, 1]) proxied.network.cutClient(c, majority);
    const attempts = await Promise.all(
      [0, 1].map((c) => writeFor(clientUrl(c, minority), "minority", 4_000)),
    );
    for (const a of attempts) assert.deepEqual(a.acked, [], "a write through the minority was acknowledged");
    // Through the majority's own members (not faulted) writes go on.
    const direct = await writeFor(proxied.endpoints[majority[0]!]!, "majority", 1_000);
    assert.ok(direct.acked.length > 0);
    proxied.network.heal();
    await converged(proxied);
    const after = await writeFor(clientUrl(0, minority), "healed", 300, 5_000);
    assert.ok(after.acked.length > 0, "writes through the healed member resume");
  });

  it("one-way loss from the leader to a follower: writes go on, members converge after heal", async () => {
    const from = await leader();
    const to = (from + 1) % 3;
    proxied.network.dropOneWay(from, to);
    const dropped = () => proxied.network.peerProxies.reduce((sum, p) => sum + p.stats.bytesDropped, 0);
    const before = dropped();
    const writes = await writeFor(clientUrl(0, (from + 2) % 3), "one-way", 5_000, 2_000);
    assert.ok(dropped() > before, "bytes from the leader to the follower were dropped");
    assert.ok(writes.acked.length > 0, "no write went through during one-way loss");
    proxied.network.heal();
    const revision = await converged(proxied);
    assert.ok(revision >= Math.max(...writes.acked));
    const read = await get(proxied.endpoints[to]!, "one-way", { serializable: true });
    assert.equal(read.modRevision, Math.max(...writes.acked), "the follower has the last write");
  });

  it("a client cut off from every member gets no answer, while another client writes", async () => {
    proxied.network.cutClient(0);
    const [cut, other] = await Promise.all([
      writeFor(clientUrl(0, 0), "cut", 2_000, 800),
      writeFor(clientUrl(1, 0), "other", 2_000),
    ]);
    assert.deepEqual(cut.acked, []);
    assert.ok(cut.failed > 0);
    assert.ok(other.acked.length > 0);
  });

  it("slow links: client latency delays one client, peer latency delays every write", async () => {
    const timed = async (url: string) => {
      const started = performance.now();
      await put(url, "slow", "x");
      return performance.now() - started;
    };
    proxied.network.slowClient(0, { delayMs: 120, jitterMs: 30 });
    const slow = await timed(clientUrl(0, 0));
    const fast = await timed(clientUrl(1, 0));
    assert.ok(slow >= 180, `client 0 waited ${slow} ms`);
    assert.ok(fast < slow, `client 1 waited ${fast} ms`);
    proxied.network.heal();
    await converged(proxied);
    proxied.network.slowPeers({ delayMs: 100, jitterMs: 20 });
    // A write commits once a follower acknowledged it: one peer round trip at least.
    const l = await leader();
    const committed = await timed(clientUrl(1, l));
    assert.ok(committed >= 150, `a write under peer latency took ${committed} ms`);
  });
});
