import { open } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { RecordedClient } from "./client.js";
import { healthyClearingAlarms } from "./proxied-cluster.js";
import { compact, fillUntilNoSpace, memberStatus, recoverFromNoSpace } from "./etcd-admin.js";
import type { FaultKind, PlannedFault } from "./faults.js";
import type { FaultRecord, Violation } from "./history.js";
import { throttleHolds } from "./throttle-probe.js";
import type { Recorder } from "./recorder.js";
import type { Rng } from "./rng.js";
import { BACKENDS, WEBS, type Topology } from "./topology.js";

export interface FaultContext {
  topology: Topology;
  recorder: Recorder;
  rng: Rng;
  short: boolean;
  signal: AbortSignal;
  harness: RecordedClient;
  probe: { user: string; token: string };
  violations: Violation[];
  injected: FaultRecord[];
  hold(ms: number): Promise<void>;
}

type Mark = (what: string) => void;
type Inject = (fault: PlannedFault, ctx: FaultContext, record: FaultRecord, mark: Mark) => Promise<void>;

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/** The key the full-disk fault fills etcd with: outside Flock's prefix, so no view watches it. */
export const FILL_KEY = "chaos/fill";

const otherMember = (rng: Rng, not: number, size: number) =>
  rng.pick([...Array(size).keys()].filter((i) => i !== not));

/**
 * Partitions through the fault proxies. A minority with the clients is the strict one: the
 * backends reach only the minority member, so the run checks that no write was acknowledged
 * while it lasted (the record's noAckWindow).
 */
const partition: Inject = async (fault, ctx, record, mark) => {
  const { topology, rng, recorder } = ctx;
  const net = topology.network;
  const etcd = topology.etcd;
  const leader = await etcd.leaderIndex();
  const name = (i: number) => etcd.members[i]!.name;
  switch (fault.variant) {
    case "leader-isolated":
      mark(`${name(leader)} (leader) cut off from both followers`);
      net.isolate(leader);
      break;
    case "minority-with-clients": {
      const minority = rng.chance(0.5) ? leader : otherMember(rng, leader, etcd.members.length);
      const majority = etcd.members.map((_, i) => i).filter((i) => i !== minority);
      mark(
        `split ${name(minority)}${minority === leader ? " (leader)" : ""} | ${majority.map(name).join("+")}, ` +
          "both backends reach only the minority",
      );
      net.split([minority]);
      BACKENDS.forEach((_, c) => net.cutClient(c, majority));
      record.noAckWindow = { from: recorder.now(), to: Number.POSITIVE_INFINITY };
      break;
    }
    case "one-way-loss": {
      const follower = otherMember(rng, leader, etcd.members.length);
      const [from, to] = rng.chance(0.5) ? [leader, follower] : [follower, leader];
      mark(
        `${name(from)} → ${name(to)} dropped (${from === leader ? "leader to follower" : "follower to leader"})`,
      );
      net.dropOneWay(from, to);
      break;
    }
    case "backend-cut-off": {
      const c = rng.int(0, BACKENDS.length - 1);
      mark(`${BACKENDS[c]} cut off from every etcd member; web still sends to it`);
      net.cutClient(c);
      break;
    }
  }
  // A minority partition lasts past the store's call budget (3 s), so writes sent during it are
  // answered during it: the check that none is acknowledged then has something to judge.
  await ctx.hold(record.noAckWindow ? fault.holdMs + 5_000 : fault.holdMs);
  if (record.noAckWindow) record.noAckWindow.to = recorder.now();
  net.heal();
  record.healedAt = recorder.now();
  record.notes = `new leader ${name(await etcd.leaderIndex().catch(() => leader))}`;
};

/** Latency and jitter on links: tens to hundreds of milliseconds each way. */
const slowLink: Inject = async (fault, ctx, record, mark) => {
  const { topology, rng, recorder } = ctx;
  const net = topology.network;
  const latency = () => ({ delayMs: rng.int(20, 250), jitterMs: rng.int(5, 100) });
  const parts: string[] = [];
  const peer = fault.variant !== "client" ? latency() : undefined;
  const client = fault.variant !== "peer" ? latency() : undefined;
  if (peer) parts.push(`peer links +${peer.delayMs}±${peer.jitterMs} ms`);
  if (client) parts.push(`backend→etcd links +${client.delayMs}±${client.jitterMs} ms`);
  mark(`${parts.join(", ")} each way`);
  if (peer) net.slowPeers(peer);
  if (client) BACKENDS.forEach((_, c) => net.slowClient(c, client));
  await ctx.hold(fault.holdMs + 1_000);
  net.heal();
  record.healedAt = recorder.now();
};

