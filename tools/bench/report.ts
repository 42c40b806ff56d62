import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { CostGrowthResults } from "./cost-growth.js";
import type { GraphStats } from "./graph.js";
import type { WorkloadResult } from "./load.js";
import type { ProfileRun } from "./profile.js";
import { opsPerSecondWithoutEtcd, type ProcessMemory } from "./rss.js";
import type { SeedPhase } from "./seeder.js";
import type { PerFact, StorageResults } from "./storage.js";
import { ratio } from "./stats.js";
import type { StreamingResults, StreamStep } from "./streaming.js";
import type { RestartTiming } from "./topology.js";

export interface WorkloadRow extends WorkloadResult {
  /** ops/s over the fitting raw etcd figure: reads over gets, writes over puts. */
  ratioToEtcd?: number;
  comparedWith: "etcd-get" | "etcd-put";
}

/** Raw etcd and every workload at one concurrency. */
export interface ConcurrencyRun {
  concurrency: number;
  /** Cores each role used while idle just before these runs (background work: compaction, GC, probes). */
  idleCores: Record<string, number>;
  rawEtcd: { get: WorkloadResult; put: WorkloadResult };
  workloads: WorkloadRow[];
}

export interface RestartResults extends RestartTiming {
  /** Posts stored when it restarted (its view loads them all). */
  postsStored: number;
  /** CPU seconds the new process used until it was ready. */
  cpuSeconds?: number;
  rssMiB?: number;
  heapUsedMiB?: number;
}

/** Everything one run measured; written as JSON and printed as tables. */
export interface BenchResults {
  startedAt: string;
  seconds: number;
  machine: { cpus: number; loadAverage: number[]; node: string };
  topology: "started" | "target";
  settings: Record<string, unknown>;
  seeding: SeedPhase[];
  graph: GraphStats & { posts: number; seconds: number };
  runs: ConcurrencyRun[];
  costGrowth: CostGrowthResults;
  storage: StorageResults;
  /** Live streams (issue 14); undefined when BENCH_STREAMS=0 and BENCH_STREAM_CAP=0. */
  streaming?: StreamingResults;
  restart?: RestartResults;
  profiles: ProfileRun[];
  processes: ProcessMemory[];
  /** CPU seconds the bench process itself used while raw etcd and the workloads ran. */
  benchClientCpuSecondsUnderLoad: number;
  notes: string[];
}

export function workloadRows(
  workloads: WorkloadResult[],
  raw: { get: WorkloadResult; put: WorkloadResult },
): WorkloadRow[] {
  return workloads.map((w) => {
    const floor = w.kind === "read" ? raw.get : raw.put;
    return {
      ...w,
      comparedWith: floor.name as WorkloadRow["comparedWith"],
      ratioToEtcd: ratio(w.opsPerSecond, floor.opsPerSecond),
    };
  });
}

export async function writeResults(file: string, results: BenchResults): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(results, null, 2) + "\n");
}

const fmt = (n: number | undefined, digits = 1) => (n === undefined ? "—" : n.toFixed(digits));
const int = (n: number | undefined) => (n === undefined ? "—" : Math.round(n).toLocaleString("en-US"));

/** One bar of issue 12: what it asks, what this run measured, and whether that meets it. */
interface Bar {
  bar: string;
  measured: string;
  ok: boolean | undefined;
}

