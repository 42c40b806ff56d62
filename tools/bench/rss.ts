import { readFileSync } from "node:fs";
import type { HookClient } from "./hook-client.js";
import type { BenchProcess } from "./topology.js";

/** Clock ticks per second of /proc/<pid>/stat on Linux (USER_HZ). */
const TICKS_PER_SECOND = 100;
const MIB = 1024 * 1024;

/** CPU seconds (user + system) each process has used so far, by pid; missing when unreadable. */
export function cpuSeconds(processes: readonly BenchProcess[]): Map<number, number> {
  const used = new Map<number, number>();
  for (const p of processes) {
    try {
      const stat = readFileSync(`/proc/${p.pid}/stat`, "utf8");
      // Fields after the command name (which may hold spaces) start after the last ")".
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      used.set(p.pid, (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND);
    } catch {
      // gone or not Linux: left out
    }
  }
  return used;
}

export interface ProcessMemory extends BenchProcess {
  /** CPU seconds this process used while the workloads ran (raw etcd and Flock, every concurrency). */
  cpuSecondsUnderLoad?: number;
  /** Peak resident set (VmHWM) and current resident set (VmRSS), in MiB; undefined when unreadable. */
  peakRssMiB?: number;
  rssMiB?: number;
  /** V8 heap in use after a full GC (the live heap), in MiB: Flock processes the bench started. */
  heapUsedMiB?: number;
}

/** Peak and current RSS (from /proc/<pid>/status: Linux, by pid, never by name), and the live heap when a hook answers. */
export async function processMemory(
  processes: readonly BenchProcess[],
  hooks?: HookClient,
  cpuUnderLoad: Map<number, number> = new Map(),
): Promise<ProcessMemory[]> {
  return Promise.all(
    processes.map(async (p) => {
      const cpu = cpuUnderLoad.get(p.pid);
      // Only Node processes carry the hook (etcd and the HAProxy front door do not).
      const heap = hooks && isNode(p.role) ? await hooks.memory(p.pid) : undefined;
      const figures: ProcessMemory = {
        ...p,
        cpuSecondsUnderLoad: cpu === undefined ? undefined : Math.round(cpu * 10) / 10,
        heapUsedMiB: heap === undefined ? undefined : mib(heap.heapUsed),
      };
      let status: string;
      try {
        status = readFileSync(`/proc/${p.pid}/status`, "utf8");
      } catch {
        return figures;
      }
      return { ...figures, peakRssMiB: field(status, "VmHWM"), rssMiB: field(status, "VmRSS") };
    }),
  );
}

function field(status: string, name: string): number | undefined {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
  return match ? mib(Number(match[1]) * 1024) : undefined;
}

function mib(bytes: number): number {
  return Math.round((bytes / MIB) * 10) / 10;
}

/** CPU milliseconds per operation by role (replicas summed), "bench client" included; "total" sums them. */
export type CpuPerOp = Record<string, number>;

/**
 * The most operations per second `cpus` cores could serve at these CPU costs if etcd's share
 * cost nothing: a bound on what any change to the store path (the data design, etcd's
 * batching) could reach on this machine, as the Flock tiers and the client would still use
 * the rest. Undefined when nothing but etcd was measured.
 */
export function opsPerSecondWithoutEtcd(cpu: CpuPerOp, cpus: number): number | undefined {
  const rest = (cpu.total ?? 0) - (cpu.etcd ?? 0);
  return rest > 0 ? (cpus * 1000) / rest : undefined;
}

/**
 * Runs `work` and reports the CPU time (from /proc, so it is exact however busy the machine
 * is) each role's processes and the bench client used, per operation `work` reports (per
 * request sent, when it reports those: a warm-up's requests use CPU too).
 */
export async function cpuPerOp<T extends { ops: number; sent?: number }>(
  processes: readonly BenchProcess[],
  work: () => Promise<T>,
): Promise<T & { cpuMsPerOp: CpuPerOp }> {
  const before = cpuSeconds(processes);
  const client = process.cpuUsage();
  const result = await work();
  const after = cpuSeconds(processes);
  const used = process.cpuUsage(client);
  const seconds = new Map<string, number>();
  for (const p of processes) {
    const [a, b] = [after.get(p.pid), before.get(p.pid)];
    if (a === undefined || b === undefined) continue;
    seconds.set(p.role, (seconds.get(p.role) ?? 0) + a - b);
  }
  seconds.set("bench client", (used.user + used.system) / 1e6);
  const cpuMsPerOp: CpuPerOp = {};
  const ops = result.sent ?? result.ops;
  let total = 0;
  for (const [role, s] of seconds) {
    cpuMsPerOp[role] = ops > 0 ? Math.round((s * 1e6) / ops) / 1000 : 0;
    total += s;
  }
  cpuMsPerOp.total = ops > 0 ? Math.round((total * 1e6) / ops) / 1000 : 0;
  return { ...result, cpuMsPerOp };
}

/** CPU each role used while nothing was asked of it for `seconds` (cores: CPU seconds per second). */
export async function idleCores(
  processes: readonly BenchProcess[],
  seconds: number,
): Promise<Record<string, number>> {
  if (seconds <= 0) return {};
  const before = cpuSeconds(processes);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const after = cpuSeconds(processes);
  const cores: Record<string, number> = {};
  for (const p of processes) {
    const [a, b] = [after.get(p.pid), before.get(p.pid)];
    if (a === undefined || b === undefined) continue;
    cores[p.role] = Math.round(((cores[p.role] ?? 0) + (a - b) / seconds) * 1000) / 1000;
  }
  return cores;
}

/** The roles whose processes are Flock's own Node processes (the ones the bench's hook is loaded in). */
export function isNode(role: string): boolean {
  return role === "web" || role === "backend";
}
