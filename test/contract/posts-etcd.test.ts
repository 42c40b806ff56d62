import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startEtcdCluster, type EtcdCluster } from "../../src/launcher/etcd-cluster.js";
import { isStoreUnavailable } from "../../src/storage/etcd/errors.js";
import { postsStorageContract } from "./posts.contract.js";
import type { PostRecord } from "../../src/services/posts/storage.js";
import { EtcdPostsStorage } from "../../src/services/posts/storage/etcd.js";

describe("EtcdPostsStorage on a real 3-member etcd cluster", () => {
  let dataDir: string | undefined;
  let cluster: EtcdCluster | undefined;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "flock-posts-etcd-"));
    cluster = await startEtcdCluster({ dataDir });
  });
  after(async () => {
    await cluster?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  // Every test gets its own key prefix, so tests share the cluster but never each other's data.
  function open(prefix = `test-${randomBytes(6).toString("hex")}/`, endpoints?: string[]): EtcdPostsStorage {
    if (!cluster) throw new Error("etcd cluster did not start");
    return new EtcdPostsStorage({ endpoints: endpoints ?? cluster.endpoints, prefix, timeoutMs: 5_000 });
  }

  postsStorageContract("etcd", async () => {
    const storage = open();
    return { storage, cleanup: () => storage.close() };
  });

  // Last in this file: it takes a member down (and back up) under the other tests' cluster.
  it("keeps writing and reading after the leader is SIGKILLed, then takes the member back", async (t) => {
    const c = cluster!;
    const prefix = `test-${randomBytes(6).toString("hex")}/`;
    const storage = open(prefix);
    try {
      const written = await storage.createPost(post("alice", "before the kill"));
      await storage.fanOut(["bob", "carol"], { id: written.id, author: "alice" });

      const leader = await c.leaderIndex();
      await c.kill(leader, "SIGKILL");
      const killedAt = Date.now();
      // Same post (same id) on every try: a try that timed out may have been applied, and must not duplicate.
      const next = post("alice", "after the kill");
      const stored = await retryWhileUnavailable(10_000, () => storage.createPost(next));
      await retryWhileUnavailable(5_000, () =>
        storage.fanOut(["bob", "carol"], { id: next.id, author: "alice" }),
      );
      t.diagnostic(`write after leader kill acknowledged in ${Date.now() - killedAt} ms`);

      assert.deepEqual(stored, next);
      assert.deepEqual(await storage.getPosts([written.id, next.id]), [written, next]);
      assert.deepEqual(await storage.listAuthorPosts("alice", undefined, 10), [next, written]);
      assert.deepEqual(
        (await storage.readFeed("bob", undefined, 10)).map((e) => e.id),
        [next.id, written.id],
      );

      // The member comes back on its data dir and catches up: reads through it alone see both posts.
      await c.restart(leader);
      const throughRestarted = open(prefix, [c.members[leader]!.clientUrl]);
      try {
        assert.deepEqual(await throughRestarted.getPosts([written.id, next.id]), [written, next]);
      } finally {
        await throughRestarted.close();
      }
    } finally {
      await storage.close();
    }
  });
});

let clock = Date.now();
function post(author: string, text: string): PostRecord {
  const ms = clock++;
  return { id: String(ms).padStart(13, "0") + randomBytes(6).toString("hex"), author, text, createdAtMs: ms };
}

/** Repeats an idempotent call while the store says "unavailable", up to `timeoutMs`. */
async function retryWhileUnavailable<T>(timeoutMs: number, call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!isStoreUnavailable(err) || Date.now() > deadline) throw err;
    }
  }
}