/**
 * Backend clocks minutes off (libfaketime), then jumping backwards by minutes while they run,
 * then back to true (a jump forwards). Meanwhile a throttle probe makes sure failed logins are
 * still counted and enforced across the skewed backends.
 */
const clockSkew: Inject = async (fault, ctx, record, mark) => {
  const { topology, rng, recorder } = ctx;
  const targets = fault.variant === "both-backends" ? [0, 1] : [rng.int(0, BACKENDS.length - 1)];
  const first = targets.map((_, k) => (k === 0 ? 1 : -1) * rng.int(2, 9) * (rng.chance(0.5) ? 1 : -1));
  const back = targets.map((_, k) => first[k]! - rng.int(3, 12));
  const fmt = (m: number) => `${m >= 0 ? "+" : ""}${m}m`;
  mark(
    targets
      .map((t, k) => `${BACKENDS[t]} clock ${fmt(first[k]!)}, then jumps back to ${fmt(back[k]!)}`)
      .join("; "),
  );
  targets.forEach((t, k) => topology.setClock(t, fmt(first[k]!)));
  // libfaketime rereads the file within a second.
  await ctx.hold(Math.max(1_500, fault.holdMs / 2));
  targets.forEach((t, k) => topology.setClock(t, fmt(back[k]!)));
  const throttle = throttleHolds(topology.frontUrl, `thr_${Math.floor(recorder.now())}`, rng);
  await ctx.hold(Math.max(1_500, fault.holdMs / 2));
  const verdict = await throttle;
  targets.forEach((t) => topology.setClock(t, "+0"));
  await sleep(1_100);
  record.healedAt = recorder.now();
  record.notes = `throttle probe: ${verdict.summary}`;
  if (!verdict.ok) ctx.violations.push({ kind: "throttle", message: `${record.target}: ${verdict.summary}` });
};

/**
 * The store runs out of space (etcd's NOSPACE alarm, reached by history growth on one key).
 * Writes must answer 503 saying storage is full, reads keep working; then the operator's
 * runbook (README): delete the junk, compact, defragment each member, disarm the alarm.
 */
const diskFull: Inject = async (fault, ctx, record, mark) => {
  const { topology, recorder, harness, probe } = ctx;
  const endpoints = topology.etcd.endpoints;
  const { dbSize: before, dbSizeInUse: inUse } = await memberStatus(endpoints[0]!);
  const filling = recorder.now();
  const filled = await fillUntilNoSpace(endpoints[0]!, FILL_KEY, { signal: ctx.signal });
  // The fault is the full disk: it begins when etcd raises its alarm.
  mark(
    `etcd out of space: its ${(topology.quotaBytes / 2 ** 20).toFixed(0)} MiB quota reached ` +
      `(${filled.writes} × 1 MiB written in ${((recorder.now() - filling) / 1000).toFixed(1)}s), NOSPACE alarm`,
  );
  record.preparedAt = filling;
  const checks: string[] = [];
  if (filled.refusal) {
    // What a user sees: a write is refused with a clear 503, a read still answers.
    const write = await harness.post(
      probe.user,
      probe.token,
      `${probe.user} while the disk is full ${recorder.now()}`,
    );
    const message = JSON.stringify(write.body ?? "");
    if (write.status !== 503 || !/storage is full/i.test(message)) {
      ctx.violations.push({
        kind: "nospace-answer",
        message: `a post while etcd is out of space answered ${write.status} ${message.slice(0, 160)}, not a 503 saying storage is full`,
      });
    }
    checks.push(`post → ${write.status}`);
    const read = await harness.feed(probe.user, probe.token);
    if (read.status !== 200) {
      ctx.violations.push({
        kind: "nospace-read",
        message: `a feed read while etcd is out of space answered ${read.status}`,
      });
    }
    checks.push(`feed → ${read.status}`);
  }
  await ctx.hold(fault.holdMs);
  const recovered = await recoverFromNoSpace(endpoints, FILL_KEY);
  record.healedAt = recorder.now();
  record.notes =
    `filled from ${mib(before)} MiB (${mib(inUse)} in use)${filled.refusal ? "" : " (no NOSPACE!)"}; ${checks.join(", ")}; ` +
    `runbook: db ${recovered.before.map(mib).join("/")} → ${recovered.after.map(mib).join("/")} MiB, ${recovered.alarms} alarm(s) disarmed`;
  if (!filled.refusal) ctx.violations.push({ kind: "nospace-unreached", message: record.notes });
};

