import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startEtcdCluster, type EtcdCluster } from "../../src/launcher/etcd-cluster.js";
import {
  compact,
  EtcdCallError,
  fillUntilNoSpace,
  get,
  listAlarms,
  memberStatus,
  NOSPACE_MESSAGE,
  put,
  recoverFromNoSpace,
} from "./etcd-admin.js";

const QUOTA = 16 * 1024 * 1024;

describe("a full disk: etcd's NOSPACE alarm and the runbook that clears it", { timeout: 120_000 }, () => {
  let dir: string;
  let cluster: EtcdCluster;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "flock-chaos-nospace-"));
    cluster = await startEtcdCluster({ dataDir: dir, quotaBackendBytes: QUOTA });
  });
  after(async () => {
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses writes once the quota is reached, keeps serving reads, and takes writes again after the runbook", async () => {
    const [url] = cluster.endpoints as [string];
    const revision = await put(url, "precious", "kept");
    const filled = await fillUntilNoSpace(url, "junk", { valueBytes: 512 * 1024 });
    assert.match(filled.refusal ?? "", NOSPACE_MESSAGE);
    assert.ok(filled.writes > 0);
    // Raised by whichever members crossed the quota first.
    assert.deepEqual([...new Set((await listAlarms(url)).map((a) => a.alarm))], ["NOSPACE"]);

    // Writes are refused on every member, reads (linearizable ones too) still answer.
    for (const member of cluster.endpoints) {
      await assert.rejects(put(member, "another", "x"), (err: unknown) => {
        assert.ok(err instanceof EtcdCallError);
        assert.match(err.message, NOSPACE_MESSAGE);
        return true;
      });
      const read = await get(member, "precious");
      assert.equal(read.value, "kept");
      assert.equal(read.modRevision, revision);
    }

    const outcome = await recoverFromNoSpace(cluster.endpoints, "junk");
    assert.ok(outcome.alarms >= 1, "the NOSPACE alarm was disarmed");
    for (let i = 0; i < outcome.after.length; i++) {
      assert.ok(
        outcome.after[i]! < outcome.before[i]!,
        `member ${i} shrank: ${outcome.before[i]} → ${outcome.after[i]}`,
      );
    }
    assert.deepEqual(await listAlarms(url), []);
    await put(url, "after", "writes resume");
    assert.equal((await get(url, "precious")).value, "kept");
    assert.equal((await get(url, "junk")).value, undefined);
  });

  it("a member replaced after a full disk replays that history, and the runbook shrinks it too", async () => {
    const [url] = cluster.endpoints as [string];
    await fillUntilNoSpace(url, "junk", { valueBytes: 512 * 1024 });
    await recoverFromNoSpace(cluster.endpoints, "junk");
    // Defragmentation is not replicated: the new member rebuilds its file from the raft log,
    // history included, and may raise NOSPACE for the whole cluster while doing so.
    const i = (await cluster.leaderIndex()) === 0 ? 1 : 0;
    await cluster.replaceMember(i);
    const member = cluster.members[i]!.clientUrl;
    const deadline = Date.now() + 20_000;
    while ((await get(member, "precious", { serializable: true }).catch(() => undefined))?.value !== "kept") {
      assert.ok(Date.now() < deadline, "the new member did not catch up");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const replayed = (await memberStatus(member)).dbSize;
    assert.ok(replayed > QUOTA / 2, `the new member's file is ${replayed} bytes: it replayed the history`);
    const outcome = await recoverFromNoSpace(cluster.endpoints);
    assert.ok(
      outcome.after[i]! < QUOTA / 4,
      `the new member's file is ${outcome.after[i]} bytes after the runbook`,
    );
    assert.deepEqual(await listAlarms(url), []);
    await cluster.waitHealthy();
    await put(member, "after-replacement", "ok");
  });

  it("compacts at the current revision: older revisions are gone", async () => {
    const [url] = cluster.endpoints as [string];
    await put(url, "c", "1");
    const revision = (await memberStatus(url)).revision;
    await compact(url, revision);
    await assert.rejects(get(url, "c", { revision: revision - 1 }), /compacted/);
    assert.equal((await get(url, "c")).value, "1");
  });
});
