import type { LoadSettings } from "./config.js";
import type { Progress } from "./progress.js";
import type { EtcdWorkPerOp } from "./etcd-work.js";
import type { CpuPerOp } from "./rss.js";
import { rng, type Rng } from "./random.js";
import { Recorder, type LatencySummary } from "./stats.js";

/**
 * One request of a workload: resolves to undefined on success, or a short name of what failed;
 * or, when the operation does unmeasured work first (delete-post making the post it deletes),
 * to the milliseconds of its measured request and what failed.
 */
export type Operation = (worker: number, random: Rng) => Promise<string | undefined | Timed>;

export interface Timed {
  ms: number;
  error?: string;
}

export interface Workload {
  name: string;
  /** What the raw etcd figure it is compared with measures: reads against gets, writes against puts. */
  kind: "read" | "write";
  op: Operation;
  /** Unmeasured clean-up once the workload has run (e.g. undo follows it left). */
  finish?: () => Promise<void>;
  /** What the report should say about this run (asked once it has finished). */
  note?: () => string | undefined;
}

export interface WorkloadResult extends LatencySummary {
  name: string;
  kind: "read" | "write";
  seconds: number;
  /**
   * Requests sent, the warm-up's included: what the CPU and etcd work measured around the run
   * is divided by (`ops` counts only those recorded after the warm-up).
   */
  sent: number;
  /** CPU ms per operation by role, from /proc (see rss.ts cpuPerOp), when measured. */
  cpuMsPerOp?: CpuPerOp;
  /** etcd requests and fsyncs per operation, from the members' /metrics (see etcd-work.ts), when measured. */
  etcdPerOp?: EtcdWorkPerOp;
  /** The workload's own remark on this run (e.g. where delete-post's posts came from). */
  note?: string;
}

/**
 * A closed-loop load generator: `concurrency` workers, each sending its next request as
 * soon as the previous one answered. After an unrecorded warm-up, every request that
 * answers from then on is recorded (also one sent during the warm-up: slow operations
 * such as login would otherwise never land in a short window); no request is sent after
 * the window, and the rate is over the time until the last one answered. Bounded by time
 * and by `maxOpsPerWorkload`.
 */
export async function runClosedLoop(
  workload: Workload,
  settings: LoadSettings,
  seed: number,
  progress: Progress,
): Promise<WorkloadResult> {
  const recorder = new Recorder();
  const warmupEnd = performance.now() + settings.warmupSeconds * 1000;
  const end = warmupEnd + settings.durationSeconds * 1000;
  let sent = 0;
  let lastFinish = warmupEnd;

  const worker = async (w: number) => {
    const random = rng(seed * 7919 + w);
    for (;;) {
      const t0 = performance.now();
      if (t0 >= end || sent >= settings.maxOpsPerWorkload) return;
      sent++;
      let outcome: string | undefined | Timed;
      try {
        outcome = await workload.op(w, random);
      } catch (err) {
        outcome = describeError(err);
      }
      const t1 = performance.now();
      if (t1 < warmupEnd) continue;
      if (typeof outcome === "object") recorder.record(outcome.ms, outcome.error);
      else recorder.record(t1 - t0, outcome);
      lastFinish = Math.max(lastFinish, t1);
    }
  };

  const ticker = setInterval(() => {
    const now = performance.now();
    const phase =
      now < warmupEnd ? "warm-up" : `${((now - warmupEnd) / 1000).toFixed(0)}/${settings.durationSeconds}s`;
    const rate = now > warmupEnd ? Math.round(recorder.count / ((now - warmupEnd) / 1000)) : 0;
    progress.update(
      `${workload.name.padEnd(16)} ${phase}  ${recorder.count} ops  ${rate}/s  errors ${recorder.errors}`,
    );
  }, 250);
  try {
    await Promise.all(Array.from({ length: settings.concurrency }, (_, w) => worker(w)));
  } finally {
    clearInterval(ticker);
  }
  await workload.finish?.();
  const seconds = Math.max(0.001, (lastFinish - warmupEnd) / 1000);
  const summary = recorder.summary(seconds);
  progress.done(
    `${workload.name.padEnd(16)} ${summary.opsPerSecond} ops/s  p50 ${summary.p50} ms  p99 ${summary.p99} ms  errors ${summary.errors}`,
  );
  const note = workload.note?.();
  return {
    name: workload.name,
    kind: workload.kind,
    seconds: Math.round(seconds * 100) / 100,
    sent,
    ...summary,
    ...(note === undefined ? {} : { note }),
  };
}

export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return "error";
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : err.message.slice(0, 60);
}
