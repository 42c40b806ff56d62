import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchConfig } from "./config.js";
import { CostGrowth } from "./cost-growth.js";
import { etcdWorkPerOp } from "./etcd-work.js";
import { BenchHttp } from "./http.js";
import { runClosedLoop, type WorkloadResult } from "./load.js";
import { profileWorkloads, roleProfiles } from "./profile.js";
import { Progress } from "./progress.js";
import { rng } from "./random.js";
import { measureRawEtcd } from "./raw-etcd.js";
import { workloadRows, type BenchResults, type ConcurrencyRun, type RestartResults } from "./report.js";
import { cpuPerOp, cpuSeconds, idleCores, processMemory } from "./rss.js";
import { seedSocialGraph } from "./seed.js";
import { Seeder, type SeedPhase } from "./seeder.js";
import { etcdMembers, footprint, perFact, V1_ETCD_RSS_REFERENCE, type PerFact } from "./storage.js";
import { startTopology, targetTopology, type Topology } from "./topology.js";
import { StreamingBench } from "./streaming.js";
import { flockWorkloads, PostLedger, seededPosts } from "./workloads.js";

export interface RunOptions {
  /** What `npm start` wrote, for the pids of a target deployment. */
  processesFile?: string;
}

/** How long the views may take to catch up with a seeded phase before the run gives up. */
const SETTLE_TIMEOUT_MS = 300_000;
/** A restarted backend that is not ready after this long is reported as failed (the bar is 15 s). */
const RESTART_TIMEOUT_MS = 180_000;

/**
 * One bench run: the topology; the cost-growth fixture, measured at the small history; the
 * social graph; the history grown to the large size (keys and view memory per follow and per
 * post measured around those phases) and measured large; raw etcd and every workload at each
 * concurrency; etcd's and the backends' memory; a backend SIGKILLed and restarted; CPU
 * profiles of read-home-feed and compose-post. Whatever it started is stopped, whatever happens.
 */
