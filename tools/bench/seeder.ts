import { hashPassword } from "../../src/services/accounts/password.js";
import { newSessionToken } from "../../src/services/accounts/tokens.js";
import { EtcdKv } from "../../src/storage/etcd/kv.js";
import { prefixEnd, put, type Op, type TxnRequest, type TxnResult } from "../../src/storage/kv.js";
import { Keys, type Writer } from "../../src/storage/keys.js";
import type { Progress } from "./progress.js";
import type { CpuPerOp } from "./rss.js";
import { randomInt, randomText, type Rng } from "./random.js";
import { SeedRecords, type Fact } from "./records.js";

/** Every seeded account has this password; `login` proves it with the real scrypt cost. */
export const BENCH_PASSWORD = "bench-password-1";
/** Seeded sessions live this long (one shared etcd lease): far longer than any run. */
const SESSION_TTL_SECONDS = 6 * 3600;
/** etcd runs at most 128 ops in a txn: facts without compares share txns up to this, the tick included. */
const MAX_TXN_OPS = 128;

/** What one seeding phase wrote, and how fast. */
export interface SeedPhase {
  name: string;
  /** Facts written (accounts, sessions, follows or posts). */
  facts: number;
  txns: number;
  seconds: number;
  txnsPerSecond: number;
  factsPerSecond: number;
  /** CPU ms per txn by role (etcd members, backends applying the watch, the bench client), when measured. */
  cpuMsPerTxn?: CpuPerOp;
}

/** Measures the CPU a phase costs (rss.ts cpuPerOp over the topology's processes). */
export type MeasureCpu = <T extends { ops: number }>(
  work: () => Promise<T>,
) => Promise<T & { cpuMsPerOp: CpuPerOp }>;

/**
 * Writes seed facts straight into etcd through the storage seam (EtcdKv), with THE key layout
 * (Keys), the record encoders and the product's FactWriter, so every txn also puts its
 * writer's tick. Facts that need no compare (accounts, sessions, follows) share txns; a post
 * is a txn of its own, since its id is the revision that created it. `concurrency` txns are in
 * flight at once. Every account shares one password hash made once at the wanted scrypt cost
 * (a hash carries its own parameters, so each `login` pays that cost in full), and seeded
 * sessions share one lease, as a login's sessions share their time bucket's.
 */
export class Seeder {
  readonly records: SeedRecords;
  readonly phases: SeedPhase[] = [];
  private readonly writers: Record<Writer, { txn(request: TxnRequest): Promise<TxnResult> }>;
  private requests = 0;

  private constructor(
    readonly kv: EtcdKv,
    readonly keys: Keys,
    private readonly passwordHash: string,
    private readonly lease: string,
    private readonly concurrency: number,
    private readonly tag: string,
    private readonly progress: Progress,
    private readonly measure?: MeasureCpu,
  ) {
    this.records = new SeedRecords(keys);
    // Seeding writes each fact once, with its writer's tick (as a service would), but without
    // the services' applied-marks: nothing re-sends a seeding txn late, and a million marks
    // would only load etcd.
    const ticking = (writer: Writer) => ({
      txn: (request: TxnRequest) =>
        kv.txn({ ...request, success: [...request.success, put(keys.tick(writer))] }),
    });
    this.writers = { a: ticking("a"), g: ticking("g"), p: ticking("p") };
  }

  static async open(options: {
    endpoints: string[];
    prefix: string;
    scryptLogN: number;
    concurrency: number;
    tag: string;
    progress: Progress;
    measure?: MeasureCpu;
  }): Promise<Seeder> {
    const kv = new EtcdKv({ endpoints: options.endpoints, prefix: options.prefix, timeoutMs: 30_000 });
    try {
      const passwordHash = await hashPassword(BENCH_PASSWORD, { logN: options.scryptLogN, r: 8, p: 1 });
      const lease = await kv.grantLease(SESSION_TTL_SECONDS);
      return new Seeder(
        kv,
        new Keys(options.prefix),
        passwordHash,
        lease,
        options.concurrency,
        options.tag,
        options.progress,
        options.measure,
      );
    } catch (err) {
      await kv.close();
      throw err;
    }
  }

  /** Accounts (and, when asked, a session each); returns the session tokens in the same order. */
  async accounts(label: string, usernames: readonly string[], sessions: boolean): Promise<string[]> {
    const now = Date.now();
    await this.batched(
      `${label}: accounts`,
      "a",
      usernames.map((u) => this.records.account(u, this.passwordHash, now - 3600_000)),
    );
    if (!sessions) return [];
    const tokens = usernames.map(() => newSessionToken());
    const expires = now + SESSION_TTL_SECONDS * 1000;
    await this.batched(
      `${label}: sessions`,
      "a",
      usernames.map((u, i) => this.records.session(tokens[i]!, u, this.lease, now, expires)),
    );
    return tokens;
  }

