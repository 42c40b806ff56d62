import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { GraphStats } from "./graph.js";
import type { CostGrowthResults } from "./cost-growth.js";
import type { WorkloadResult } from "./load.js";
import type { ProcessMemory } from "./rss.js";
import { ratio } from "./stats.js";

export interface WorkloadRow extends WorkloadResult {
  /** ops/s over the fitting raw etcd figure: reads over gets, writes over puts. */
  ratioToEtcd?: number;
  comparedWith: "etcd-get" | "etcd-put";
}

/** Everything one run measured; written as JSON and printed as tables. */
export interface BenchResults {
  startedAt: string;
  seconds: number;
  machine: { cpus: number; loadAverage: number[]; node: string };
  topology: "started" | "target";
  settings: Record<string, unknown>;
  graph: GraphStats & { posts: number; feedEntries: number; keys: number; seconds: number };
  rawEtcd: { get: WorkloadResult; put: WorkloadResult };
  workloads: WorkloadRow[];
  costGrowth: CostGrowthResults;
  processes: ProcessMemory[];
  /** CPU seconds the bench process itself used while the workloads ran. */
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

/** The console report: throughput table, cost-growth table, peak RSS. */
export function formatResults(results: BenchResults): string {
  const lines: string[] = [];
  const fmt = (n: number | undefined, digits = 1) => (n === undefined ? "—" : n.toFixed(digits));
  lines.push(
    `Flock bench — ${results.machine.cpus} CPUs, load ${results.machine.loadAverage.map((l) => l.toFixed(1)).join(" ")}, ` +
      `concurrency ${String(results.settings.concurrency)}, ${String(results.settings.durationSeconds)} s per workload`,
  );
  lines.push(
    `graph: ${results.graph.users} users, ${results.graph.follows} follows (mean ${results.graph.meanFollowing}), ` +
      `${results.graph.posts} posts, ${results.graph.feedEntries} feed entries; most followed: ` +
      results.graph.mostFollowed.map((m) => `${m.followers}`).join(", "),
  );
  lines.push("");
  lines.push(
    table(
      ["operation", "ops/s", "p50 ms", "p90 ms", "p99 ms", "errors", "ratio to raw etcd"],
      [
        ...[results.rawEtcd.get, results.rawEtcd.put].map((r) => [
          r.name,
          fmt(r.opsPerSecond),
          fmt(r.p50, 2),
          fmt(r.p90, 2),
          fmt(r.p99, 2),
          String(r.errors),
          "1 (floor)",
        ]),
        ...results.workloads.map((w) => [
          w.name,
          fmt(w.opsPerSecond),
          fmt(w.p50, 2),
          fmt(w.p90, 2),
          fmt(w.p99, 2),
          String(w.errors),
          `${fmt(w.ratioToEtcd, 3)} of ${w.comparedWith}`,
        ]),
      ],
    ),
  );
  lines.push("");
  lines.push("Cost growth (one request at a time; ratio = grown p50 / base p50, target ≤ 1.5)");
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
  lines.push("");
  lines.push("Peak RSS (VmHWM), and CPU seconds each process used while raw etcd and the workloads ran");
  lines.push(
    table(
      ["process", "pid", "peak MiB", "now MiB", "CPU s under load"],
      [
        ...results.processes.map((p) => [
          p.name,
          String(p.pid),
          fmt(p.peakRssMiB),
          fmt(p.rssMiB),
          fmt(p.cpuSecondsUnderLoad),
        ]),
        ["bench client", "", "", "", fmt(results.benchClientCpuSecondsUnderLoad)],
      ],
    ),
  );
  for (const note of results.notes) lines.push(`note: ${note}`);
  return lines.join("\n");
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
