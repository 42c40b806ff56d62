import { setTimeout as sleep } from "node:timers/promises";
import type { RecordedClient } from "./client.js";
import { INJECT, type FaultContext } from "./fault-kinds.js";
import { healthyClearingAlarms } from "./proxied-cluster.js";
import type { FaultRecord, Violation } from "./history.js";
import type { Recorder } from "./recorder.js";
import type { Rng } from "./rng.js";
import type { Topology } from "./topology.js";

/**
 * Every kind of fault the run injects, each with the forms it takes. A cycle of the schedule
 * injects each kind once (in a seeded order), and each kind's forms take turns from cycle to
 * cycle, so a long run covers every form of every kind evenly.
 */
export const VARIANTS = {
  /** Issue 16: the network between members, and between backends and members. */
  partition: ["leader-isolated", "minority-with-clients", "one-way-loss", "backend-cut-off"],
  "slow-link": ["peer", "client", "peer+client"],
  /** Backends' wall clocks minutes off, then jumping backwards while they run. */
  "clock-skew": ["one-backend", "both-backends"],
  /** etcd's NOSPACE alarm, then the operator's runbook. */
  "disk-full": ["nospace"],
  "member-replacement": ["follower", "leader"],
  /** Issue 12: a backend SIGKILLed while it rebuilds its view after a compaction passed its watch. */
  "view-rebuild-kill": ["compacted-watch"],
  /** Issue 12: etcd compacted at its current revision while everything runs. */
  compaction: ["current-revision"],
  /** Processes killed, paused and restarted (the faults the run began with). */
  "process-crash": [
    "etcd-leader-kill",
    "etcd-leader-pause",
    "backend-kill",
    "web-kill",
    "backend+web-kill",
    "full-restart",
    "full-crash",
  ],
} as const satisfies Record<string, readonly string[]>;

export type FaultKind = keyof typeof VARIANTS;
export const FAULT_KINDS = Object.keys(VARIANTS) as FaultKind[];

export interface PlannedFault {
  kind: FaultKind;
  variant: string;
  /** Quiet time before the fault (the previous one healed, traffic flowing). */
  gapMs: number;
  /** How long the fault lasts before it is healed (kinds that heal themselves ignore it). */
  holdMs: number;
}

/**
 * Cycle `cycle` of the schedule: each kind once, in a seeded order, the form chosen in turn
 * (from a seeded start, so short runs with different seeds try different forms).
 */
export function planCycle(
  rng: Rng,
  cycle: number,
  short: boolean,
  offsets: Map<FaultKind, number>,
): PlannedFault[] {
  const kinds = [...FAULT_KINDS];
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  return kinds.map((kind) => {
    const forms = VARIANTS[kind];
    if (!offsets.has(kind)) offsets.set(kind, rng.int(0, forms.length - 1));
    return {
      kind,
      variant: forms[(offsets.get(kind)! + cycle) % forms.length]!,
      gapMs: short ? rng.int(1_500, 2_500) : rng.int(1_000, 2_500),
      holdMs: short ? rng.int(2_500, 3_500) : rng.int(2_000, 4_500),
    };
  });
}

export interface FaultRunOptions {
  topology: Topology;
  recorder: Recorder;
  rng: Rng;
  short: boolean;
  /** Cycles go on until the run clock passes this and each kind ran at least `minPerKind` times. */
  endAt: number;
  minPerKind: number;
  signal: AbortSignal;
  harness: RecordedClient;
  probe: { user: string; token: string };
  /** Every fault, logged as soon as it is injected (so an aborted run still reports it). */
  injected: FaultRecord[];
  /** What faults find themselves (a wrong answer while the disk is full, a throttle that let a guess in). */
  violations: Violation[];
}

/** Injects the schedule, one fault at a time, each healed (and etcd healthy) before the next. */
export async function runFaults(options: FaultRunOptions): Promise<void> {
  const { recorder, signal } = options;
  const offsets = new Map<FaultKind, number>();
  const ctx: FaultContext = { ...options, hold: (ms) => sleep(ms, undefined, { signal }) };
  for (let cycle = 0; cycle < options.minPerKind || recorder.now() < options.endAt; cycle++) {
    for (const fault of planCycle(options.rng, cycle, options.short, offsets)) {
      await sleep(fault.gapMs, undefined, { signal });
      await steady(ctx);
      const record = await inject(fault, ctx);
      const took = record.healedAt === null ? "?" : ((record.healedAt - record.at) / 1000).toFixed(1);
      recorder.log(
        `healed: ${record.kind}/${record.variant} after ${took}s${record.notes ? ` (${record.notes})` : ""}`,
      );
    }
    if (options.short) break;
  }
}

/**
 * Before the next fault: no alarm left over (one raised on its own is cleared by the runbook,
 * and said so), and every member healthy.
 */
async function steady(ctx: FaultContext): Promise<void> {
  for (const runbook of await healthyClearingAlarms(ctx.topology.etcd)) {
    ctx.recorder.log(`warning: etcd raised ${runbook} on its own; cleared by the runbook`);
  }
}

async function inject(fault: PlannedFault, ctx: FaultContext): Promise<FaultRecord> {
  const { recorder } = ctx;
  const record: FaultRecord = {
    kind: fault.kind,
    variant: fault.variant,
    target: "",
    at: 0,
    healedAt: null,
    wallClock: "",
  };
  const mark = (what: string) => {
    record.at = recorder.now();
    record.target = what;
    record.wallClock = new Date(recorder.startedAt.getTime() + record.at).toISOString();
    ctx.injected.push(record);
    recorder.log(`fault: ${fault.kind}/${fault.variant}: ${what}`);
  };
  await INJECT[fault.kind](fault, ctx, record, mark);
  record.healedAt ??= recorder.now();
  return record;
}
