// Summarises V8 .cpuprofile files: where the self time goes, by function and by package.
// Usage: node build/tools/bench/profile-summary.js <file.cpuprofile>... [--top N]
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
}

const args = process.argv.slice(2);
const topIndex = args.indexOf("--top");
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
const files = args.filter((a, i) => a !== "--top" && i !== topIndex + 1);

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url.replace(/^file:\/\//, "").replace(/^.*\/node_modules\//, "npm:");
    const fn = `${functionName || "(anonymous)"} ${where}:${lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + hits);
    byArea.set(area(functionName, where), (byArea.get(area(functionName, where)) ?? 0) + hits);
  }
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  const idle = byFunction.get("(idle) :0") ?? 0;
  const busy = Math.max(1, total - idle);
  console.log(
    `\n${file}: ${seconds.toFixed(1)} s profiled, ${((100 * idle) / Math.max(1, total)).toFixed(1)}% idle; ` +
      "shares below are of the busy samples",
  );
  byFunction.delete("(idle) :0");
  byArea.delete("(idle)");
  for (const [title, map] of [
    ["by area", byArea],
    ["by function (self)", byFunction],
  ] as const) {
    console.log(`  ${title}:`);
    for (const [name, hits] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`    ${((100 * hits) / busy).toFixed(1).padStart(5)}%  ${name}`);
    }
  }
}

function area(functionName: string, where: string): string {
  if (functionName === "(idle)" || functionName === "(program)" || functionName === "(garbage collector)")
    return functionName;
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
  if (where.startsWith("node:")) return where.split(":")[1]!.split("/")[0]!.replace(/^/, "node:");
  return where === "" ? "(native)" : where;
}