/** Issue 12's bars, checked against this run's figures. */
export function bars(results: BenchResults): Bar[] {
  const out: Bar[] = [];
  const atLeast = (value: number | undefined, min: number) =>
    value === undefined ? undefined : value >= min;
  const atMost = (value: number | undefined, max: number) => (value === undefined ? undefined : value <= max);
  for (const run of results.runs) {
    const w = (name: string) => run.workloads.find((x) => x.name === name)?.ratioToEtcd;
    for (const [name, min, of] of [
      ["mixed-60-30-10", 1, "get"],
      ["read-home-feed", 1, "get"],
      ["compose-post", 0.5, "put"],
      ["follow-unfollow", 0.5, "put"],
    ] as const) {
      out.push({
        bar: `${name} ≥ ${min}× raw etcd ${of}/s, concurrency ${run.concurrency}`,
        measured: `${fmt(w(name), 3)}×`,
        ok: atLeast(w(name), min),
      });
    }
  }
  const v = results.costGrowth.visibility;
  out.push({
    bar: "ack-to-visible, 10,000 vs 10 followers ≤ 1.5 (p50 / p99)",
    measured: `${fmt(v.ratioP50, 2)} / ${fmt(v.ratioP99, 2)}`,
    ok: v.ratioP50 === undefined ? undefined : Math.max(v.ratioP50, v.ratioP99 ?? 0) <= 1.5,
  });
  const stale = (v.few?.staleReads ?? 0) + (v.many?.staleReads ?? 0);
  out.push({
    bar: "a read after the ack holds the post (stale reads = 0)",
    measured: String(stale),
    ok: v.few || v.many ? stale === 0 : undefined,
  });
  for (const c of results.costGrowth.comparisons) {
    if (c.name.startsWith("ack-to-visible")) continue;
    out.push({
      bar: `${c.name}: ${c.base.label} → ${c.grown?.label ?? "—"} ≤ 1.5 (p50)`,
      measured: fmt(c.ratio, 2),
      ok: atMost(c.ratio, 1.5),
    });
  }
  const s = results.storage;
  out.push({
    bar: "etcd keys per post ≤ 2",
    measured: fmt(s.perPost?.keysPerFact, 3),
    ok: atMost(s.perPost?.keysPerFact, 2),
  });
  out.push({
    bar: "etcd keys per follow ≤ 2",
    measured: fmt(s.perFollow?.keysPerFact, 3),
    ok: atMost(s.perFollow?.keysPerFact, 2),
  });
  const r = results.restart;
  out.push({
    bar: `a backend restarted at ${int(r?.postsStored ?? s.postsStored)} posts is ready within 15 s`,
    measured: r
      ? r.failure
        ? `not ready after ${fmt(r.readyMs / 1000, 1)} s`
        : `${fmt(r.readyMs / 1000, 1)} s`
      : "not measured",
    ok: r ? !r.failure && r.readyMs <= 15_000 : undefined,
  });
  return out;
}

/** The workloads issue 14 added to the bench. */
export const ISSUE_14_WORKLOADS = ["like-unlike", "reply", "delete-post"] as const;

/**
 * Issue 14's bench bar: like, reply and delete ran at every concurrency (without errors), and
 * every stream got each post's event once; the most streams one web replica held is reported.
 */
export function issue14Bars(results: BenchResults): Bar[] {
  const out: Bar[] = [];
  for (const run of results.runs) {
    for (const name of ISSUE_14_WORKLOADS) {
      const w = run.workloads.find((x) => x.name === name);
      out.push({
        bar: `${name} at concurrency ${run.concurrency}: runs without errors`,
        measured: w ? `${fmt(w.opsPerSecond)} ops/s, ${errors(w)} errors` : "not run",
        ok: w ? w.ops > 0 && w.errors === 0 : undefined,
      });
    }
  }
  const st = results.streaming;
  for (const step of st?.steps ?? []) {
    const lost = step.missed + step.repeated + step.dropped + step.openErrors;
    out.push({
      bar: `${int(step.streams)} streams via the front door: every post's event at every stream, once`,
      measured: `${int(step.events)} events; missed ${step.missed}, repeated ${step.repeated}, dropped ${step.dropped}, not opened ${step.openErrors}`,
      ok: step.events > 0 && lost === 0,
    });
  }
  if (st?.search) {
    out.push({
      bar: "most streams one web replica holds (bounded search; no bar set)",
      measured: `${int(st.search.held)}, stopped: ${st.search.stopped}`,
      ok: undefined,
    });
  }
  if (!st)
    out.push({
      bar: "streaming clients",
      measured: "not measured (BENCH_STREAMS=0, BENCH_STREAM_CAP=0)",
      ok: undefined,
    });
  return out;
}

