import { OP_TYPES, type Op } from "./history.js";
import type { ChaosSummary } from "./report.js";

/**
 * The chaos report as one self-contained HTML page (inline SVG and CSS, nothing fetched): a
 * timeline of the run — acknowledged operations per second, p99 latency per second, 5xx answers
 * and requests that got no answer — with every fault drawn as a band across it, then the
 * tables: faults by kind, each fault, operations, violations.
 */

export const KIND_COLORS: Record<string, string> = {
  partition: "#d62728",
  "slow-link": "#ff7f0e",
  "clock-skew": "#9467bd",
  "disk-full": "#8c564b",
  "member-replacement": "#17becf",
  "view-rebuild-kill": "#e377c2",
  compaction: "#7f7f7f",
  "process-crash": "#1f77b4",
};
const colorOf = (kind: string) => KIND_COLORS[kind] ?? "#bcbd22";

export interface SecondStats {
  ok: number;
  /** Answered 5xx: the system said it could not do it now (outcome unknown). */
  errors: number;
  /** No answer at all: a timeout or a refused/reset connection (outcome unknown). */
  noAnswer: number;
  /** p99 latency of every request answered (or given up on) in this second, ms; 0 when none. */
  p99Ms: number;
}

/** Per-second buckets by completion time, from the run's start to its last completion. */
export function perSecond(ops: readonly Op[]): SecondStats[] {
  const done = ops.filter((o) => Number.isFinite(o.completedAt));
  // A loop, not Math.max(...): a long run's history is more arguments than the stack holds.
  const last = done.reduce((max, o) => Math.max(max, o.completedAt), 0);
  const seconds = Math.ceil(last / 1000) + 1;
  const latencies: number[][] = Array.from({ length: seconds }, () => []);
  const stats: SecondStats[] = Array.from({ length: seconds }, () => ({
    ok: 0,
    errors: 0,
    noAnswer: 0,
    p99Ms: 0,
  }));
  for (const o of done) {
    const s = Math.floor(o.completedAt / 1000);
    const bucket = stats[s]!;
    if (o.outcome === "ok") bucket.ok++;
    else if (o.outcome === "unknown") {
      if (o.status === 0) bucket.noAnswer++;
      else bucket.errors++;
    }
    latencies[s]!.push(o.completedAt - o.invokedAt);
  }
  latencies.forEach((list, s) => {
    if (list.length === 0) return;
    list.sort((a, b) => a - b);
    stats[s]!.p99Ms = list[Math.min(list.length - 1, Math.ceil(list.length * 0.99) - 1)]!;
  });
  return stats;
}

const esc = (text: unknown) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const sec = (ms: number | null) => (ms === null ? "never" : `${(ms / 1000).toFixed(1)} s`);

