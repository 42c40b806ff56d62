import { setMaxListeners } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { check, DEFAULT_CHECK_OPTIONS, type CheckStats } from "./checker.js";
import { RecordedClient } from "./client.js";
import { runFaults } from "./faults.js";
import { lastUnknownAt, newestAcknowledgedPost, type FaultRecord, type Violation } from "./history.js";
import { observe } from "./observe.js";
import type { ChaosOptions } from "./options.js";
import { Recorder } from "./recorder.js";
import { formatSummary, summarize, writeReport, type ChaosSummary } from "./report.js";
import { Rng } from "./rng.js";
import { StreamReader, type StreamLog } from "./streams.js";
import { chaosQuotaBytes, Topology } from "./topology.js";
import { unavailabilityWindows } from "./windows.js";
import { Workload } from "./workload.js";

/** Traffic keeps flowing this long after the last fault, so its window is measured. */
const AFTER_LAST_FAULT_MS = 6_000;
/** A cycle of the schedule (each kind once) took 78 s on average in a long run here. */
const CYCLE_MS_ESTIMATE = 80_000;
/** After the workload: everything must be back and taking writes within this. */
const HEAL_TIMEOUT_MS = 90_000;
/** Virtual users that also hold a live stream for the whole run. */
const STREAM_READERS = 3;
/** At the end, each stream has this long to report a position past every acknowledged post. */
const STREAM_DRAIN_MS = 30_000;

export interface RunHooks {
  print?: (line: string) => void;
  /** Ends the run early (Ctrl-C); everything started is still stopped. */
  signal?: AbortSignal;
}

/**
 * One chaos run: topology up in a temp dir, workload and fault schedule side by side,
 * then heal, settle, read the final state and check it. Always stops every process it
 * started, and writes chaos-report.json, chaos-report.html and chaos-history.jsonl into the
 * data dir.
 */