/** The operator's member replacement, under load: remove, add an empty one, let it catch up. */
const memberReplacement: Inject = async (fault, ctx, record, mark) => {
  const { topology, rng, recorder } = ctx;
  const etcd = topology.etcd;
  const leader = await etcd.leaderIndex();
  const i = fault.variant === "leader" ? leader : otherMember(rng, leader, etcd.members.length);
  mark(
    `${etcd.members[i]!.name}${i === leader ? " (leader)" : ""} removed, its data deleted, a new empty member added`,
  );
  const { removed, added } = await topology.change(() => topology.proxied.replaceMember(i));
  const replaced = recorder.now();
  // Caught up: the new member has applied the log up to the leader's index as it was when it joined.
  const target = (await memberStatus(etcd.endpoints[await etcd.leaderIndex()]!)).raftIndex;
  for (;;) {
    const status = await memberStatus(etcd.members[i]!.clientUrl).catch(() => undefined);
    if (status && status.raftAppliedIndex >= target) break;
    if (recorder.now() - replaced > 60_000) throw new Error(`${added} did not catch up within 60 s`);
    await sleep(50, undefined, { signal: ctx.signal });
  }
  const caughtUp = recorder.now() - replaced;
  // Catching up replays the raft log: if it holds the history that once filled the store, the
  // new member's file grows past the quota again (defragmentation is not replicated) and it
  // raises NOSPACE for the whole cluster. The operator's answer is the runbook.
  const runbooks = await healthyClearingAlarms(etcd);
  record.healedAt = recorder.now();
  record.notes =
    `${removed} → ${added}; caught up ${(caughtUp / 1000).toFixed(1)}s after joining` +
    runbooks.map((r) => `; replaying the log raised ${r}, cleared by the runbook`).join("");
};

/**
 * Issue 12: a backend whose watch falls behind a compaction must rebuild its view, and may die
 * while doing so. The backend is cut off from etcd while writes go on, etcd is compacted at its
 * current revision, the backend is let back (a little slow, so its load takes a while) and is
 * SIGKILLed as soon as its log says it started rebuilding; then it starts again from nothing.
 */
const viewRebuildKill: Inject = async (_fault, ctx, record, mark) => {
  const { topology, rng, recorder } = ctx;
  const net = topology.network;
  const c = rng.int(0, BACKENDS.length - 1);
  const name = BACKENDS[c]!;
  const log = topology.logFile(name);
  const direct = topology.etcd.endpoints[0]!;
  mark(`${name} cut off, etcd compacted past its watch, ${name} SIGKILLed while it rebuilds its view`);
  const startRevision = (await memberStatus(direct)).revision;
  net.cutClient(c);
  // Writes go on through the other backend; wait until some happened.
  const deadline = recorder.now() + 15_000;
  while ((await memberStatus(direct)).revision < startRevision + 5 && recorder.now() < deadline) {
    await sleep(100, undefined, { signal: ctx.signal });
  }
  const revision = (await memberStatus(direct)).revision;
  await compact(direct, revision);
  const offset = await fileSize(log);
  net.slowClient(c, { delayMs: 10, jitterMs: 5 });
  net.reconnectClient(c);
  const reconnected = recorder.now();
  const seen = await waitForLog(log, offset, /read model watch ended; rebuilding/, 15_000, ctx.signal);
  await topology.change(() => topology.stack.killProcess(name));
  const killedAfter = recorder.now() - reconnected;
  net.slowClient(c, undefined);
  await topology.change(async () => {
    await topology.stack.startProcess(name);
    await topology.stack.waitReady(name, 60_000);
  });
  record.healedAt = recorder.now();
  record.notes = seen
    ? `compacted at ${revision}; rebuild began and was killed ${(killedAfter / 1000).toFixed(1)}s after reconnecting: killed mid-rebuild`
    : `compacted at ${revision}; no rebuild seen within 15 s, killed anyway`;
  if (!seen) recorder.log(`warning: ${name} did not start a rebuild after the compaction`);
};