/** The console report: markdown tables (bars, throughput per concurrency, cost growth, storage, restart, profiles, memory). */
export function formatResults(results: BenchResults): string {
  const lines: string[] = [];
  const section = (title: string) => lines.push("", `### ${title}`, "");
  lines.push(
    `Flock bench — ${results.machine.cpus} CPUs, load ${results.machine.loadAverage.map((l) => l.toFixed(1)).join(" ")}, ` +
      `concurrency ${results.runs.map((r) => r.concurrency).join(" and ")}, ${String(results.settings.durationSeconds)} s per workload, ` +
      `${int(results.storage.postsStored)} posts stored`,
  );
  lines.push(
    `graph: ${int(results.graph.users)} users, ${int(results.graph.follows)} follows (mean ${results.graph.meanFollowing}), ` +
      `${int(results.graph.posts)} posts; most followed: ${results.graph.mostFollowed.map((m) => `${m.followers}`).join(", ")}`,
  );

  section("Bars (issue 12)");
  lines.push(
    table(
      ["bar", "measured", "met"],
      bars(results).map((b) => [b.bar, b.measured, b.ok === undefined ? "—" : b.ok ? "yes" : "**no**"]),
    ),
  );

  section("Bars (issue 14: the bench adds like, reply, delete and streaming clients)");
  lines.push(
    table(
      ["bar", "measured", "met"],
      issue14Bars(results).map((b) => [
        b.bar,
        b.measured,
        b.ok === undefined ? "—" : b.ok ? "yes" : "**no**",
      ]),
    ),
  );

  for (const run of results.runs) {
    section(
      `Throughput at concurrency ${run.concurrency} (closed loop through the front door; raw etcd in the same run)`,
    );
    lines.push(
      table(
        ["operation", "ops/s", "p50 ms", "p90 ms", "p99 ms", "errors", "ratio to raw etcd"],
        [
          ...[run.rawEtcd.get, run.rawEtcd.put].map((r) => [
            r.name,
            fmt(r.opsPerSecond),
            fmt(r.p50, 2),
            fmt(r.p90, 2),
            fmt(r.p99, 2),
            errors(r),
            "1 (floor)",
          ]),
          ...run.workloads.map((w) => [
            w.name,
            fmt(w.opsPerSecond),
            fmt(w.p50, 2),
            fmt(w.p90, 2),
            fmt(w.p99, 2),
            errors(w),
            `${fmt(w.ratioToEtcd, 3)} of ${w.comparedWith}`,
          ]),
        ],
      ),
    );
    const notes = run.workloads.flatMap((w) => (w.note ? [w.note] : []));
    if (notes.length > 0) lines.push("", ...notes.map((n) => `note: ${n}`));
  }

  const roles = ["front-door", "web", "backend", "etcd", "bench client", "total"];
  const cpus = results.machine.cpus;
  for (const run of results.runs) {
    section(
      `CPU per operation at concurrency ${run.concurrency} (ms, from /proc; replicas of a role summed)`,
    );
    const raw = { "etcd-get": run.rawEtcd.get.opsPerSecond, "etcd-put": run.rawEtcd.put.opsPerSecond };
    lines.push(
      table(
        ["operation", ...roles, `ops/s on ${cpus} cores were etcd free`, "that over raw etcd"],
        [
          ["idle before (cores, not ms)", ...roles.map((role) => fmt(run.idleCores[role], 3)), "", ""],
          ...[run.rawEtcd.get, run.rawEtcd.put].map((w) => [
            w.name,
            ...roles.map((role) => fmt(w.cpuMsPerOp?.[role], 3)),
            "—",
            "—",
          ]),
          ...run.workloads.map((w) => {
            const bound = w.cpuMsPerOp && opsPerSecondWithoutEtcd(w.cpuMsPerOp, cpus);
            return [
              w.name,
              ...roles.map((role) => fmt(w.cpuMsPerOp?.[role], 3)),
              int(bound),
              bound === undefined ? "—" : `${fmt(ratio(bound, raw[w.comparedWith]), 2)} of ${w.comparedWith}`,
            ];
          }),
        ],
      ),
    );
  }
  lines.push(
    "",
    "(ops/s were etcd free: the cores over a workload's CPU per operation outside etcd, i.e. the most",
    "any change to the store path could give on this machine while the Flock tiers and the client",
    "cost what they cost here.)",
  );

  for (const run of results.runs) {
    const measured = [run.rawEtcd.get, run.rawEtcd.put, ...run.workloads].filter((w) => w.etcdPerOp);
    if (measured.length === 0) continue;
    section(`etcd work per operation at concurrency ${run.concurrency} (the members' /metrics, summed)`);
    lines.push(
      table(
        ["operation", "Range calls", "Txn calls", "Put calls", "WAL fsyncs (all members)"],
        measured.map((w) => [
          w.name,
          fmt(w.etcdPerOp!.range, 3),
          fmt(w.etcdPerOp!.txn, 3),
          fmt(w.etcdPerOp!.put, 3),
          fmt(w.etcdPerOp!.fsync, 3),
        ]),
      ),
    );
  }

  if (results.streaming) streamingTables(results.streaming, section, lines);

  section(
    "Ack-to-visible by follower count (post sent → a follower's home feed read through the front door holds it)",
  );
  const v = results.costGrowth.visibility;
  lines.push(
    table(
      [
        "author",
        "followers read",
        "posts",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "reads per follower",
        "stale reads",
        "errors",
      ],
      [v.few, v.many].flatMap((x) =>
        x
          ? [
              [
                x.label,
                String(x.sampledFollowers),
                String(x.posts),
                fmt(x.p50),
                fmt(x.p90),
                fmt(x.p99),
                fmt(x.max),
                fmt(x.meanReads, 2),
                String(x.staleReads),
                String(x.errors),
              ],
            ]
          : [],
      ),
    ),
  );
  lines.push("", `ratio many/few: p50 ${fmt(v.ratioP50, 2)}, p99 ${fmt(v.ratioP99, 2)} (bar ≤ 1.5)`);

  section("Cost growth (one request at a time; ratio = grown / base, bar ≤ 1.5)");
  lines.push(
    table(
      ["measure", "base", "p50/p99 ms", "grown", "p50/p99 ms", "ratio p50", "ratio p99", "errors"],
      results.costGrowth.comparisons.map((c) => [
        c.name,
        c.base.label,
        `${fmt(c.base.p50)}/${fmt(c.base.p99)}`,
        c.grown?.label ?? "not measured",
        c.grown ? `${fmt(c.grown.p50)}/${fmt(c.grown.p99)}` : "—",
        fmt(c.ratio, 2),
        fmt(c.ratioP99, 2),
        `${c.base.errors}/${c.grown?.errors ?? 0}`,
      ]),
    ),
  );

  const seedRoles = ["etcd", "backend", "bench client", "total"];
  section("Seeding (straight into etcd through the Kv seam, every txn with its writer's tick)");
  lines.push(
    table(
      ["phase", "facts", "txns", "seconds", "txns/s", "facts/s", ...seedRoles.map((r) => `${r} CPU ms/txn`)],
      results.seeding.map((p) => [
        p.name,
        int(p.facts),
        int(p.txns),
        fmt(p.seconds),
        int(p.txnsPerSecond),
        int(p.factsPerSecond),
        ...seedRoles.map((r) => fmt(p.cpuMsPerTxn?.[r], 3)),
      ]),
    ),
  );

  const s = results.storage;
  section(`Storage cost (${int(s.postsStored)} posts, ${int(s.keysStored)} keys stored)`);
  lines.push(
    table(
      ["per", "facts", "etcd keys each", "etcd revisions each", ...backendColumns(s)],
      [s.perPost, s.perFollow].flatMap((f) => (f ? [perFactRow(f, s)] : [])),
    ),
  );
  lines.push(
    "",
    "backend heap = V8 heap in use after a full GC; RSS = VmRSS; both as the difference over the phase, per fact",
  );
  lines.push("");
  lines.push(
    table(
      ["etcd member", "RSS MiB", "peak RSS MiB", "db MiB", "db in use MiB", "before (layout v1)"],
      s.etcd.map((m) => [
        m.name ?? m.endpoint,
        fmt(m.rssMiB),
        fmt(m.peakRssMiB),
        fmt(m.dbSizeMiB),
        fmt(m.dbInUseMiB),
        s.reference,
      ]),
    ),
  );
  lines.push("");
  lines.push(
    table(
      [
        "backend",
        "RSS MiB",
        "heap in use after GC MiB",
        "RSS bytes per post stored",
        "heap bytes per post stored",
      ],
      s.backends.map((b) => [
        b.name,
        fmt(b.rssMiB),
        fmt(b.heapUsedMiB),
        s.postsStored > 0 && b.rssMiB !== undefined ? int((b.rssMiB * 1048576) / s.postsStored) : "—",
        s.postsStored > 0 && b.heapUsedMiB !== undefined
          ? int((b.heapUsedMiB * 1048576) / s.postsStored)
          : "—",
      ]),
    ),
  );

  section("Restart (SIGKILL one backend at the large history, start it again)");
  const r = results.restart;
  lines.push(
    r
      ? table(
          [
            "backend",
            "posts stored",
            "listening after",
            "ready (SERVING) after",
            "CPU s until ready",
            "RSS MiB",
            "heap after GC MiB",
            "bar",
          ],
          [
            [
              `${r.name} (pid ${r.killedPid} → ${r.pid})`,
              int(r.postsStored),
              `${fmt(r.listeningMs / 1000, 2)} s`,
              r.failure ? `not ready after ${fmt(r.readyMs / 1000, 2)} s` : `${fmt(r.readyMs / 1000, 2)} s`,
              fmt(r.cpuSeconds),
              fmt(r.rssMiB),
              fmt(r.heapUsedMiB),
              "≤ 15 s",
            ],
          ],
        )
      : "not measured (BENCH_RESTART=false, or a target deployment)",
  );
  if (r?.failure) lines.push("", "```", r.failure, "```");

  if (results.profiles.length > 0) {
    section("CPU profiles (V8 sampling profiler in every Flock process; shares of busy samples, self time)");
    for (const p of results.profiles) {
      lines.push(
        p.concurrency > 0
          ? `**${p.workload}** at concurrency ${p.concurrency}: ${fmt(p.opsPerSecond)} ops/s while profiled`
          : `**${p.workload}** (profiled from the process's first line; "CPU ms per op" is the whole restart)`,
        "",
      );
      lines.push(
        table(
          ["process", "CPU ms per op", "top areas", "top functions (self)"],
          p.roles.map((role) => [
            `${role.role} ×${role.processes}`,
            fmt(role.cpuMsPerOp, 3),
            role.areas.map((a) => `${a.name} ${fmt(a.percent)}%`).join("; "),
            role.functions
              .slice(0, 5)
              .map((f) => `${f.name.replace(/ \S*\/(?=[^/]+:\d+$)/, " ")} ${fmt(f.percent)}%`)
              .join("; "),
          ]),
        ),
      );
      if (p.files.length > 0) lines.push("", `profiles: ${p.files.join(" ")}`);
      lines.push("");
    }
  }

  section(
    "Processes: peak RSS (VmHWM), RSS now, live heap after GC, CPU seconds while raw etcd and the workloads ran",
  );
  lines.push(
    table(
      ["process", "pid", "peak MiB", "now MiB", "heap MiB", "CPU s under load"],
      [
        ...results.processes.map((p) => [
          p.name,
          String(p.pid),
          fmt(p.peakRssMiB),
          fmt(p.rssMiB),
          fmt(p.heapUsedMiB),
          fmt(p.cpuSecondsUnderLoad),
        ]),
        ["bench client", "", "", "", "", fmt(results.benchClientCpuSecondsUnderLoad)],
      ],
    ),
  );
  lines.push("");
  for (const note of results.notes) lines.push(`note: ${note}`);
  return lines.join("\n");
}

