import { hashPassword } from "../../src/services/accounts/password.js";
import { newSessionToken } from "../../src/services/accounts/tokens.js";
import { newPostId } from "../../src/shared/ids.js";
import { EtcdStore } from "../../src/storage/etcd/client.js";
import { BulkWriter } from "./bulk.js";
import type { Progress } from "./progress.js";
import { randomInt, randomText, type Rng } from "./random.js";
import { SeedRecords } from "./records.js";

/** Every seeded account has this password; `login` proves it with the real scrypt cost. */
export const BENCH_PASSWORD = "bench-password-1";
/** Seeded sessions live this long (one shared etcd lease): far longer than any run. */
const SESSION_TTL_SECONDS = 6 * 3600;
/** Seeded posts are dated within this window before now, so new posts are the newest. */
const HISTORY_WINDOW_MS = 90 * 24 * 3600 * 1000;

/**
 * Writes seed data straight into etcd with the services' own layout and encoders.
 * Every account shares one password hash made once at the wanted scrypt cost (a hash
 * carries its own parameters, so each `login` pays that cost in full), and seeded
 * sessions share one lease.
 */
export class Seeder {
  readonly records: SeedRecords;
  private constructor(
    readonly store: EtcdStore,
    private readonly passwordHash: string,
    private readonly leaseId: string,
    private readonly progress: Progress,
  ) {
    this.records = new SeedRecords(store.keys);
  }

  static async open(
    endpoints: string[],
    prefix: string,
    scryptLogN: number,
    progress: Progress,
  ): Promise<Seeder> {
    const store = new EtcdStore({ endpoints, prefix, timeoutMs: 30_000 });
    try {
      const passwordHash = await hashPassword(BENCH_PASSWORD, { logN: scryptLogN, r: 8, p: 1 });
      const leaseId = await store.grantLease(SESSION_TTL_SECONDS);
      return new Seeder(store, passwordHash, leaseId, progress);
    } catch (err) {
      store.close();
      throw err;
    }
  }

  /** A writer whose progress line counts keys under `label`. */
  writer(label: string): BulkWriter {
    const started = Date.now();
    return new BulkWriter(this.store, 3, (written) => {
      const seconds = (Date.now() - started) / 1000;
      this.progress.update(
        `seeding ${label}: ${written} keys, ${Math.round(written / Math.max(seconds, 0.001))} keys/s`,
      );
    });
  }

  /** Accounts (and, when asked, a session each); returns the session tokens in the same order. */
  async accounts(writer: BulkWriter, usernames: readonly string[], sessions: boolean): Promise<string[]> {
    const now = Date.now();
    const tokens: string[] = [];
    for (const username of usernames) {
      await writer.add(this.records.account(username, this.passwordHash, now - HISTORY_WINDOW_MS));
      if (!sessions) continue;
      const token = newSessionToken();
      tokens.push(token);
      await writer.add(
        this.records.session(token, username, this.leaseId, now, now + SESSION_TTL_SECONDS * 1000),
      );
    }
    return tokens;
  }

  /** `count` post ids dated at random in the history window, oldest first. */
  postIds(random: Rng, count: number, nowMs = Date.now()): string[] {
    const times = Array.from({ length: count }, () => nowMs - 60_000 - randomInt(random, HISTORY_WINDOW_MS));
    return times.sort((a, b) => a - b).map((t) => newPostId(t));
  }

  /** A post by `author` and its fan-out to every reader given, as the services would have stored it. */
  async post(
    writer: BulkWriter,
    id: string,
    author: string,
    text: string,
    readers: Iterable<string>,
  ): Promise<void> {
    await writer.add(this.records.post({ id, author, text, createdAtMs: Number(id.slice(0, 13)) }));
    for (const reader of readers) await writer.add(this.records.feedEntry(reader, id, author));
  }

  seedText(random: Rng): string {
    return randomText(random, 20 + randomInt(random, 237));
  }

  close(): void {
    this.store.close();
  }
}