/** A "nice" axis maximum at or above `value`. */
function niceMax(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function chart(summary: ChaosSummary, stats: SecondStats[]): string {
  const seconds = Math.max(stats.length, 1);
  const px = Math.max(0.6, Math.min(16, 1200 / seconds));
  const labelled = summary.faults.length <= 60;
  const left = 64;
  const width = left + Math.ceil(seconds * px) + 20;
  const panels = [
    {
      title: "acknowledged operations / s",
      height: 130,
      max: niceMax(stats.reduce((max, s) => Math.max(max, s.ok), 0)),
    },
    {
      title: "p99 latency per second (ms)",
      height: 110,
      max: niceMax(stats.reduce((max, s) => Math.max(max, s.p99Ms), 0)),
    },
    {
      title: "unknown outcomes / s: 5xx answers (dark), no answer (light)",
      height: 90,
      max: niceMax(stats.reduce((max, s) => Math.max(max, s.errors + s.noAnswer), 0)),
    },
  ];
  // A lane above the plots for the faults' names, on three staggered rows so they do not overlap.
  const top = labelled ? 76 : 34;
  const gap = 16;
  const height = top + panels.reduce((sum, p) => sum + p.height + gap, 0) + 24;
  const x = (ms: number) => left + (ms / 1000) * px;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);

  // Fault bands across every panel, with the kind's name above when there is room.
  const plotBottom = height - 24;
  const rowEnds = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  summary.faults.forEach((f) => {
    const end = f.healedAt ?? f.at + 1000;
    const x0 = x(f.at);
    const w = Math.max(2, x(end) - x0);
    const title = `<title>${esc(`+${sec(f.at)} ${f.kind}/${f.variant}: ${f.target}; healed after ${sec(f.healedAt === null ? null : f.healedAt - f.at)}, longest stretch without an acknowledged write ${sec(f.unavailableMs)}`)}</title>`;
    // What led up to it (filling the disk): a paler band before the fault itself.
    if (f.preparedAt !== undefined && f.preparedAt < f.at) {
      const xp = x(f.preparedAt);
      out.push(
        `<rect x="${xp.toFixed(1)}" y="${top - 4}" width="${(x0 - xp).toFixed(1)}" height="${plotBottom - top + 4}" fill="${colorOf(f.kind)}" fill-opacity="0.07">${title}</rect>`,
      );
    }
    out.push(
      `<rect x="${x0.toFixed(1)}" y="${top - 4}" width="${w.toFixed(1)}" height="${plotBottom - top + 4}" fill="${colorOf(f.kind)}" fill-opacity="0.18">${title}</rect>`,
    );
    out.push(
      `<rect x="${x0.toFixed(1)}" y="${top - 10}" width="${w.toFixed(1)}" height="5" fill="${colorOf(f.kind)}"/>`,
    );
    if (labelled) {
      // The first of three rows with room for it (about 5.5 px a character); none: no label
      // (the band keeps its colour and its tooltip).
      const label =
        f.kind === "process-crash" ? f.variant : f.kind === "partition" ? `partition: ${f.variant}` : f.kind;
      const row = rowEnds.findIndex((end) => end < x0);
      if (row >= 0) {
        rowEnds[row] = x0 + label.length * 5.5 + 6;
        out.push(
          `<text x="${x0.toFixed(1)}" y="${top - 16 - row * 13}" fill="${colorOf(f.kind)}" font-size="10">${esc(label)}</text>`,
        );
      }
    }
  });

  let y = top;
  const series: ((s: SecondStats) => number)[] = [(s) => s.ok, (s) => s.p99Ms];
  panels.forEach((panel, p) => {
    const scale = (v: number) => y + panel.height - (Math.min(v, panel.max) / panel.max) * panel.height;
    out.push(`<text x="${left + 4}" y="${y + 11}" font-weight="bold">${esc(panel.title)}</text>`);
    out.push(
      `<line x1="${left}" y1="${y + panel.height}" x2="${width - 20}" y2="${y + panel.height}" stroke="#444"/>`,
    );
    out.push(`<line x1="${left}" y1="${y}" x2="${left}" y2="${y + panel.height}" stroke="#444"/>`);
    for (const t of [0, 0.5, 1]) {
      const v = panel.max * t;
      const ty = scale(v);
      out.push(
        `<text x="${left - 6}" y="${(ty + 4).toFixed(1)}" text-anchor="end">${esc(Math.round(v))}</text>`,
      );
      if (t > 0) out.push(`<line x1="${left}" y1="${ty}" x2="${width - 20}" y2="${ty}" stroke="#ddd"/>`);
    }
    if (p < 2) {
      const points = stats.map(
        (s, i) => `${(left + (i + 0.5) * px).toFixed(1)},${scale(series[p]!(s)).toFixed(1)}`,
      );
      const color = p === 0 ? "#2b7a2b" : "#444";
      if (p === 0) {
        out.push(
          `<polygon points="${left},${y + panel.height} ${points.join(" ")} ${(left + stats.length * px).toFixed(1)},${y + panel.height}" fill="#2b7a2b" fill-opacity="0.25"/>`,
        );
      }
      out.push(`<polyline points="${points.join(" ")}" fill="none" stroke="${color}" stroke-width="1.2"/>`);
    } else {
      stats.forEach((s, i) => {
        if (s.errors + s.noAnswer === 0) return;
        const bx = (left + i * px).toFixed(1);
        const bw = Math.max(0.8, px - 0.3).toFixed(1);
        const yErr = scale(s.errors);
        const yAll = scale(s.errors + s.noAnswer);
        out.push(
          `<rect x="${bx}" y="${yErr.toFixed(1)}" width="${bw}" height="${(y + panel.height - yErr).toFixed(1)}" fill="#b22"/>`,
        );
        if (s.noAnswer > 0) {
          out.push(
            `<rect x="${bx}" y="${yAll.toFixed(1)}" width="${bw}" height="${(yErr - yAll).toFixed(1)}" fill="#f4a3a3"/>`,
          );
        }
      });
    }
    y += panel.height + gap;
  });

  // Time axis.
  const step = [10, 30, 60, 120, 300, 600].find((s) => s * px >= 60) ?? 600;
  for (let s = 0; s <= seconds; s += step) {
    const tx = left + s * px;
    out.push(
      `<line x1="${tx}" y1="${plotBottom - gap + 2}" x2="${tx}" y2="${plotBottom - gap + 6}" stroke="#444"/>`,
    );
    const label = seconds >= 180 ? `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}` : `${s} s`;
    out.push(`<text x="${tx}" y="${plotBottom - gap + 17}" text-anchor="middle">${label}</text>`);
  }
  out.push("</svg>");
  return out.join("\n");
}