/** The streaming tables: ack-to-event per step, what each web replica held, the search's outcome, descriptors. */
function streamingTables(st: StreamingResults, section: (title: string) => void, lines: string[]): void {
  const steps = [...st.steps, ...(st.search?.steps ?? [])];
  const kinds = (k: Record<string, number>) =>
    Object.entries(k)
      .map(([kind, n]) => `${n} ${kind}`)
      .join(", ");
  section(
    "Streaming clients: ack-to-event (the author's post answered 201 → its `post` event read at each stream of a follower)",
  );
  lines.push(
    table(
      [
        "streams",
        "via",
        "open",
        "posts",
        "events",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "send→event p50/p99 ms",
        "before the 201",
        "missed",
        "repeated",
        "dropped",
      ],
      steps.map((x) => [
        int(x.streams),
        x.via,
        int(x.open),
        String(x.posts),
        int(x.events),
        fmt(x.ackToEvent.p50, 2),
        fmt(x.ackToEvent.p90, 2),
        fmt(x.ackToEvent.p99, 2),
        fmt(x.ackToEvent.max, 2),
        `${fmt(x.sendToEvent.p50, 2)}/${fmt(x.sendToEvent.p99, 2)}`,
        int(x.beforeAck),
        int(x.missed),
        int(x.repeated),
        x.dropped > 0 ? `${x.dropped} (${kinds(x.droppedKinds)})` : "0",
      ]),
    ),
  );

  section("Streaming clients: what the web replicas hold (their /metrics, the front door's stats, /proc)");
  const names = [...new Set(steps.flatMap((x) => x.replicas.map((r) => r.name)))];
  const holds = (r: StreamStep["replicas"][number] | undefined) =>
    r ? `${r.openStreams ?? "?"} / ${r.frontDoorSessions ?? "?"}` : "—";
  const rss = (r: StreamStep["replicas"][number] | undefined) =>
    r ? `${fmt(r.rssMiB)} (${fmt(r.peakRssMiB)})` : "—";
  const us = (x: StreamStep, role: string) => {
    const ms = x.cpuMsPerEvent?.[role];
    return ms === undefined ? "—" : fmt(ms * 1000, 1);
  };
  lines.push(
    table(
      [
        "streams",
        "via",
        "open p50/p99 ms",
        "not opened",
        ...names.flatMap((n) => [`${n} streams / front-door sessions`, `${n} RSS MiB (peak)`, `${n} fds`]),
        "backends RSS MiB",
        "front door conns / limit",
        "bench fds",
        "CPU µs per event: web / backend / front door / bench",
      ],
      steps.map((x) => {
        const at = (n: string) => x.replicas.find((r) => r.name === n);
        return [
          int(x.streams),
          x.via,
          `${fmt(x.openP50, 1)}/${fmt(x.openP99, 1)}`,
          x.openErrors > 0 ? `${x.openErrors} (${kinds(x.openErrorKinds)})` : "0",
          ...names.flatMap((n) => [holds(at(n)), rss(at(n)), int(at(n)?.fds?.open)]),
          x.backends.map((b) => fmt(b.rssMiB)).join(", "),
          `${int(x.frontDoor?.sessions)} / ${int(x.frontDoor?.limit)}`,
          int(x.benchFds),
          ["web", "backend", "front-door", "bench client"].map((role) => us(x, role)).join(" / "),
        ];
      }),
    ),
  );
  const search = st.search;
  if (search) {
    lines.push(
      "",
      `Search for the most streams one web replica holds: via ${search.via}, doubling from ${int(search.start)} up to ${int(search.cap)}, ` +
        `a step fails on a stream not opened or ended, an event missed or repeated, or ack-to-event p99 above ${int(search.maxP99Ms)} ms. ` +
        `Held: **${int(search.held)}** streams on one replica` +
        (Object.values(search.before).some((n) => (n ?? 0) > 0)
          ? ` (beyond the ${Object.entries(search.before)
              .map(([name, n]) => `${n ?? "?"} on ${name}`)
              .join(", ")} still open when it began)`
          : "") +
        `; stopped: ${search.stopped}.`,
    );
  }
  for (const r of st.released) {
    lines.push(
      "",
      `Closed by the bench: ${int(r.streams)} streams via ${r.via}; ` +
        (r.seconds !== undefined
          ? `the web replicas counted them gone after ${fmt(r.seconds)} s.`
          : r.waitedSeconds > 0
            ? `after ${fmt(r.waitedSeconds)} s (BENCH_STREAM_RELEASE_WAIT) the web replicas still counted ` +
              Object.entries(r.stillOpen ?? {})
                .map(([name, n]) => `${name} ${n ?? "?"}`)
                .join(", ") +
              "."
            : "not waited for (BENCH_STREAM_RELEASE_WAIT=0)."),
    );
  }
  const f = st.fds;
  lines.push(
    "",
    `Open-files limits (ulimit -n, soft/hard): bench client ${int(f.benchClient.soft)}/${int(f.benchClient.hard)}; ` +
      f.webs.map((w) => `${w.name} ${int(w.soft)}/${int(w.hard)}`).join("; "),
  );
  for (const note of st.notes) lines.push("", `note: ${note}`);
}

