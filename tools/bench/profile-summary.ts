// Summarises V8 .cpuprofile files: where the self time goes, by function and by package.
// The bench uses summarize() for its profile phase; as a script it prints files given:
// Usage: node build/tools/bench/profile-summary.js <file.cpuprofile>... [--top N]
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
}

/** Self-time samples of one or more profiles, by function and by area (npm package, Flock folder, node module). */
export interface ProfileTally {
  seconds: number;
  samples: number;
  idle: number;
  byFunction: Map<string, number>;
  byArea: Map<string, number>;
}

export interface Share {
  name: string;
  /** Percent of the busy (not idle) samples. */
  percent: number;
}

export function emptyTally(): ProfileTally {
  return { seconds: 0, samples: 0, idle: 0, byFunction: new Map(), byArea: new Map() };
}

/** Adds one profile's samples to `tally` (profiles of replicas of one role add up). */
export function tallyProfile(profile: Profile, tally: ProfileTally = emptyTally()): ProfileTally {
  tally.seconds += (profile.endTime - profile.startTime) / 1e6;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    tally.samples += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") {
      tally.idle += hits;
      continue;
    }
    const where = url.replace(/^file:\/\//, "").replace(/^.*\/node_modules\//, "npm:");
    const fn = `${functionName || "(anonymous)"} ${where}:${lineNumber + 1}`;
    const a = area(functionName, where);
    tally.byFunction.set(fn, (tally.byFunction.get(fn) ?? 0) + hits);
    tally.byArea.set(a, (tally.byArea.get(a) ?? 0) + hits);
  }
  return tally;
}

/** The `top` biggest entries of a tally map, as percent of the busy samples. */
export function topShares(map: Map<string, number>, tally: ProfileTally, top: number): Share[] {
  const busy = Math.max(1, tally.samples - tally.idle);
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, hits]) => ({ name, percent: Math.round((1000 * hits) / busy) / 10 }));
}

function area(functionName: string, where: string): string {
  if (functionName === "(program)" || functionName === "(garbage collector)") return functionName;
  if (where.startsWith("npm:")) {
    const parts = where.slice(4).split("/");
    return `npm:${parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  // Flock's own code runs from dist/ (npm start) or build/src/ (bench and tests).
  const own = /\/(?:dist|build\/src)\//.exec(where);
  if (own)
    return `flock:${where
      .slice(own.index + own[0].length)
      .split("/")
      .slice(0, 2)
      .join("/")}`;
  if (where.startsWith("node:")) return `node:${where.split(":")[1]!.split("/")[0]!}`;
  return where === "" ? "(native)" : where;
}

function main(args: string[]): void {
  const topIndex = args.indexOf("--top");
  const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
  const files = args.filter((a, i) => a !== "--top" && i !== topIndex + 1);
  for (const file of files) {
    const tally = tallyProfile(JSON.parse(readFileSync(file, "utf8")) as Profile);
    console.log(
      `\n${file}: ${tally.seconds.toFixed(1)} s profiled, ${((100 * tally.idle) / Math.max(1, tally.samples)).toFixed(1)}% idle; ` +
        "shares below are of the busy samples",
    );
    for (const [title, map] of [
      ["by area", tally.byArea],
      ["by function (self)", tally.byFunction],
    ] as const) {
      console.log(`  ${title}:`);
      for (const { name, percent } of topShares(map, tally, top))
        console.log(`    ${percent.toFixed(1).padStart(5)}%  ${name}`);
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2));
}
