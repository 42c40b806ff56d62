import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePorts, PICKED_PORTS, startEtcdCluster, type EtcdCluster } from "./etcd-cluster.js";

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

describe("member replacement", { timeout: 120_000 }, () => {
  let dir: string;
  let cluster: EtcdCluster | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "flock-replace-"));
    cluster = await startEtcdCluster({ dataDir: dir });
  });
  after(async () => {
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const gateway = async (url: string, path: string, body: object) => {
    const response = await fetch(`${url}/v3/${path}`, { method: "POST", body: JSON.stringify(body) });
    assert.equal(response.status, 200, `${path} on ${url}`);
    return (await response.json()) as Record<string, unknown>;
  };
  const b64 = (s: string) => Buffer.from(s).toString("base64");

  it("replaces a follower, then the leader, with empty members that catch up; nothing is lost", async () => {
    const c = cluster!;
    await gateway(c.endpoints[0]!, "kv/put", { key: b64("kept"), value: b64("before") });
    const leader = await c.leaderIndex();
    const follower = (leader + 1) % 3;
    const idsBefore = await c.memberIds();

    for (const i of [follower, await c.leaderIndex()]) {
      const old = c.members[i]!;
      const { removed, added } = await c.replaceMember(i);
      assert.equal(removed, old.name);
      assert.notEqual(added, old.name);
      assert.equal(c.members[i]!.name, added);
      assert.equal(c.members[i]!.clientUrl, old.clientUrl, "the new member takes the same ports");
      // The new member has caught up: its own (serializable) read sees the key.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const read = await gateway(c.members[i]!.clientUrl, "kv/range", {
          key: b64("kept"),
          serializable: true,
        });
        if ((read.kvs as unknown[] | undefined)?.length === 1) break;
        assert.ok(Date.now() < deadline, `${added} did not catch up`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const list = await gateway(c.endpoints[(i + 1) % 3]!, "cluster/member/list", {});
      const names = (list.members as { name: string }[]).map((m) => m.name).sort();
      assert.deepEqual(names, c.members.map((m) => m.name).sort());
    }
    const idsAfter = await c.memberIds();
    assert.notEqual(idsAfter[follower], idsBefore[follower]);
    // Writes go on, and the layout on disk names the new members for the next start.
    await gateway(c.endpoints[leader]!, "kv/put", { key: b64("after"), value: b64("yes") });
    await c.stop();
    cluster = await startEtcdCluster({ dataDir: dir });
    const read = await gateway(cluster.endpoints[0]!, "kv/range", { key: b64("kept") });
    assert.equal(Buffer.from((read.kvs as { value: string }[])[0]!.value, "base64").toString(), "before");
  });
});
