import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CheckStats } from "./checker.js";
import { OP_TYPES, type Op, type OpType, type Violation } from "./history.js";
import { renderTimeline } from "./timeline.js";
import { byKind, longestWindow, type FaultWindow, type KindSummary } from "./windows.js";

export interface OpCounts {
  attempted: number;
  ok: number;
  failed: number;
  unknown: number;
}

export interface ChaosSummary {
  seed: number;
  short: boolean;
  /** Least faults of each kind the schedule was to inject (cycles). */
  minPerKind: number;
  concurrency: number;
  startedAt: string;
  /** How long the workload ran, and the whole run (start-up, faults, heal, check). */
  workloadMs: number;
  totalMs: number;
  dataDir: string;
  ops: Record<OpType | "total", OpCounts>;
  faults: FaultWindow[];
  /** Per kind of fault: how many, the longest and median unavailability, by form. */
  byKind: Record<string, KindSummary>;
  longestUnavailability: { ms: number | null; kind: string; at: number } | null;
  /** Acknowledged operations per second over the workload, and unknown outcomes in all. */
  throughputPerSecond: number;
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
  parts: Omit<ChaosSummary, "ops" | "longestUnavailability" | "byKind" | "throughputPerSecond"> & {
    history: readonly Op[];
  },
) {
  const { history, ...rest } = parts;
  const longest = longestWindow(parts.faults);
  const ops = countOps(history);
  const summary: ChaosSummary = {
    ...rest,
    ops,
    byKind: byKind(parts.faults),
    longestUnavailability: longest ? { ms: longest.unavailableMs, kind: longest.kind, at: longest.at } : null,
    throughputPerSecond:
      parts.workloadMs > 0 ? Math.round((ops.total.ok / parts.workloadMs) * 1000 * 10) / 10 : 0,
  };
  return summary;
}

const seconds = (ms: number | null) => (ms === null ? "never" : `${(ms / 1000).toFixed(1)}s`);

/** The human summary: ops by type, faults with their windows, violations. */
export function formatSummary(s: ChaosSummary): string {
  const lines: string[] = [];
  lines.push(
    `Flock chaos run: seed ${s.seed}${s.short ? " (short)" : ""}, ${s.concurrency} virtual users, ` +
      `workload ${seconds(s.workloadMs)}, total ${seconds(s.totalMs)}` +
      (s.short ? "" : `, at least ${s.minPerKind} fault(s) of each kind`),
  );
  lines.push("");
  const row = (cells: (string | number)[]) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(10) : String(c).padStart(10))).join("");
  lines.push(row(["operation", "attempted", "ok", "failed", "unknown"]));
  for (const type of [...OP_TYPES, "total"] as const) {
    const c = s.ops[type];
    lines.push(row([type, c.attempted, c.ok, c.failed, c.unknown]));
  }
  lines.push(`acknowledged operations per second: ${s.throughputPerSecond}`);
  lines.push("");
  lines.push(`faults injected: ${s.faults.length}`);
  const shownFaults = s.faults.length <= 40 ? s.faults : [];
  for (const f of shownFaults) {
    lines.push(
      `  +${seconds(f.at).padStart(7)}  ${`${f.kind}/${f.variant}`.padEnd(38)} ${f.target}; healed after ${seconds(f.healedAt === null ? null : f.healedAt - f.at)}, ` +
        `no write acknowledged for ${seconds(f.unavailableMs)} at most${f.notes ? ` (${f.notes})` : ""}`,
    );
  }
  if (shownFaults.length === 0 && s.faults.length > 0)
    lines.push("  (each fault is in the JSON report and on the timeline)");
  lines.push("");
  lines.push(
    `${"kind".padEnd(20)}${"faults".padStart(7)}${"longest".padStart(10)}${"median".padStart(9)}` +
      `${"recovery".padStart(10)}  longest at`,
  );
  for (const [kind, k] of Object.entries(s.byKind)) {
    lines.push(
      `${kind.padEnd(20)}${String(k.count).padStart(7)}${seconds(k.longestUnavailableMs).padStart(10)}` +
        `${seconds(k.medianUnavailableMs).padStart(9)}${seconds(k.longestRecoveryMs).padStart(10)}  ` +
        `+${seconds(k.longestAt)} (${k.longestVariant}); ` +
        Object.entries(k.variants)
          .map(([v, c]) => `${v} ×${c.count} ≤${seconds(c.longestUnavailableMs)}`)
          .join(", "),
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
    lines.push(
      `reads during the run: ${c.feedReadsChecked} feed reads, ${c.readEntriesExpected} posts that had to be on them; ` +
        `${c.listsOrderChecked} lists in real-time order; ${c.writesInMinorityWindows} writes sent while only a ` +
        "minority was reachable (none may be acknowledged)",
    );
    lines.push(
      `conversations: ${c.reactionPostsChecked} posts' like and repost counts, ${c.reactionStatesChecked} like/repost ` +
        `states (${c.reactionStatesUndecided} undecided), ${c.deletesChecked} deleted posts looked for everywhere, ` +
        `${c.blocksChecked} standing blocks, ${c.notificationsRead} notifications read ` +
        `(${c.notificationsExpected} that had to be there)`,
    );
    lines.push(
      `streams: ${c.streamReaders} readers, ${c.streamConnections} connections ` +
        `(${c.streamConnections - c.streamReaders} reconnects), ${c.streamEvents} events received, ` +
        `${c.streamEventsExpected} that had to come, ${c.streamsCaughtUp}/${c.streamReaders} caught up at the end`,
    );
  }
  lines.push("");
  lines.push(`violations: ${s.violations.length}`);
  const shown = s.violations.slice(0, 30);
  for (const v of shown) lines.push(`  [${v.kind}] ${v.message}`);
  if (s.violations.length > shown.length)
    lines.push(`  … and ${s.violations.length - shown.length} more (see the JSON report)`);
  if (s.error) lines.push(`run error: ${s.error}`);
  lines.push(`report: ${join(s.dataDir, "chaos-report.json")} and chaos-report.html beside it`);
  return lines.join("\n");
}

/**
 * Writes the summary (chaos-report.json), its page with the timeline (chaos-report.html) and the
 * full history (chaos-history.jsonl) into the data dir.
 */
export async function writeReport(summary: ChaosSummary, history: readonly Op[]): Promise<void> {
  await writeFile(join(summary.dataDir, "chaos-report.json"), JSON.stringify(summary, null, 2) + "\n");
  await writeFile(join(summary.dataDir, "chaos-report.html"), renderTimeline(summary, history));
  await writeFile(
    join(summary.dataDir, "chaos-history.jsonl"),
    history
      .map((op) => JSON.stringify({ ...op, password: undefined, token: op.token?.slice(0, 8) }))
      .join("\n") + "\n",
  );
}
