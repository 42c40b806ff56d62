import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePorts, startEtcdCluster, type EtcdCluster } from "../../src/launcher/etcd-cluster.js";
import { skewedClockEnv } from "../../src/launcher/faketime.js";
import { Stack, twoByTwo } from "../../src/launcher/stack.js";
import { ApiClient } from "../fixtures/api-client.js";

const TEN_MINUTES_MS = 10 * 60_000;

/**
 * Order is etcd's commit order, never a backend's clock: with one of two backends running
 * 10 minutes behind (libfaketime), posts acknowledged one after another stay in that order in
 * every feed and profile, while their timestamps show which clock stamped them.
 */
describe("a backend whose clock is 10 minutes behind", { timeout: 180_000 }, () => {
  let dir: string;
  let etcd: EtcdCluster | undefined;
  let stack: Stack | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "flock-skew-"));
    const ports = await freePorts(5);
    etcd = await startEtcdCluster({ dataDir: join(dir, "etcd") });
    stack = new Stack({
      ...twoByTwo(ports, dir, etcd.endpoints),
      backendEnv: (i) => (i === 1 ? skewedClockEnv("-10m") : undefined),
    });
    await stack.start();
  });
  after(async () => {
    await stack?.stop();
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("lists posts in the order they were acknowledged", async () => {
    const front = new ApiClient(stack!.frontUrl);
    const author = await front.newUser("skewauthor");
    const reader = await front.newUser("skewreader");
    assert.equal((await front.follow(reader, "skewauthor")).status, 204);

    const acknowledged: { text: string; createdAt: number }[] = [];
    for (let i = 0; i < 24; i++) {
      const posted = await front.post(author, `post ${i}`);
      assert.equal(posted.status, 201);
      acknowledged.push({ text: posted.body.text, createdAt: Date.parse(posted.body.createdAt) });
    }
    // Both clocks stamped posts: some were stamped about ten minutes before posts sent earlier.
    const stamps = acknowledged.map((p) => p.createdAt);
    const backwards = stamps.slice(1).filter((t, i) => stamps[i]! - t > TEN_MINUTES_MS / 2).length;
    assert.ok(backwards > 0, "every post went to the same backend: the skew was not exercised");

    const newestFirst = acknowledged.map((p) => p.text).reverse();
    const feed = await front.feed(reader, "?limit=100");
    assert.deepEqual(
      feed.body.posts.map((p) => p.text),
      newestFirst,
    );
    const profile = await front.userPosts("skewauthor", "?limit=100");
    assert.deepEqual(
      profile.body.posts.map((p) => p.text),
      newestFirst,
    );
  });
});
