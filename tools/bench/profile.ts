import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { LoadSettings } from "./config.js";
import { runClosedLoop, type Workload } from "./load.js";
import {
  emptyTally,
  tallyProfile,
  topShares,
  type Profile,
  type ProfileTally,
  type Share,
} from "./profile-summary.js";
import type { Progress } from "./progress.js";
import { cpuPerOp, isNode, type CpuPerOp } from "./rss.js";
import type { Topology } from "./topology.js";

/** Where one role's processes spent their CPU during one profiled workload. */
export interface RoleProfile {
  role: string;
  processes: number;
  /** CPU milliseconds of this role (replicas summed) per request of the workload, from /proc. */
  cpuMsPerOp: number;
  areas: Share[];
  functions: Share[];
}

export interface ProfileRun {
  workload: string;
  concurrency: number;
  /** Throughput while profiled (the profiler costs a little: the main table is measured without it). */
  opsPerSecond: number;
  ops: number;
  roles: RoleProfile[];
  /** The .cpuprofile files (open them in Chrome DevTools), when kept. */
  files: string[];
}

/**
 * Runs each workload again with the V8 CPU profiler on in every Flock process (through
 * process-hook.ts, what `node --cpu-prof` records), after the measured runs so JIT and
 * connections are warm, and summarises the self time per role (front door, web, backend).
 */
export async function profileWorkloads(
  topology: Topology,
  workloads: readonly Workload[],
  settings: LoadSettings,
  seed: number,
  dir: string,
  top: number,
  progress: Progress,
): Promise<ProfileRun[]> {
  const hooks = topology.hooks;
  if (!hooks) return [];
  await mkdir(dir, { recursive: true });
  const runs: ProfileRun[] = [];
  for (const workload of workloads) {
    const flock = topology.processes().filter((p) => isNode(p.role));
    await Promise.all(flock.map((p) => hooks.profileStart(p.pid)));
    const result = await cpuPerOp(flock, () =>
      runClosedLoop(
        { ...workload, name: `${workload.name} (profiled)` },
        { ...settings, warmupSeconds: 0 },
        seed,
        progress,
      ),
    );
    const files = flock.map((p) => join(dir, `${workload.name}-${p.name}-${p.pid}.cpuprofile`));
    await Promise.all(flock.map((p, i) => hooks.profileStop(p.pid, files[i]!)));
    const roles = await roleProfiles(
      flock.map((p, i) => ({ role: p.role, file: files[i]! })),
      result.cpuMsPerOp,
      top,
    );
    runs.push({
      workload: workload.name,
      concurrency: settings.concurrency,
      opsPerSecond: result.opsPerSecond,
      ops: result.ops,
      roles,
      files,
    });
  }
  return runs;
}

/** The profiles of one run, summed per role, with each role's CPU per operation. */
export async function roleProfiles(
  profiles: readonly { role: string; file: string }[],
  cpuMsPerOp: CpuPerOp,
  top: number,
): Promise<RoleProfile[]> {
  const tallies = new Map<string, { tally: ProfileTally; processes: number }>();
  for (const { role, file } of profiles) {
    const profile = JSON.parse(await readFile(file, "utf8")) as Profile;
    const entry = tallies.get(role) ?? { tally: emptyTally(), processes: 0 };
    tallyProfile(profile, entry.tally);
    entry.processes++;
    tallies.set(role, entry);
  }
  return [...tallies].map(([role, { tally, processes }]): RoleProfile => ({
    role,
    processes,
    cpuMsPerOp: cpuMsPerOp[role] ?? 0,
    areas: topShares(tally.byArea, tally, top),
    functions: topShares(tally.byFunction, tally, top),
  }));
}
