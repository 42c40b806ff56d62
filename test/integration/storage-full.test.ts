import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePorts, startEtcdCluster, type EtcdCluster } from "../../src/launcher/etcd-cluster.js";
import { Stack, twoByTwo } from "../../src/launcher/stack.js";
import { ApiClient } from "../fixtures/api-client.js";

/** One call of etcd's JSON gateway; throws with etcd's message when refused. */
async function gateway(url: string, path: string, body: object): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}/v3/${path}`, { method: "POST", body: JSON.stringify(body) });
  const json = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(String(json.message ?? json.error));
  return json;
}
const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");

/**
 * etcd out of space (NOSPACE alarm): a write is answered at once with a 503 that says storage
 * is full (not retried for its whole budget, not an internal error), reads keep working, and
 * after the README's runbook (compact, defragment, disarm) writes resume with nothing lost.
 */
describe("etcd out of space", { timeout: 180_000 }, () => {
  let dir: string;
  let etcd: EtcdCluster | undefined;
  let stack: Stack | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "flock-nospace-"));
    etcd = await startEtcdCluster({ dataDir: join(dir, "etcd"), quotaBackendBytes: 16 * 1024 * 1024 });
    stack = new Stack(twoByTwo(await freePorts(5), dir, etcd.endpoints));
    await stack.start();
  });
  after(async () => {
    await stack?.stop();
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers writes with a 503 saying storage is full, serves reads, and takes writes after the runbook", async () => {
    const api = new ApiClient(stack!.frontUrl);
    const author = await api.newUser("fullauthor");
    const reader = await api.newUser("fullreader");
    assert.equal((await api.follow(reader, "fullauthor")).status, 204);
    const kept = await api.post(author, "written before the disk filled up");
    assert.equal(kept.status, 201);

    const url = etcd!.endpoints[0]!;
    const junk = Buffer.alloc(512 * 1024, "x");
    for (let i = 0; ; i++) {
      assert.ok(i < 200, "the quota was never reached");
      try {
        await gateway(url, "kv/put", { key: b64("junk"), value: b64(junk) });
      } catch (err) {
        assert.match(String(err), /database space exceeded/);
        break;
      }
    }

    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const refused = await api.post(author, `written while full ${i}`);
      const ms = performance.now() - started;
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.match(JSON.stringify(refused.body), /storage is full/);
      assert.ok(ms < 2_000, `answered in ${ms} ms, not after retrying for the whole budget`);
    }
    const feed = await api.feed(reader);
    assert.equal(feed.status, 200, "reads keep working");
    assert.deepEqual(
      feed.body.posts.map((p) => p.text),
      ["written before the disk filled up"],
    );

    // The runbook: delete what filled it, compact at the current revision, defragment each member, disarm.
    await gateway(url, "kv/deleterange", { key: b64("junk") });
    const status = await gateway(url, "maintenance/status", {});
    const revision = (status.header as { revision: string }).revision;
    await gateway(url, "kv/compaction", { revision, physical: true });
    for (const member of etcd!.endpoints) await gateway(member, "maintenance/defragment", {});
    const alarms = (await gateway(url, "maintenance/alarm", { action: "GET" })).alarms as object[];
    for (const alarm of alarms) await gateway(url, "maintenance/alarm", { action: "DEACTIVATE", ...alarm });

    const resumed = await api.post(author, "written after the runbook");
    assert.equal(resumed.status, 201, JSON.stringify(resumed.body));
    const after = await api.feed(reader);
    assert.deepEqual(
      after.body.posts.map((p) => p.text),
      ["written after the runbook", "written before the disk filled up"],
    );
  });
});
