import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadBenchConfig } from "./config.js";
import { runBench } from "./run.js";

/**
 * The bench tool still works end to end: a tiny graph and a second of load per workload
 * against the real topology. Only completeness is checked; the numbers never are.
 */
describe("npm run bench (smoke)", { timeout: 240_000 }, () => {
  it("measures every workload, raw etcd and every cost-growth ratio, without errors", async () => {
    const config = loadBenchConfig({
      BENCH_USERS: "30",
      BENCH_MEAN_FOLLOWING: "5",
      BENCH_POSTS_PER_USER: "3",
      BENCH_CONCURRENCY: "2",
      BENCH_DURATION: "0.5",
      BENCH_WARMUP: "0.1",
      BENCH_SMALL_POSTS: "100",
      BENCH_LARGE_POSTS: "400",
      BENCH_NARROW_FOLLOWING: "2",
      BENCH_WIDE_FOLLOWING: "10",
      BENCH_FEW_FOLLOWERS: "2",
      BENCH_MANY_FOLLOWERS: "30",
      BENCH_READ_SAMPLES: "3",
      BENCH_COMPOSE_SAMPLES: "2",
      BENCH_SCRYPT_LOG_N: "10",
      BENCH_PROGRESS: "false",
    });
    const results = await runBench(config);

    for (const raw of [results.rawEtcd.get, results.rawEtcd.put]) {
      assert.ok(raw.ops > 0, `${raw.name} ran`);
      assert.equal(raw.errors, 0, `${raw.name} errors: ${JSON.stringify(raw.errorKinds)}`);
    }
    assert.deepEqual(
      results.workloads.map((w) => w.name),
      ["read-home-feed", "read-user-posts", "compose-post", "follow-unfollow", "login", "mixed-60-30-10"],
    );
    for (const w of results.workloads) {
      assert.ok(w.ops > 0, `${w.name} ran`);
      assert.equal(w.errors, 0, `${w.name} errors: ${JSON.stringify(w.errorKinds)}`);
      assert.equal(typeof w.ratioToEtcd, "number", `${w.name} has a ratio to ${w.comparedWith}`);
    }
    assert.equal(results.costGrowth.comparisons.length, 5);
    for (const c of results.costGrowth.comparisons) {
      assert.equal(typeof c.ratio, "number", `${c.name} has a ratio`);
      assert.equal(c.base.errors + (c.grown?.errors ?? 0), 0, `${c.name} without errors`);
    }
    assert.ok(results.costGrowth.postsStored.large! > results.costGrowth.postsStored.small);
    const roles = new Set(results.processes.filter((p) => p.peakRssMiB !== undefined).map((p) => p.role));
    assert.ok(roles.has("web") && roles.has("backend"), "peak RSS of web and backend processes");
  });
});