/** Issue 12: a forced compaction at the current revision while everything runs. */
const compaction: Inject = async (_fault, ctx, record, mark) => {
  const direct = ctx.topology.etcd.endpoints[0]!;
  const revision = (await memberStatus(direct)).revision;
  mark(`etcd compacted at its current revision ${revision}`);
  await compact(direct, revision);
  record.healedAt = ctx.recorder.now();
};

/** Processes killed, paused, restarted: what the run injected before issue 16. */
const processCrash: Inject = async (fault, ctx, record, mark) => {
  const { topology, rng, recorder } = ctx;
  const etcd = topology.etcd;
  switch (fault.variant) {
    case "etcd-leader-kill": {
      const i = await etcd.leaderIndex();
      const member = etcd.members[i]!;
      await topology.change(async () => {
        mark(`${member.name} (leader, pid ${member.pid}) SIGKILL`);
        await etcd.kill(i, "SIGKILL");
      });
      await ctx.hold(fault.holdMs);
      await topology.change(() => etcd.restart(i));
      break;
    }
    case "etcd-leader-pause": {
      const i = await etcd.leaderIndex();
      const member = etcd.members[i]!;
      const holdMs = fault.holdMs + 2_000;
      await topology.change(async () => {
        mark(`${member.name} (leader, pid ${member.pid}) SIGSTOP for ${(holdMs / 1000).toFixed(1)}s`);
        await etcd.kill(i, "SIGSTOP");
      });
      try {
        await ctx.hold(holdMs);
      } finally {
        await topology.change(() => etcd.kill(i, "SIGCONT")).catch(() => undefined);
      }
      await topology.change(() => etcd.waitHealthy());
      record.notes = `new leader after pause: ${etcd.members[await etcd.leaderIndex().catch(() => i)]!.name}`;
      break;
    }
    case "backend-kill":
    case "web-kill":
    case "backend+web-kill": {
      const names =
        fault.variant === "backend-kill"
          ? [rng.pick(BACKENDS)]
          : fault.variant === "web-kill"
            ? [rng.pick(WEBS)]
            : [rng.pick(BACKENDS), rng.pick(WEBS)];
      await topology.change(async () => {
        mark(names.map((n) => `${n} (pid ${topology.pidOf(n)})`).join(" + ") + " SIGKILL");
        await Promise.all(names.map((n) => topology.stack.killProcess(n)));
      });
      await ctx.hold(fault.holdMs);
      await topology.change(async () => {
        for (const n of names) await topology.stack.startProcess(n);
      });
      break;
    }
    case "full-restart":
    case "full-crash": {
      const hard = fault.variant === "full-crash";
      record.notes = await topology.fullRestart(hard, () =>
        mark(
          hard ? "every process SIGKILLed, then started again" : "every process stopped, then started again",
        ),
      );
      break;
    }
  }
  record.healedAt = recorder.now();
};

export const INJECT: Record<FaultKind, Inject> = {
  partition,
  "slow-link": slowLink,
  "clock-skew": clockSkew,
  "disk-full": diskFull,
  "member-replacement": memberReplacement,
  "view-rebuild-kill": viewRebuildKill,
  compaction,
  "process-crash": processCrash,
};

async function fileSize(path: string): Promise<number> {
  try {
    const handle = await open(path, "r");
    try {
      return (await handle.stat()).size;
    } finally {
      await handle.close();
    }
  } catch {
    return 0;
  }
}

/** Polls a log file from `offset` until a line matches; false after `timeoutMs`. */
async function waitForLog(
  path: string,
  offset: number,
  pattern: RegExp,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const handle = await open(path, "r");
    try {
      const { size } = await handle.stat();
      if (size > offset) {
        const buffer = Buffer.alloc(size - offset);
        await handle.read(buffer, 0, buffer.length, offset);
        if (pattern.test(buffer.toString("utf8"))) return true;
      }
    } finally {
      await handle.close();
    }
    await sleep(15, undefined, { signal });
  }
  return false;
}