export async function runChaos(options: ChaosOptions, hooks: RunHooks = {}): Promise<ChaosSummary> {
  const print = hooks.print ?? ((line: string) => console.log(line));
  const began = Date.now();
  const dataDir = await mkdtemp(join(tmpdir(), "flock-chaos-"));
  const recorder = new Recorder(print);
  const rng = new Rng(options.seed);
  const abort = new AbortController();
  // A cycle of the schedule takes a minute or two; the run ends once both are done.
  const hardDeadlineMs =
    Math.max(options.durationMs, options.minPerKind * 120_000) + (options.short ? 240_000 : 600_000);
  const deadline = setTimeout(
    () => abort.abort(new Error(`hard deadline of ${hardDeadlineMs / 1000}s passed`)),
    hardDeadlineMs,
  );
  const onOuterAbort = () => abort.abort(new Error("interrupted"));
  hooks.signal?.addEventListener("abort", onOuterAbort, { once: true });

  let topology: Topology | undefined;
  const faults: FaultRecord[] = [];
  let violations: Violation[] = [];
  const faultViolations: Violation[] = [];
  let checked: CheckStats | null = null;
  const streamLogs: StreamLog[] = [];
  // The live streams end after their drain, or with the run however it ends.
  const stopStreams = new AbortController();
  let workloadMs = 0;
  let error: string | undefined;
  try {
    await untilAborted(abort.signal, async () => {
      recorder.log(
        `seed ${options.seed}; starting etcd ×3 behind fault proxies, backend ×2 on movable clocks, ` +
          `web ×2 and the front door in ${dataDir}`,
      );
      topology = await Topology.start(dataDir, {
        quotaBackendBytes: chaosQuotaBytes(
          Math.max(options.durationMs, options.minPerKind * CYCLE_MS_ESTIMATE) / 1000,
        ),
      });
      const top = topology;
      const harness = new RecordedClient(top.frontUrl, recorder, -1);
      const probe = await probeAccount(harness);

      const stopWorkload = new AbortController();
      // Every virtual user waits on these signals (one listener each while it sleeps).
      setMaxListeners(options.concurrency + 50, abort.signal, stopWorkload.signal);
      abort.signal.addEventListener("abort", () => stopWorkload.abort(), { once: true });
      const workload = new Workload({
        baseUrl: top.frontUrl,
        recorder,
        rng: rng.fork(),
        concurrency: options.concurrency,
        signal: stopWorkload.signal,
      });
      // The streams draw from their own generator, so a seed plans the same faults as before them.
      const streamRng = new Rng(options.seed + 1);
      const readers = Array.from(
        { length: Math.min(STREAM_READERS, options.concurrency) },
        (_, index) =>
          new StreamReader({
            baseUrl: top.frontUrl,
            recorder,
            rng: streamRng.fork(),
            index,
            credentials: () => workload.credentials.get(index),
            signal: stopStreams.signal,
          }),
      );
      streamLogs.push(...readers.map((r) => r.log));
      const workloadStart = recorder.now();
      const endAt = workloadStart + options.durationMs;
      recorder.log(
        `workload: ${options.concurrency} virtual users for ${options.durationMs / 1000}s, ` +
          `${readers.length} of them holding a live stream`,
      );
      const streaming = Promise.all(readers.map((r) => r.run()));
      const running = workload.run();
      try {
        await runFaults({
          topology: top,
          recorder,
          rng: rng.fork(),
          short: options.short,
          endAt,
          minPerKind: options.minPerKind,
          signal: abort.signal,
          harness,
          probe,
          injected: faults,
          violations: faultViolations,
        });
        const lastHealed = faults.length > 0 ? (faults[faults.length - 1]!.healedAt ?? 0) : 0;
        const until = Math.max(endAt, lastHealed + AFTER_LAST_FAULT_MS);
        await sleep(Math.max(0, until - recorder.now()), undefined, { signal: abort.signal });
      } finally {
        stopWorkload.abort();
        await running;
        workloadMs = recorder.now() - workloadStart;
      }
      recorder.log(`workload ended after ${recorder.ops.length} operations; healing`);

      await top.heal();
      await writeResumes(harness, probe.token, abort.signal);
      const graceMs = DEFAULT_CHECK_OPTIONS.unknownGraceMs;
      const lastUnknown = lastUnknownAt(recorder.ops);
      const settleMs = Math.min(graceMs, lastUnknown + graceMs - recorder.now());
      if (settleMs > 0) {
        recorder.log(`settling ${(settleMs / 1000).toFixed(1)}s so unknown-outcome requests finish`);
        await sleep(settleMs, undefined, { signal: abort.signal });
      }
      // Every stream reconnects and must report a position at or past the newest acknowledged
      // post: all events up to it have then been delivered.
      const newest = newestAcknowledgedPost(recorder.ops);
      recorder.log(`draining ${readers.length} streams up to position ${newest}`);
      await Promise.all(readers.map((r) => r.drain(String(newest), STREAM_DRAIN_MS)));
      stopStreams.abort();
      await streaming;
      recorder.log("reading the final state through the API");
      const state = await observe(top.frontUrl, recorder.ops);
      recorder.log("checking");
      ({ violations, stats: checked } = check(
        recorder.ops,
        state,
        DEFAULT_CHECK_OPTIONS,
        faults,
        streamLogs,
      ));
    });
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
    recorder.log(`run failed: ${error}`);
  } finally {
    stopStreams.abort();
    clearTimeout(deadline);
    hooks.signal?.removeEventListener("abort", onOuterAbort);
    await (topology as Topology | undefined)?.stop().catch((err: unknown) => {
      error ??= `stopping the topology: ${String(err)}`;
    });
  }

  violations = [...faultViolations, ...violations];
  const summary = summarize({
    seed: options.seed,
    short: options.short,
    minPerKind: options.minPerKind,
    concurrency: options.concurrency,
    startedAt: recorder.startedAt.toISOString(),
    workloadMs,
    totalMs: Date.now() - began,
    dataDir,
    faults: unavailabilityWindows(faults, recorder.ops),
    unexpectedExits: (topology as Topology | undefined)?.unexpectedExits ?? [],
    checked,
    violations,
    error,
    history: recorder.ops,
  });
  await writeReport(summary, recorder.ops);
  print("");
  print(formatSummary(summary));
  if (violations.length === 0 && error === undefined) {
    // A clean run keeps its report, history and logs (the CLI) or nothing (the test); etcd's
    // data (~200 MB of preallocated WAL) is only worth keeping to investigate a violation.
    await rm(options.keepData ? join(dataDir, "etcd") : dataDir, { recursive: true, force: true });
  }
  return summary;
}

/** The harness's own account, used to prove writes work again after healing. */
async function probeAccount(harness: RecordedClient): Promise<{ user: string; token: string }> {
  const password = "probe-password";
  for (let attempt = 0; attempt < 20; attempt++) {
    await harness.signup("probe_0", password);
    const login = await harness.login("probe_0", password);
    if (login.status === 201) return { user: "probe_0", token: (login.body as { token: string }).token };
    await sleep(500);
  }
  throw new Error("could not create the probe account on a fresh cluster");
}

/** Posts as the probe account until one is acknowledged: the healed cluster takes writes. */
async function writeResumes(harness: RecordedClient, token: string, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + HEAL_TIMEOUT_MS;
  for (let n = 1; ; n++) {
    const reply = await harness.post("probe_0", token, `probe_0 heal check ${n}`);
    if (reply.status === 201) return;
    if (Date.now() > deadline)
      throw new Error(`no write succeeded within ${HEAL_TIMEOUT_MS / 1000}s of healing`);
    await sleep(500, undefined, { signal });
  }
}

/** Runs `work`, rejecting as soon as `signal` aborts (the work is told through the same signal). */
async function untilAborted(signal: AbortSignal, work: () => Promise<void>): Promise<void> {
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  const task = work();
  try {
    await Promise.race([task, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
    task.catch(() => undefined);
    aborted.catch(() => undefined);
  }
}