function errors(r: WorkloadResult): string {
  if (r.errors === 0) return "0";
  const kinds = Object.entries(r.errorKinds)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(", ");
  return `${r.errors} (${kinds})`;
}

function backendColumns(s: StorageResults): string[] {
  const names = (s.perPost ?? s.perFollow)?.backends.map((b) => b.name) ?? [];
  return names.flatMap((n) => [`${n} heap bytes each`, `${n} RSS bytes each`]);
}

function perFactRow(f: PerFact, s: StorageResults): string[] {
  const names = (s.perPost ?? s.perFollow)?.backends.map((b) => b.name) ?? [];
  return [
    f.what,
    int(f.facts),
    fmt(f.keysPerFact, 3),
    fmt(f.revisionsPerFact, 3),
    ...names.flatMap((n) => {
      const b = f.backends.find((x) => x.name === n);
      return [int(b?.heapBytesPerFact), int(b?.rssBytesPerFact)];
    }),
  ];
}

/** A markdown table, padded so it also reads well in a terminal. */
function table(header: string[], rows: string[][]): string {
  const cell = (c: string) => c.replace(/\|/g, "\\|");
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => cell(r[i] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? cell(c).padEnd(widths[i]!) : cell(c).padStart(widths[i]!))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? ` ${"-".repeat(w)} ` : ` ${"-".repeat(w - 1)}: `)).join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}