  async follows(label: string, pairs: readonly (readonly [string, string])[]): Promise<SeedPhase> {
    return this.batched(
      `${label}: follows`,
      "g",
      pairs.map(([a, b]) => this.records.follow(a, b)),
    );
  }

  /** `count` posts, the i-th by `authorOf(i)`, each its own txn; texts like real ones (20–256 chars). */
  async posts(
    label: string,
    count: number,
    authorOf: (i: number) => string,
    random: Rng,
  ): Promise<SeedPhase> {
    const writer = this.writers.p;
    return this.run(`${label}: posts`, count, (i) => {
      const fact = this.records.post(authorOf(i), this.requestId(), this.text(random), Date.now());
      return { facts: 1, write: () => writer.txn(fact) };
    });
  }

  /** Keys under `prefix` now (a count-only range: etcd walks them, so this is O(n)), and the revision. */
  async countKeys(prefix: string): Promise<{ keys: number; revision: number }> {
    const answer = await this.kv.store.range({
      key: Buffer.from(prefix),
      range_end: Buffer.from(prefixEnd(prefix)),
      count_only: true,
    });
    return { keys: Number(answer.count), revision: Number(answer.header.revision) };
  }

  text(random: Rng): string {
    return randomText(random, 20 + randomInt(random, 237));
  }

  async close(): Promise<void> {
    await this.kv.close();
  }

  private requestId(): string {
    return `seed-${this.tag}-${this.requests++}`;
  }

  /** Facts without compares, as many to a txn as etcd takes beside the tick. */
  private batched(name: string, writer: Writer, facts: readonly Fact[]): Promise<SeedPhase> {
    const batches: Op[][] = [];
    let current: Op[] = [];
    let inCurrent = 0;
    const counts: number[] = [];
    for (const fact of facts) {
      if (current.length + fact.success.length > MAX_TXN_OPS - 1) {
        batches.push(current);
        counts.push(inCurrent);
        current = [];
        inCurrent = 0;
      }
      current.push(...fact.success);
      inCurrent++;
    }
    if (current.length > 0) {
      batches.push(current);
      counts.push(inCurrent);
    }
    const factWriter = this.writers[writer];
    return this.run(name, batches.length, (i) => ({
      facts: counts[i]!,
      write: () => factWriter.txn({ success: batches[i]! }),
    }));
  }

  /**
   * Runs `count` txns with `concurrency` in flight; the first failure stops the phase (after
   * those in flight). Every write is idempotent (puts of fixed values, or a post's absent
   * compare), so the store client's re-sends are harmless.
   */
  private async run(
    name: string,
    count: number,
    txn: (i: number) => { facts: number; write: () => Promise<unknown> },
  ): Promise<SeedPhase> {
    const started = performance.now();
    let facts = 0;
    let done = 0;
    let next = 0;
    let failure: unknown;
    const worker = async () => {
      while (next < count && failure === undefined) {
        const { facts: n, write } = txn(next++);
        try {
          await write();
        } catch (err) {
          failure ??= err;
          return;
        }
        facts += n;
        done++;
        const seconds = (performance.now() - started) / 1000;
        this.progress.update(
          `seeding ${name}: ${done}/${count} txns, ${Math.round(done / Math.max(seconds, 0.001))} txns/s`,
        );
      }
    };
    const all = async () => {
      await Promise.all(Array.from({ length: Math.min(this.concurrency, count) }, worker));
      return { ops: done };
    };
    const { cpuMsPerOp } = this.measure
      ? await this.measure(all)
      : { ...(await all()), cpuMsPerOp: undefined };
    if (failure !== undefined) throw failure;
    const seconds = (performance.now() - started) / 1000;
    const phase: SeedPhase = {
      name,
      facts,
      txns: done,
      seconds: Math.round(seconds * 10) / 10,
      txnsPerSecond: Math.round(done / Math.max(seconds, 0.001)),
      factsPerSecond: Math.round(facts / Math.max(seconds, 0.001)),
      cpuMsPerTxn: cpuMsPerOp,
    };
    this.phases.push(phase);
    this.progress.done(
      `seeded ${name}: ${facts} in ${phase.txns} txns, ${phase.seconds} s (${phase.txnsPerSecond} txns/s, ${phase.factsPerSecond}/s)`,
    );
    return phase;
  }
}
