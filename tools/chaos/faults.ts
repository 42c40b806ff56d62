import { setTimeout as sleep } from "node:timers/promises";
import type { FaultRecord } from "./history.js";
import type { Recorder } from "./recorder.js";
import type { Rng } from "./rng.js";
import { BACKENDS, WEBS, type Topology } from "./topology.js";

export type FaultKind =
  | "etcd-leader-kill"
  | "etcd-leader-pause"
  | "backend-kill"
  | "web-kill"
  | "replicas-kill"
  | "full-restart"
  | "full-crash";

export interface PlannedFault {
  kind: FaultKind;
  /** Quiet time before the fault (the previous fault healed, traffic flowing). */
  gapMs: number;
  /** How long the fault lasts before the part comes back. */
  holdMs: number;
  /** Injected even when the run is past its duration: the issue asks for each at least once. */
  mandatory: boolean;
}

const MANDATORY: FaultKind[] = ["etcd-leader-kill", "etcd-leader-pause", "replicas-kill", "full-restart"];
const EXTRA: FaultKind[] = [
  "etcd-leader-kill",
  "etcd-leader-pause",
  "backend-kill",
  "web-kill",
  "replicas-kill",
  "full-crash",
];

/**
 * The fault schedule: the three single-process faults in a seeded order, then the full
 * restart (so there is data to lose by then); on the long run, seeded extras until time is up.
 */
export function planFaults(rng: Rng, short: boolean): PlannedFault[] {
  const head = MANDATORY.slice(0, 3);
  for (let i = head.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [head[i], head[j]] = [head[j]!, head[i]!];
  }
  const order: FaultKind[] = [...head, "full-restart"];
  const plan = order.map((kind) => planned(rng, kind, short, true));
  if (!short) for (let i = 0; i < 12; i++) plan.push(planned(rng, rng.pick(EXTRA), short, false));
  return plan;
}

function planned(rng: Rng, kind: FaultKind, short: boolean, mandatory: boolean): PlannedFault {
  return {
    kind,
    gapMs: short ? rng.int(3_000, 5_000) : rng.int(6_000, 12_000),
    holdMs:
      kind === "etcd-leader-pause"
        ? rng.int(4_000, 7_000)
        : short
          ? rng.int(2_000, 4_000)
          : rng.int(3_000, 8_000),
    mandatory,
  };
}

/**
 * Injects the planned faults one after the other, each healed before the next, and logs
 * each with its time into `injected` (as soon as it is injected, so an aborted run still
 * reports it). Optional faults stop once `endAt` (run clock) is near; mandatory ones always run.
 */
export async function runFaults(options: {
  plan: PlannedFault[];
  topology: Topology;
  recorder: Recorder;
  rng: Rng;
  endAt: number;
  signal: AbortSignal;
  injected: FaultRecord[];
}): Promise<void> {
  const { plan, recorder, endAt, signal } = options;
  for (const fault of plan) {
    await sleep(fault.gapMs, undefined, { signal });
    if (!fault.mandatory && recorder.now() + fault.holdMs + 15_000 > endAt) break;
    const record = await inject(fault, options);
    recorder.log(`healed: ${record.kind} after ${((record.healedAt! - record.at) / 1000).toFixed(1)}s`);
  }
}

async function inject(
  fault: PlannedFault,
  options: { topology: Topology; recorder: Recorder; rng: Rng; signal: AbortSignal; injected: FaultRecord[] },
): Promise<FaultRecord> {
  const { topology, recorder, rng, signal } = options;
  const record: FaultRecord = { kind: fault.kind, target: "", at: 0, healedAt: null, wallClock: "" };
  const mark = (what: string) => {
    record.at = recorder.now();
    record.target = what;
    record.wallClock = new Date(recorder.startedAt.getTime() + record.at).toISOString();
    options.injected.push(record);
    recorder.log(`fault: ${fault.kind} ${what}`);
  };
  const hold = () => sleep(fault.holdMs, undefined, { signal });

  switch (fault.kind) {
    case "etcd-leader-kill": {
      const i = await topology.etcd.leaderIndex();
      const member = topology.etcd.members[i]!;
      await topology.change(async () => {
        mark(`${member.name} (leader, pid ${member.pid}) SIGKILL`);
        await topology.etcd.kill(i, "SIGKILL");
      });
      await hold();
      await topology.change(() => topology.etcd.restart(i));
      break;
    }
    case "etcd-leader-pause": {
      const i = await topology.etcd.leaderIndex();
      const member = topology.etcd.members[i]!;
      await topology.change(async () => {
        mark(`${member.name} (leader, pid ${member.pid}) SIGSTOP for ${(fault.holdMs / 1000).toFixed(1)}s`);
        await topology.etcd.kill(i, "SIGSTOP");
      });
      try {
        await hold();
      } finally {
        await topology.change(() => topology.etcd.kill(i, "SIGCONT")).catch(() => undefined);
      }
      await topology.change(() => topology.etcd.waitHealthy());
      record.notes = `new leader after pause: etcd${await topology.etcd.leaderIndex().catch(() => "?")}`;
      break;
    }
    case "backend-kill":
    case "web-kill":
    case "replicas-kill": {
      const names =
        fault.kind === "backend-kill"
          ? [rng.pick(BACKENDS)]
          : fault.kind === "web-kill"
            ? [rng.pick(WEBS)]
            : [rng.pick(BACKENDS), rng.pick(WEBS)];
      await topology.change(async () => {
        mark(names.map((n) => `${n} (pid ${topology.pidOf(n)})`).join(" + ") + " SIGKILL");
        await Promise.all(names.map((n) => topology.stack.killProcess(n)));
      });
      await hold();
      await topology.change(async () => {
        for (const n of names) await topology.stack.startProcess(n);
      });
      break;
    }
    case "full-restart":
    case "full-crash": {
      const hard = fault.kind === "full-crash";
      record.notes = await topology.fullRestart(hard, () =>
        mark(
          hard ? "every process SIGKILLed, then started again" : "every process stopped, then started again",
        ),
      );
      break;
    }
  }
  record.healedAt = recorder.now();
  return record;
}