function legend(summary: ChaosSummary): string {
  const kinds = [...new Set(summary.faults.map((f) => f.kind))];
  return kinds
    .map(
      (k) =>
        `<span class="key"><span class="swatch" style="background:${colorOf(k)}"></span>${esc(k)}</span>`,
    )
    .join(" ");
}

/** The whole page. */
export function renderTimeline(summary: ChaosSummary, ops: readonly Op[]): string {
  const stats = perSecond(ops);
  const c = summary.checked;
  const verdict =
    summary.error !== undefined
      ? `<span class="bad">run error: ${esc(summary.error)}</span>`
      : summary.violations.length === 0
        ? `<span class="good">0 violations</span>`
        : `<span class="bad">${summary.violations.length} violation(s)</span>`;
  const kindRows = Object.entries(summary.byKind)
    .map(
      ([kind, k]) =>
        `<tr><td><span class="swatch" style="background:${colorOf(kind)}"></span>${esc(kind)}</td><td>${k.count}</td>` +
        `<td>${sec(k.longestUnavailableMs)}</td><td>${sec(k.medianUnavailableMs)}</td><td>${sec(k.longestRecoveryMs)}</td>` +
        `<td>${Object.entries(k.variants)
          .map(([v, s]) => `${esc(v)} ×${s.count} (≤ ${sec(s.longestUnavailableMs)})`)
          .join(", ")}</td></tr>`,
    )
    .join("\n");
  const faultRows = summary.faults
    .map(
      (f) =>
        `<tr><td>+${sec(f.at)}</td><td>${esc(f.kind)}/${esc(f.variant)}</td><td>${esc(f.target)}</td>` +
        `<td>${sec(f.healedAt === null ? null : f.healedAt - f.at)}</td><td>${sec(f.unavailableMs)}</td><td>${sec(f.firstWriteMs)}</td>` +
        `<td>${sec(f.recoveryMs)}</td><td>${esc(f.notes ?? "")}</td></tr>`,
    )
    .join("\n");
  const opRows = [...OP_TYPES, "total" as const]
    .map((t) => {
      const o = summary.ops[t];
      return `<tr><td>${t}</td><td>${o.attempted}</td><td>${o.ok}</td><td>${o.failed}</td><td>${o.unknown}</td></tr>`;
    })
    .join("\n");
  const violationItems = summary.violations
    .slice(0, 200)
    .map((v) => `<li><b>${esc(v.kind)}</b> ${esc(v.message)}</li>`)
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Flock chaos run, seed ${summary.seed}</title>
<style>
body{font-family:sans-serif;margin:20px;color:#222}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:22px 0 6px}
.meta{color:#555;margin-bottom:10px} .good{color:#2b7a2b;font-weight:bold} .bad{color:#b22;font-weight:bold}
.plot{overflow-x:auto;border:1px solid #ddd;padding:4px 0}
table{border-collapse:collapse;font-size:12px} td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4} .swatch{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
.key{margin-right:12px;font-size:12px}
</style></head><body>
<h1>Flock chaos run — ${verdict}</h1>
<div class="meta">seed ${summary.seed}${summary.short ? " (short)" : ""}, ${summary.concurrency} virtual users,
workload ${sec(summary.workloadMs)}, ${summary.ops.total.attempted} operations (${summary.ops.total.ok} acknowledged,
${summary.ops.total.unknown} unknown outcomes), ${summary.faults.length} faults, started ${esc(summary.startedAt)}.
${c ? `Checked ${c.postsAcknowledged} acknowledged posts, ${c.feedEntriesExpected} final feed entries, ${c.feedReadsChecked} feed reads during the run (${c.readEntriesExpected} posts that had to be on them), ${c.listsOrderChecked} lists in real-time order, ${c.writesInMinorityWindows} writes sent while only a minority was reachable.` : ""}</div>
<div>${legend(summary)}</div>
<div class="plot">${chart(summary, stats)}</div>
<h2>Faults by kind</h2>
<table><tr><th>kind</th><th>faults</th><th>longest unavailability</th><th>median</th><th>longest recovery after heal</th><th>forms</th></tr>
${kindRows}</table>
<p class="meta">Unavailability: the longest stretch without any acknowledged write, from the fault until writes resumed after its heal. Recovery: from the heal to the first acknowledged write requested after it.</p>
<h2>Operations</h2>
<table><tr><th>operation</th><th>attempted</th><th>ok</th><th>failed (4xx)</th><th>unknown</th></tr>
${opRows}</table>
<h2>Violations</h2>
${summary.violations.length === 0 ? "<p>none</p>" : `<ul>${violationItems}</ul>`}
<h2>Every fault</h2>
<table><tr><th>at</th><th>kind/form</th><th>what</th><th>lasted</th><th>longest without a write</th><th>first write</th><th>after heal</th><th>notes</th></tr>
${faultRows}</table>
</body></html>
`;
}
