import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadBenchConfig } from "./config.js";
import { bars, formatResults, issue14Bars } from "./report.js";
import { runBench } from "./run.js";

/**
 * The bench tool still works end to end: tiny sizes and half a second of load per workload,
 * at two concurrencies, against the real topology. Only completeness is checked; the numbers
 * never are.
 */
describe("npm run bench (smoke)", { timeout: 180_000 }, () => {
  it("measures every workload at each concurrency, raw etcd, streaming clients, ack-to-visible, cost growth, storage, restart and profiles", async () => {
    const config = loadBenchConfig({
      BENCH_USERS: "30",
      BENCH_MEAN_FOLLOWING: "5",
      BENCH_POSTS_PER_USER: "3",
      BENCH_CONCURRENCY: "2,4",
      BENCH_DURATION: "0.4",
      BENCH_WARMUP: "0.1",
      BENCH_IDLE: "0.5",
      BENCH_SMALL_POSTS: "100",
      BENCH_LARGE_POSTS: "400",
      BENCH_NARROW_FOLLOWING: "2",
      BENCH_WIDE_FOLLOWING: "10",
      BENCH_FEW_FOLLOWERS: "2",
      BENCH_MANY_FOLLOWERS: "30",
      BENCH_VISIBLE_FOLLOWERS: "2",
      BENCH_READ_SAMPLES: "3",
      BENCH_COMPOSE_SAMPLES: "2",
      BENCH_SCRYPT_LOG_N: "10",
      BENCH_PROFILE_CONCURRENCY: "2",
      BENCH_STREAMS: "4,8",
      BENCH_STREAM_POSTS: "2",
      BENCH_STREAM_SEARCH_START: "8",
      BENCH_STREAM_CAP: "16",
      // The front door lets a closed stream go about 30 s later: not worth waiting for here.
      BENCH_STREAM_RELEASE_WAIT: "0",
      // Only completeness is checked: a busy machine's latency must not end the search early.
      BENCH_STREAM_MAX_P99: "60000",
      BENCH_PROGRESS: "false",
    });
    const results = await runBench(config);

    assert.deepEqual(
      results.runs.map((r) => r.concurrency),
      [2, 4],
    );
    for (const run of results.runs) {
      assert.ok(run.idleCores.backend !== undefined, "idle CPU measured");
      for (const raw of [run.rawEtcd.get, run.rawEtcd.put]) {
        assert.ok(raw.ops > 0, `${raw.name} ran at ${run.concurrency}`);
        assert.equal(raw.errors, 0, `${raw.name} errors: ${JSON.stringify(raw.errorKinds)}`);
      }
      assert.deepEqual(
        run.workloads.map((w) => w.name),
        [
          "read-home-feed",
          "read-user-posts",
          "compose-post",
          "follow-unfollow",
          "login",
          "mixed-60-30-10",
          "like-unlike",
          "reply",
          "delete-post",
        ],
      );
      // etcd's own counters: a raw get is one Range, a raw put one Put, a post one Txn.
      const perOp = (name: string) =>
        [run.rawEtcd.get, run.rawEtcd.put, ...run.workloads].find((w) => w.name === name)!.etcdPerOp!;
      assert.ok(
        Math.abs(perOp("etcd-get").range - 1) < 0.1,
        `etcd-get: ${JSON.stringify(perOp("etcd-get"))}`,
      );
      assert.ok(Math.abs(perOp("etcd-put").put - 1) < 0.1, `etcd-put: ${JSON.stringify(perOp("etcd-put"))}`);
      assert.ok(perOp("etcd-put").fsync > 0, "fsyncs counted");
      assert.ok(perOp("compose-post").txn >= 1, `compose-post: ${JSON.stringify(perOp("compose-post"))}`);
      for (const w of run.workloads) {
        assert.ok(w.ops > 0, `${w.name} ran at ${run.concurrency}`);
        assert.equal(w.errors, 0, `${w.name} errors: ${JSON.stringify(w.errorKinds)}`);
        assert.equal(typeof w.ratioToEtcd, "number", `${w.name} has a ratio to ${w.comparedWith}`);
      }
    }

    const deletes = results.runs.map((r) => r.workloads.find((w) => w.name === "delete-post")!);
    assert.ok(
      deletes.every((d) => /deleted \d+ posts/.test(d.note ?? "")),
      "delete-post says where its posts came from",
    );

    const streaming = results.streaming!;
    assert.deepEqual(
      streaming.steps.map((s) => [s.streams, s.via]),
      [
        [4, "front door"],
        [8, "front door"],
      ],
    );
    const { search } = streaming;
    for (const step of [...streaming.steps, ...search!.steps]) {
      const where = `${step.streams} streams via ${step.via}`;
      assert.equal(step.open, step.streams, `${where}: all open`);
      assert.equal(step.posts, 2, `${where}: the author posted`);
      assert.equal(step.events, step.posts * step.open, `${where}: every event at every stream`);
      assert.deepEqual([step.missed, step.repeated, step.dropped, step.openErrors], [0, 0, 0, 0], where);
      assert.deepEqual(step.problems, [], where);
      assert.ok(step.ackToEvent.p99 >= step.ackToEvent.p50, `${where}: ack-to-event percentiles`);
      assert.equal(step.replicas.length, 2, `${where}: both web replicas`);
      assert.ok(
        step.replicas.every((r) => r.rssMiB! > 0 && r.openStreams !== undefined),
        `${where}: each web replica's RSS and open streams`,
      );
    }
    // The front-door steps run first: the web replicas' counts add up to the streams held.
    for (const step of streaming.steps) {
      assert.equal(
        step.replicas.reduce((sum, r) => sum + r.openStreams!, 0),
        step.streams,
        `${step.streams} streams: flock_web_open_streams of the web replicas`,
      );
    }
    for (const step of search!.steps) {
      // Streams of the front-door steps may still be counted (see BENCH_STREAM_RELEASE_WAIT above).
      const web1 = step.replicas.find((r) => r.name === "web-1")!;
      assert.ok(web1.openStreams! >= step.streams, "web-1 holds the search's streams");
    }
    assert.equal(search!.via, "web-1");
    assert.deepEqual(
      search!.steps.map((s) => s.streams),
      [8, 16],
    );
    assert.ok(search!.held > 0, "web-1 held the search's streams");
    assert.match(search!.stopped, /BENCH_STREAM_CAP=16/);
    assert.ok(streaming.fds.benchClient.soft! > 0, "the bench client's ulimit -n");
    assert.deepEqual(
      streaming.released.map((r) => [r.via, r.streams]),
      [
        ["front door", 8],
        ["web-1", 16],
      ],
    );

    const { visibility, comparisons, postsStored } = results.costGrowth;
    for (const v of [visibility.few, visibility.many]) {
      assert.ok(v && v.posts > 0 && v.ops === v.posts * v.sampledFollowers, "ack-to-visible sampled");
      assert.equal(v.errors, 0, "every post became visible");
      assert.equal(v.staleReads, 0, "no read after the ack missed the post");
    }
    assert.equal(typeof visibility.ratioP50, "number");
    assert.equal(comparisons.length, 6);
    for (const c of comparisons) {
      assert.equal(typeof c.ratio, "number", `${c.name} has a ratio`);
      assert.equal(c.base.errors + (c.grown?.errors ?? 0), 0, `${c.name} without errors`);
    }
    assert.ok(postsStored.large! >= 400 && postsStored.large! > postsStored.small);

    const { storage } = results;
    assert.ok(storage.perPost && storage.perPost.keysPerFact > 0, "keys per post");
    assert.ok(storage.perFollow && storage.perFollow.keysPerFact > 0, "keys per follow");
    assert.equal(storage.etcd.length, 3);
    for (const m of storage.etcd) assert.ok(m.rssMiB! > 0 && m.dbSizeMiB! > 0, `etcd ${m.endpoint} figures`);
    assert.ok(
      storage.backends.every((b) => b.heapUsedMiB! > 0),
      "backend heap after GC",
    );
    assert.ok(
      results.seeding.some((p) => p.name.endsWith("posts") && p.txnsPerSecond > 0),
      "seeding rate",
    );

    assert.ok(
      results.restart && results.restart.readyMs > 0 && results.restart.pid !== results.restart.killedPid,
    );
    assert.ok(results.restart.rssMiB! > 0, "restarted backend's RSS");

    const [restartProfile, ...profiles] = results.profiles;
    assert.match(restartProfile?.workload ?? "", /restart until SERVING/);
    assert.ok(
      restartProfile!.roles[0]!.areas.length > 0,
      "the restarted backend was profiled from its start",
    );
    assert.deepEqual(
      profiles.map((p) => p.workload),
      ["read-home-feed", "compose-post"],
    );
    for (const p of profiles) {
      assert.deepEqual(
        p.roles.map((r) => r.role).sort(),
        ["backend", "web"],
        "the Node processes (the front door is HAProxy)",
      );
      for (const r of p.roles) assert.ok(r.areas.length > 0, `${p.workload}: ${r.role} profiled`);
    }

    const roles = new Set(results.processes.filter((p) => p.peakRssMiB !== undefined).map((p) => p.role));
    assert.ok(roles.has("web") && roles.has("backend") && roles.has("etcd"), "peak RSS of every role");
    assert.ok(bars(results).length > 10);
    assert.ok(
      issue14Bars(results).every((b) => b.ok !== false),
      "issue 14's bench bars",
    );
    const report = formatResults(results);
    assert.match(report, /\| read-home-feed/);
    assert.match(report, /\| delete-post/);
    // Every workload's bound were etcd free, over the raw etcd figure it is compared with.
    assert.match(report, /ops\/s on \d+ cores were etcd free/);
    assert.match(report, /\| compose-post [^\n]*\| +[\d,]+ \| +\d+\.\d\d of etcd-put \|/);
    assert.match(report, /Streaming clients: ack-to-event/);
  });
});
