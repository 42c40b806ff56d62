import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { waitFor } from "../../src/launcher/child.js";
import { freePorts, startEtcdCluster, type EtcdCluster } from "../../src/launcher/etcd-cluster.js";
import { Stack, twoByTwo } from "../../src/launcher/stack.js";
import { ApiClient } from "../fixtures/api-client.js";
import type { ClusterSnapshot } from "../../src/web/ops/web-ops.js";

/**
 * Operating the real topology (3 etcd members, 2 backends, 2 web replicas, front door, every
 * one its own process): a rolling restart of every web and backend replica under steady load
 * fails no request and loses no post, and the /cluster page follows an etcd leader's death.
 */
describe("operations: rolling restart under load, live cluster view", { timeout: 150_000 }, () => {
  let dir: string;
  let etcd: EtcdCluster | undefined;
  let stack: Stack | undefined;
  let metricsPorts: number[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "flock-ops-"));
    const ports = await freePorts(7);
    metricsPorts = [ports[5]!, ports[6]!];
    etcd = await startEtcdCluster({ dataDir: join(dir, "etcd") });
    stack = new Stack(twoByTwo(ports, dir, etcd.endpoints));
    await stack.start();
  });

  after(async () => {
    await stack?.stop();
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const snapshot = async (base: string): Promise<ClusterSnapshot> => {
    const response = await fetch(`${base}/cluster.json`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(response.status, 200);
    return (await response.json()) as ClusterSnapshot;
  };

  it("restarts web-1, web-2, backend-1, backend-2 one by one under load without a failed request", async (t) => {
    const front = new ApiClient(stack!.frontUrl);
    const users = ["roll_a", "roll_b", "roll_c", "roll_d"];
    const tokens = await Promise.all(users.map((u) => front.newUser(u)));
    for (const [i, token] of tokens.entries()) {
      for (const other of users)
        if (other !== users[i]) assert.equal((await front.follow(token, other)).status, 204);
    }

    // Closed loop: each client posts, then reads its feed, again and again until told to stop.
    const failures: string[] = [];
    const acknowledged = new Map<string, number>(users.map((u) => [u, 0]));
    let completed = 0;
    let running = true;
    const client = async (i: number) => {
      const token = tokens[i]!;
      for (let n = 0; running; n++) {
        try {
          const posted = await front.post(token, `${users[i]} post ${n}`, randomUUID());
          if (posted.status === 201) acknowledged.set(users[i]!, acknowledged.get(users[i]!)! + 1);
          else failures.push(`post: ${posted.status} ${JSON.stringify(posted.body)}`);
          const feed = await front.feed(token, "?limit=20");
          if (feed.status !== 200) failures.push(`feed: ${feed.status} ${JSON.stringify(feed.body)}`);
        } catch (err) {
          failures.push(`error: ${String(err)}`);
        }
        completed += 2;
      }
    };
    const load = users.map((_, i) => client(i));
    const progressed = async (what: string) => {
      const from = completed;
      await waitFor(`requests to complete ${what}`, async () => completed >= from + 10, 20_000, 20);
    };

    const started = Date.now();
    try {
      await progressed("before the restarts");
      for (const name of ["web-1", "web-2", "backend-1", "backend-2"]) {
        const before = completed;
        const t0 = Date.now();
        await stack!.stopProcess(name); // SIGTERM: drain, finish in flight, exit
        const whileDown = completed - before;
        const t1 = Date.now();
        await stack!.startProcess(name);
        const t2 = Date.now();
        await stack!.waitReady(name);
        const t3 = Date.now();
        // Ready as its callers see it before the next one goes: the front door for a web
        // replica, both web replicas for a backend.
        const address = stack!.processes().find((p) => p.name === name)!.address;
        if (name.startsWith("web")) {
          await waitFor(`the front door to see ${name} ready`, async () => {
            const replicas = await stack!.frontDoorReplicas();
            return replicas.find((r) => r.address === address)?.status === "UP";
          });
        } else {
          for (const web of [0, 1]) {
            await waitFor(`web-${web + 1} to see ${name} SERVING`, async () => {
              const view = await snapshot(stack!.webUrl(web));
              return view.backends.find((b) => b.address === address)?.health === "SERVING";
            });
          }
        }
        t.diagnostic(
          `${name}: stopped in ${t1 - t0} ms (${whileDown} requests completed meanwhile), ` +
            `started in ${t2 - t1} ms, ready after ${t3 - t2} ms, seen ready after ${Date.now() - t3} ms`,
        );
        await progressed(`after restarting ${name}`);
      }
    } finally {
      running = false;
      await Promise.all(load);
    }
    const seconds = (Date.now() - started) / 1000;
    t.diagnostic(
      `${completed} requests in ${seconds.toFixed(1)} s through the restarts, ${failures.length} failed`,
    );
    const door = await (await fetch(`${stack!.adminUrl}/metrics`)).text();
    const retries = door
      .split("\n")
      .filter((l) => /^haproxy_backend_(retry|redispatch)_warnings_total\{proxy="web"/.test(l));
    t.diagnostic(`front door retries: ${retries.join("; ")}`);
    assert.deepEqual(failures, [], "no request failed");
    assert.ok(completed >= 80, `steady load ran (${completed} requests)`);

    // Nothing lost, nothing doubled: each author has exactly the posts that were acknowledged.
    for (const user of users) {
      const profile = await front.user(user);
      assert.equal(profile.body.posts, acknowledged.get(user), `${user}'s post count`);
    }
  });

  it("shows members, backends and webs on /cluster (admin listener only), and follows an etcd leader's death", async () => {
    assert.equal((await fetch(`${stack!.frontUrl}/cluster`)).status, 404, "not on the public listener");
    assert.equal((await fetch(`${stack!.frontUrl}/cluster.json`)).status, 404, "not on the public listener");
    const initial = await snapshot(stack!.adminUrl);
    assert.equal(initial.etcd.storage, "etcd");
    assert.equal(initial.etcd.members.length, 3);
    assert.ok(
      initial.etcd.members.every(
        (m) => m.reachable && m.raftTerm > 0 && m.raftIndex > 0 && m.dbSizeBytes > 0,
      ),
    );
    assert.equal(initial.etcd.members.filter((m) => m.isLeader).length, 1);
    assert.ok(initial.etcd.leader, "the leader has a name");
    assert.deepEqual(
      initial.backends.map((b) => b.health),
      ["SERVING", "SERVING"],
    );
    assert.ok(initial.webs.length === 2 && initial.webs.every((w) => w.reachable && w.ready));
    assert.ok(initial.requests.perSecond > 0, "request rate from the load just run");

    const page = await fetch(`${stack!.adminUrl}/cluster`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, new RegExp(`Leader: <strong>${initial.etcd.leader}</strong>`));
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)/, "no inline script");
    assert.doesNotMatch(html, /\sstyle=/, "no style attributes");

    const leader = await etcd!.leaderIndex();
    const killed = etcd!.members[leader]!;
    await etcd!.kill(leader, "SIGKILL");
    let during: ClusterSnapshot | undefined;
    await waitFor(
      "/cluster to show the killed leader unreachable and a new leader",
      async () => {
        during = await snapshot(stack!.adminUrl);
        const dead = during.etcd.members.find((m) => m.endpoint === killed.clientUrl);
        const newLeader = during.etcd.members.find((m) => m.isLeader);
        return (
          dead?.reachable === false &&
          dead.name === killed.name &&
          newLeader !== undefined &&
          newLeader.endpoint !== killed.clientUrl
        );
      },
      20_000,
      200,
    );
    assert.notEqual(during!.etcd.leader, initial.etcd.leader);
    assert.equal((await fetch(`${stack!.adminUrl}/cluster`)).status, 200, "the page renders meanwhile");

    await etcd!.restart(leader);
    await waitFor("/cluster to show every member again", async () =>
      (await snapshot(stack!.adminUrl)).etcd.members.every((m) => m.reachable),
    );
  });

  it("exposes real counters: /metrics on web, the metrics port on backends, the front door's on its admin listener", async () => {
    // The test before killed the etcd leader: the store, and with it readiness, may still be
    // coming back. Gauges are read once everything reports ready again.
    const scrape = async (url: string) => (await fetch(url, { signal: AbortSignal.timeout(2000) })).text();
    await waitFor(
      "the store and every replica to be ready again",
      async () =>
        /^flock_store_up\{role="backend"\} 1/m.test(
          await scrape(`http://${stack!.host}:${metricsPorts[0]}/metrics`),
        ) && (await stack!.frontDoorReplicas()).every((r) => r.status === "UP"),
      20_000,
      200,
    );
    assert.equal((await fetch(`${stack!.frontUrl}/metrics`)).status, 404, "not on the public listener");
    const web = await (await fetch(`${stack!.webUrl(0)}/metrics`)).text();
    assert.match(web, /^flock_http_requests_total\{route="\/api\/v1\/posts",method="POST",status="201"/m);
    assert.match(
      web,
      /^flock_http_request_duration_seconds_bucket\{le="0\.05",role="web",route="\/api\/v1\/feed"/m,
    );
    assert.match(
      web,
      /^flock_grpc_client_calls_total\{service="PostsService",method="CreatePost",code="OK"/m,
    );
    assert.match(web, /^nodejs_eventloop_lag_p99_seconds/m);
    assert.match(web, /^process_resident_memory_bytes/m);

    const backend = await (await fetch(`http://${stack!.host}:${metricsPorts[0]}/metrics`)).text();
    assert.match(
      backend,
      /^flock_grpc_server_calls_total\{service="PostsService",method="CreatePost",code="OK"/m,
    );
    assert.match(backend, /^flock_grpc_server_call_duration_seconds_bucket/m);
    assert.match(backend, /^flock_etcd_calls_total\{op="txn",outcome="ok"/m);
    assert.match(backend, /^flock_etcd_call_duration_seconds_count\{role="backend",op="range"\} [1-9]/m);
    assert.match(backend, /^flock_etcd_call_retries_total|^# TYPE flock_etcd_call_retries_total counter/m);
    assert.match(backend, /^flock_store_up\{role="backend"\} 1/m);
    assert.match(backend, /^nodejs_heap_size_used_bytes/m);

    const door = await (await fetch(`${stack!.adminUrl}/metrics`)).text();
    assert.match(door, /^haproxy_backend_http_responses_total\{proxy="web",code="2xx"\} [1-9]/m);
    assert.match(door, /^haproxy_server_status\{proxy="web",server="web-1",state="UP"\} 1/m);
  });
});
