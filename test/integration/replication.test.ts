import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ApiClient } from "../fixtures/api-client.js";
import { freePorts, startEtcdCluster, type EtcdCluster } from "../../src/launcher/etcd-cluster.js";
import { Stack, twoByTwo } from "../../src/launcher/stack.js";
import { waitFor } from "../../src/launcher/child.js";

/**
 * The full topology as separate processes on a real 3-member etcd cluster: data and
 * sessions outlive any one etcd member, every backend, and a restart of everything.
 */
describe("replication: 3 etcd members, 2 backends, 2 web replicas, front door", { timeout: 180_000 }, () => {
  let dir: string;
  let etcd: EtcdCluster | undefined;
  let stack: Stack | undefined;
  let ports: number[];
  let front: ApiClient;

  const startStack = async () => {
    stack = new Stack(twoByTwo(ports, dir, etcd!.endpoints));
    await stack.start();
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "flock-replication-"));
    ports = await freePorts(5);
    etcd = await startEtcdCluster({ dataDir: join(dir, "etcd") });
    await startStack();
    front = new ApiClient(stack!.frontUrl);
  });

  after(async () => {
    await stack?.stop();
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("a session made through web replica A works on B and survives restarting every backend", async () => {
    const a = new ApiClient(stack!.webUrl(0));
    const b = new ApiClient(stack!.webUrl(1));
    const token = await a.newUser("sessionuser");
    assert.equal((await b.post(token, "via b")).status, 201);

    for (const backend of ["backend-1", "backend-2"]) {
      await stack!.stopProcess(backend);
      await stack!.startProcess(backend);
    }
    const posts = await a.userPosts("sessionuser");
    assert.deepEqual(
      posts.body.posts.map((p) => p.text),
      ["via b"],
    );
    assert.equal((await b.post(token, "after backend restarts")).status, 201);
  });

  it("keeps taking writes with the etcd leader SIGKILLed, and loses none", async () => {
    const reader = await front.newUser("leaderreader");
    const author = await front.newUser("leaderauthor");
    assert.equal((await front.follow(reader, "leaderauthor")).status, 204);
    assert.equal((await front.post(author, "before the kill")).status, 201);

    const leader = await etcd!.leaderIndex();
    await etcd!.kill(leader, "SIGKILL");
    await waitFor(
      "a write to succeed without the old leader",
      async () => (await front.post(author, "first write after the kill")).status === 201,
      20_000,
      200,
    );
    for (let i = 1; i <= 5; i++) assert.equal((await front.post(author, `after the kill ${i}`)).status, 201);
    assert.equal((await front.signup("bornwithoutleader", "password123")).status, 201);

    const feed = await front.feed(reader, "?limit=100");
    const texts = feed.body.posts.map((p) => p.text);
    assert.ok(texts.includes("before the kill"));
    for (let i = 1; i <= 5; i++) assert.ok(texts.includes(`after the kill ${i}`), `post ${i} in the feed`);
    assert.equal(new Set(texts).size, texts.length, "no duplicates");

    await etcd!.restart(leader);
    await etcd!.waitHealthy();
  });

  it("finds every account, session, follow and post again after a full restart", async () => {
    const reader = await front.newUser("restartreader");
    const author = await front.newUser("restartauthor");
    await front.follow(reader, "restartauthor");
    const posted = await front.post(author, "survives restarts");
    assert.equal(posted.status, 201);

    await stack!.stop();
    await etcd!.stop();
    etcd = await startEtcdCluster({ dataDir: join(dir, "etcd") });
    await startStack();

    const feed = await front.feed(reader);
    assert.equal(feed.status, 200, "the session survived");
    assert.deepEqual(
      feed.body.posts.map((p) => p.id),
      [posted.body.id],
    );
    assert.equal((await front.login("restartauthor", "correct horse battery")).status, 201);
    assert.deepEqual((await front.user("restartauthor")).body, {
      username: "restartauthor",
      displayName: null,
      bio: null,
      followers: 1,
      following: 0,
      posts: 1,
    });
  });
});
