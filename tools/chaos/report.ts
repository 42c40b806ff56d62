import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CheckStats } from "./checker.js";
import { OP_TYPES, type Op, type OpType, type Violation } from "./history.js";
import { longestWindow, type FaultWindow } from "./windows.js";

export interface OpCounts {
  attempted: number;
  ok: number;
  failed: number;
  unknown: number;
}

export interface ChaosSummary {
  seed: number;
  short: boolean;
  concurrency: number;
  startedAt: string;
  /** How long the workload ran, and the whole run (start-up, faults, heal, check). */
  workloadMs: number;
  totalMs: number;
  dataDir: string;
  ops: Record<OpType | "total", OpCounts>;
  faults: FaultWindow[];
  longestUnavailability: { ms: number | null; kind: string; at: number } | null;
  /** Flock processes that died without being killed (a crash in the product). */
  unexpectedExits: string[];
  checked: CheckStats | null;
  violations: Violation[];
  /** Why the run could not finish or check (a harness or healing failure), if it did not. */
  error?: string;
}

export function countOps(ops: readonly Op[]): Record<OpType | "total", OpCounts> {
  const zero = (): OpCounts => ({ attempted: 0, ok: 0, failed: 0, unknown: 0 });
  const counts = Object.fromEntries([...OP_TYPES, "total"].map((t) => [t, zero()])) as Record<
    OpType | "total",
    OpCounts
  >;
  for (const op of ops) {
    for (const c of [counts[op.type], counts.total]) {
      c.attempted++;
      c[op.outcome]++;
    }
  }
  return counts;
}

export function summarize(
  parts: Omit<ChaosSummary, "ops" | "longestUnavailability"> & { history: readonly Op[] },
) {
  const { history, ...rest } = parts;
  const longest = longestWindow(parts.faults);
  const summary: ChaosSummary = {
    ...rest,
    ops: countOps(history),
    longestUnavailability: longest ? { ms: longest.unavailableMs, kind: longest.kind, at: longest.at } : null,
  };
  return summary;
}

const seconds = (ms: number | null) => (ms === null ? "never" : `${(ms / 1000).toFixed(1)}s`);

/** The human summary: ops by type, faults with their windows, violations. */
export function formatSummary(s: ChaosSummary): string {
  const lines: string[] = [];
  lines.push(
    `Flock chaos run: seed ${s.seed}${s.short ? " (short)" : ""}, ${s.concurrency} virtual users, ` +
      `workload ${seconds(s.workloadMs)}, total ${seconds(s.totalMs)}`,
  );
  lines.push("");
  const row = (cells: (string | number)[]) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(10) : String(c).padStart(10))).join("");
  lines.push(row(["operation", "attempted", "ok", "failed", "unknown"]));
  for (const type of [...OP_TYPES, "total"] as const) {
    const c = s.ops[type];
    lines.push(row([type, c.attempted, c.ok, c.failed, c.unknown]));
  }
  lines.push("");
  lines.push(`faults injected: ${s.faults.length}`);
  for (const f of s.faults) {
    lines.push(
      `  +${seconds(f.at).padStart(7)}  ${f.kind.padEnd(18)} ${f.target}; back after ${seconds(f.healedAt === null ? null : f.healedAt - f.at)}, ` +
        `writes resumed after ${seconds(f.unavailableMs)}${f.notes ? ` (${f.notes})` : ""}`,
    );
  }
  const longest = s.longestUnavailability;
  lines.push(
    `longest unavailability window: ${longest ? `${seconds(longest.ms)} (${longest.kind} at +${seconds(longest.at)})` : "-"}`,
  );
  if (s.unexpectedExits.length > 0)
    lines.push(`processes that died on their own: ${s.unexpectedExits.join(", ")}`);
  if (s.checked) {
    const c = s.checked;
    lines.push(
      `checked: ${c.postsAcknowledged} acknowledged posts (${c.postsRefused} refused, ${c.postsUnknown} unknown), ` +
        `${c.feedEntriesExpected} feed entries in ${c.feedsRead} feeds, ${c.followPairsChecked} follow pairs ` +
        `(${c.followPairsUndecided} undecided), ${c.accountsChecked} accounts, ${c.sessionsChecked} sessions`,
    );
  }
  lines.push("");
  lines.push(`violations: ${s.violations.length}`);
  const shown = s.violations.slice(0, 30);
  for (const v of shown) lines.push(`  [${v.kind}] ${v.message}`);
  if (s.violations.length > shown.length)
    lines.push(`  … and ${s.violations.length - shown.length} more (see the JSON report)`);
  if (s.error) lines.push(`run error: ${s.error}`);
  lines.push(`report: ${join(s.dataDir, "chaos-report.json")}`);
  return lines.join("\n");
}

/** Writes the summary (chaos-report.json) and the full history (chaos-history.jsonl) into the data dir. */
export async function writeReport(summary: ChaosSummary, history: readonly Op[]): Promise<void> {
  await writeFile(join(summary.dataDir, "chaos-report.json"), JSON.stringify(summary, null, 2) + "\n");
  await writeFile(
    join(summary.dataDir, "chaos-history.jsonl"),
    history
      .map((op) => JSON.stringify({ ...op, password: undefined, token: op.token?.slice(0, 8) }))
      .join("\n") + "\n",
  );
}
