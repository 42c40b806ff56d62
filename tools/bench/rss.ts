import { readFileSync } from "node:fs";
import type { BenchProcess } from "./topology.js";

/** Clock ticks per second of /proc/<pid>/stat on Linux (USER_HZ). */
const TICKS_PER_SECOND = 100;

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
  /** CPU seconds this process used while the workloads ran (raw etcd and Flock). */
  cpuSecondsUnderLoad?: number;
  /** Peak resident set (VmHWM) and current resident set (VmRSS), in MiB; undefined when unreadable. */
  peakRssMiB?: number;
  rssMiB?: number;
}

/** Peak and current RSS of each process, with its CPU use under load when given,, from /proc/<pid>/status (Linux; by pid, never by name). */
export function processMemory(
  processes: readonly BenchProcess[],
  cpuUnderLoad: Map<number, number> = new Map(),
): ProcessMemory[] {
  return processes.map((p) => {
    const cpu = cpuUnderLoad.get(p.pid);
    const cpuSecondsUnderLoad = cpu === undefined ? undefined : Math.round(cpu * 10) / 10;
    let status: string;
    try {
      status = readFileSync(`/proc/${p.pid}/status`, "utf8");
    } catch {
      return { ...p, cpuSecondsUnderLoad };
    }
    return { ...p, cpuSecondsUnderLoad, peakRssMiB: field(status, "VmHWM"), rssMiB: field(status, "VmRSS") };
  });
}

function field(status: string, name: string): number | undefined {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
  return match ? Math.round(Number(match[1]) / 102.4) / 10 : undefined;
}