export async function runBench(config: BenchConfig, options: RunOptions = {}): Promise<BenchResults> {
  const started = Date.now();
  const progress = new Progress(config.progress);
  // Names of this run's users start with a tag, so a run against a live deployment never
  // collides with its users or with an earlier run.
  const tag = `b${randomBytes(3).toString("hex")}`;
  const random = rng(config.seed);
  const maxConcurrency = Math.max(...config.concurrencies, config.profile.concurrency);

  const topology: Topology = config.target
    ? targetTopology(
        config.target,
        config.etcdEndpoints!,
        options.processesFile ?? "data/processes.json",
        config.adminUrl,
      )
    : await startTopology({ scryptLogN: config.scryptLogN });
  let seeder: Seeder | undefined;
  let profileDir: string | undefined;
  const http = new BenchHttp(topology.frontUrl, maxConcurrency + 32);
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
    seeder = await Seeder.open({
      endpoints: topology.etcdEndpoints,
      prefix: config.etcdPrefix,
      scryptLogN: config.scryptLogN,
      concurrency: config.seedConcurrency,
      tag,
      progress,
      measure: (work) => cpuPerOp(topology.processes(), work),
    });
    const s = seeder;
    const settle = () => settleViews(http, `${tag}_rnarrow`, topology, progress);
    /** Keys and view memory before and after a phase, per fact written. */
    const measured = async (what: PerFact["what"], write: () => Promise<SeedPhase | undefined>) => {
      await settle();
      const before = await footprint(s, topology.processes(), topology.hooks);
      const phase = await write();
      await settle();
      const after = await footprint(s, topology.processes(), topology.hooks);
      return { phase, cost: phase ? perFact(what, phase.facts, before, after) : undefined };
    };

    const growth = new CostGrowth(s, http, config.costGrowth, tag, random, progress);
    await growth.prepare();
    await settle();
    await growth.measureSmall();

    // The history first, then the graph: the workloads read posts as recent as active users'
    // would be (the oldest texts may be past the views' budget; cost growth measures that apart).
    const history = await measured("post", () => growth.growHistory());
    let perFollow: PerFact | undefined;
    let perSmallPost: PerFact | undefined;
    const seeded = await seedSocialGraph(
      s,
      config.graph,
      (i) => `${tag}_u${i}`,
      random,
      async (what, write) => {
        const { phase, cost } = await measured(what === "follows" ? "follow" : "post", write);
        if (what === "follows") perFollow = cost;
        else perSmallPost = cost;
        return phase!;
      },
    );
    const perPost = history.cost ?? perSmallPost;
    await settle();
    await growth.measureLarge();

    const postsStored = await growth.postsStored();
    const keysStored = (await s.countKeys(s.keys.root)).keys;
    const etcd = await etcdMembers(topology.etcdEndpoints, topology.processes());
    const backends = await processMemory(
      topology.processes().filter((p) => p.role === "backend"),
      topology.hooks,
    );
    for (const m of etcd)
      progress.done(
        `etcd ${m.name ?? m.endpoint}: RSS ${m.rssMiB ?? "?"} MiB, db ${m.dbSizeMiB ?? "?"} MiB at ${postsStored} posts`,
      );

    // like-unlike and reply act on seeded posts; delete-post deletes what the workloads post.
    const ledger = new PostLedger(await seededPosts(http, seeded, random));
    const cpuBefore = cpuSeconds(topology.processes());
    const benchCpuBefore = process.cpuUsage();
    const runs: ConcurrencyRun[] = [];
    for (const concurrency of config.concurrencies) {
      const load = { ...config.load, concurrency };
      progress.done(`— concurrency ${concurrency} —`);
      const idle = await idleCores(topology.processes(), config.load.idleSeconds);
      const measure = (run: () => Promise<WorkloadResult>) =>
        etcdWorkPerOp(topology.etcdEndpoints, () => cpuPerOp(topology.processes(), run));
      const rawEtcd = await measureRawEtcd(topology.etcdEndpoints, tag, load, config.seed, progress, measure);
      const workloads: WorkloadResult[] = [];
      for (const workload of flockWorkloads(http, seeded, concurrency, ledger)) {
        workloads.push(await measure(() => runClosedLoop(workload, load, config.seed, progress)));
      }
      runs.push({ concurrency, idleCores: idle, rawEtcd, workloads: workloadRows(workloads, rawEtcd) });
    }
    const cpuUnderLoad = new Map(
      [...cpuSeconds(topology.processes())].map(([pid, used]) => [pid, used - (cpuBefore.get(pid) ?? used)]),
    );
    const benchCpu = process.cpuUsage(benchCpuBefore);
    // Peak RSS and heap of the processes that ran the workloads, before one is restarted.
    const processes = await processMemory(topology.processes(), topology.hooks, cpuUnderLoad);

    // Live streams: the readers are seeded now, so the figures above do not hold them.
    const streamingBench = new StreamingBench(s, http, topology, config.streaming, tag, random, progress);
    let streaming: BenchResults["streaming"];
    if (streamingBench.enabled) {
      await streamingBench.prepare();
      await settle();
      streaming = await streamingBench.run();
    }

    const profiling = config.profile.enabled && topology.hooks !== undefined;
    if (profiling) {
      profileDir = config.profile.dir ?? (await mkdtemp(join(tmpdir(), "flock-bench-prof-")));
      await mkdir(profileDir, { recursive: true });
    }
    const profiles: BenchResults["profiles"] = [];

    let restart: RestartResults | undefined;
    if (config.restart && topology.restartBackend) {
      const name = topology.processes().find((p) => p.role === "backend")!.name;
      progress.done(`SIGKILL ${name} at ${postsStored} posts stored, then start it again`);
      const profileFile = profileDir && join(profileDir, `restart-${name}.cpuprofile`);
      const timing = await topology.restartBackend(name, RESTART_TIMEOUT_MS, profileFile);
      const restarted = topology.processes().filter((p) => p.pid === timing.pid);
      const cpu = cpuSeconds(restarted).get(timing.pid);
      const [after] = await processMemory(restarted, topology.hooks);
      restart = {
        ...timing,
        postsStored,
        cpuSeconds: cpu,
        rssMiB: after?.rssMiB,
        heapUsedMiB: after?.heapUsedMiB,
      };
      if (timing.failure) progress.done(`${name} was not ready: ${timing.failure}`);
      else
        progress.done(
          `${name} ready ${(timing.readyMs / 1000).toFixed(2)} s after it was started again (${cpu ?? "?"} CPU s); RSS ${after?.rssMiB ?? "?"} MiB`,
        );
      if (profileFile && !timing.failure) {
        profiles.push({
          workload: `${name} restart until SERVING`,
          concurrency: 0,
          opsPerSecond: 0,
          ops: 1,
          roles: await roleProfiles(
            [{ role: "backend", file: profileFile }],
            { backend: (cpu ?? 0) * 1000 },
            config.profile.top,
          ),
          files: [profileFile],
        });
      }
    }

    if (profileDir) {
      const all = flockWorkloads(http, seeded, config.profile.concurrency, ledger);
      const runs = await profileWorkloads(
        topology,
        all.filter((w) => w.name === "read-home-feed" || w.name === "compose-post"),
        { ...config.load, concurrency: config.profile.concurrency },
        config.seed,
        profileDir,
        config.profile.top,
        progress,
      );
      profiles.push(...runs);
      if (!config.profile.dir) for (const p of profiles) p.files = [];
    }

    return {
      startedAt: new Date(started).toISOString(),
      seconds: Math.round((Date.now() - started) / 100) / 10,
      machine: { cpus: cpus().length, loadAverage: loadavg(), node: process.version },
      topology: topology.kind,
      settings: {
        ...config.load,
        concurrencies: config.concurrencies,
        streaming: config.streaming,
        ...config.costGrowth,
        ...config.graph,
        seedConcurrency: config.seedConcurrency,
        scryptLogN: config.scryptLogN,
        seed: config.seed,
        tag,
      },
      seeding: s.phases,
      graph: seeded.stats,
      runs,
      costGrowth: growth.results(),
      storage: {
        perPost,
        perFollow,
        postsStored,
        keysStored,
        etcd,
        backends,
        reference: V1_ETCD_RSS_REFERENCE,
      },
      streaming,
      restart,
      profiles,
      processes,
      benchClientCpuSecondsUnderLoad: Math.round((benchCpu.user + benchCpu.system) / 1e5) / 10,
      notes: [
        "seeded straight into etcd through the Kv seam with Flock's Keys, record encoders and FactWriter (tools/bench/seeder.ts)",
        `every seeded account's password hash uses scrypt log2(N)=${config.scryptLogN}; each login verifies it at that cost`,
        "the workloads run after the history was grown to the large size",
        "the bench client, etcd and every Flock process share this machine's CPUs",
      ],
    };
  } finally {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
    http.close();
    await seeder?.close();
    await topology.stop();
    if (profileDir && !config.profile.dir) await rm(profileDir, { recursive: true, force: true });
  }
}

/**
 * Waits until every backend's view has caught up with what was seeded: a linearizable read
 * (a profile, which waits for the newest tick) answers 200 several times in a row, so the
 * round-robin front door and web tier have sent one to each backend. A view still applying a
 * big phase answers 503 (not caught up within its wait) meanwhile.
 */
async function settleViews(
  http: BenchHttp,
  user: string,
  topology: Topology,
  progress: Progress,
): Promise<void> {
  const backends = Math.max(1, topology.processes().filter((p) => p.role === "backend").length);
  const wanted = 4 * backends;
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (let inARow = 0; inARow < wanted;) {
    const answer = await http.request("GET", `/api/v1/users/${user}`).catch(() => undefined);
    if (answer?.status === 200) {
      inARow++;
      continue;
    }
    inARow = 0;
    if (Date.now() > deadline) throw new Error(`the views did not catch up within ${SETTLE_TIMEOUT_MS} ms`);
    progress.update(`waiting for the views to catch up (${answer ? `http ${answer.status}` : "no answer"})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
