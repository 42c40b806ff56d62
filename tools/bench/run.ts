import { randomBytes } from "node:crypto";
import { cpus, loadavg } from "node:os";
import type { BenchConfig } from "./config.js";
import { CostGrowth } from "./cost-growth.js";
import { BenchHttp } from "./http.js";
import { runClosedLoop, type WorkloadResult } from "./load.js";
import { Progress } from "./progress.js";
import { rng } from "./random.js";
import { measureRawEtcd } from "./raw-etcd.js";
import { workloadRows, type BenchResults } from "./report.js";
import { cpuSeconds, processMemory } from "./rss.js";
import { seedSocialGraph } from "./seed.js";
import { Seeder } from "./seeder.js";
import { startTopology, targetTopology, type Topology } from "./topology.js";
import { flockWorkloads } from "./workloads.js";

export interface RunOptions {
  /** Where each started Flock process writes a CPU profile (node --cpu-prof). */
  cpuProfDir?: string;
  /** What `npm start` wrote, for the pids of a target deployment. */
  processesFile?: string;
}

/**
 * One bench run: the topology, the cost-growth fixture measured small, the social graph,
 * raw etcd, every workload, the history grown and measured large, then peak RSS. Whatever
 * it started is stopped, whatever happens.
 */
export async function runBench(config: BenchConfig, options: RunOptions = {}): Promise<BenchResults> {
  const started = Date.now();
  const progress = new Progress(config.progress);
  // Names of this run's users start with a tag, so a run against a live deployment never
  // collides with its users or with an earlier run.
  const tag = `b${randomBytes(3).toString("hex")}`;
  const random = rng(config.seed);

  const topology: Topology = config.target
    ? targetTopology(config.target, config.etcdEndpoints!, options.processesFile ?? "data/processes.json")
    : await startTopology({ scryptLogN: config.scryptLogN, cpuProfDir: options.cpuProfDir });
  let seeder: Seeder | undefined;
  const http = new BenchHttp(topology.frontUrl, config.load.concurrency + 32);
  // Ctrl-C stops what this run started before leaving.
  const onSignal = (signal: NodeJS.Signals) => {
    progress.done(`${signal}: stopping`);
    void topology.stop().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  try {
    progress.done(
      `Flock at ${topology.frontUrl} (${topology.kind}), etcd ${topology.etcdEndpoints.join(",")}, run tag ${tag}`,
    );
    seeder = await Seeder.open(topology.etcdEndpoints, config.etcdPrefix, config.scryptLogN, progress);

    const growth = new CostGrowth(seeder, http, config.costGrowth, tag, random, progress);
    await growth.prepare();
    await growth.measureSmall();

    const seeded = await seedSocialGraph(seeder, config.graph, (i) => `${tag}_u${i}`, random, progress);
    const cpuBefore = cpuSeconds(topology.processes());
    const benchCpuBefore = process.cpuUsage();
    const rawEtcd = await measureRawEtcd(topology.etcdEndpoints, tag, config.load, config.seed, progress);
    const workloads: WorkloadResult[] = [];
    for (const workload of flockWorkloads(http, seeded, config.load.concurrency)) {
      workloads.push(await runClosedLoop(workload, config.load, config.seed, progress));
    }
    const cpuUnderLoad = new Map(
      [...cpuSeconds(topology.processes())].map(([pid, used]) => [pid, used - (cpuBefore.get(pid) ?? used)]),
    );
    const benchCpu = process.cpuUsage(benchCpuBefore);

    await growth.growHistory();
    await growth.measureLarge();

    return {
      startedAt: new Date(started).toISOString(),
      seconds: Math.round((Date.now() - started) / 100) / 10,
      machine: { cpus: cpus().length, loadAverage: loadavg(), node: process.version },
      topology: topology.kind,
      settings: {
        ...config.load,
        ...config.costGrowth,
        ...config.graph,
        scryptLogN: config.scryptLogN,
        seed: config.seed,
        tag,
      },
      graph: seeded.stats,
      rawEtcd,
      workloads: workloadRows(workloads, rawEtcd),
      costGrowth: growth.results(),
      processes: processMemory(topology.processes(), cpuUnderLoad),
      benchClientCpuSecondsUnderLoad: Math.round((benchCpu.user + benchCpu.system) / 1e5) / 10,
      notes: [
        "seeded in bulk straight into etcd with Flock's key layout and record encoders (tools/bench/records.ts)",
        `every seeded account's password hash uses scrypt log2(N)=${config.scryptLogN}; each login verifies it at that cost`,
        "the bench client, etcd and every Flock process share this machine's CPUs",
      ],
    };
  } finally {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
    http.close();
    seeder?.close();
    await topology.stop();
  }
}
