import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePorts, startEtcdCluster, type EtcdCluster } from "../../src/launcher/etcd-cluster.js";
import { Stack, twoByTwo } from "../../src/launcher/stack.js";
import { loadConfig } from "../../src/shared/config.js";
import { ApiClient, type ApiResponse } from "../fixtures/api-client.js";

/** Longer than ETCD_TIMEOUT_MS (3 s by default): every storage call in flight runs out of budget. */
const FREEZE_MS = 8_000;
/** Writes must work again this soon after the members run again. */
const RECOVERY_MS = 5_000;
const USERS = ["frz_a", "frz_b", "frz_c", "frz_d"];

interface Outcome {
  op: string;
  /** ms since the load started, when the request was sent and when it ended. */
  sent: number;
  ended: number;
  status: number;
  retryAfter: string | null;
  error?: string;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Issue 13, defect 1: a backend died of an unhandled promise rejection when etcd was slow or
 * down. Here every etcd member is SIGSTOPped for 8 s under a mixed load through the front door:
 * no Flock process may exit (nor log an unhandled rejection), clients get 503s with
 * Retry-After and nothing worse, and writes work again within 5 s of SIGCONT.
 */
describe(
  "every etcd member frozen (SIGSTOP) longer than ETCD_TIMEOUT_MS, under load",
  { timeout: 120_000 },
  () => {
    let dir: string;
    let etcd: EtcdCluster | undefined;
    let stack: Stack | undefined;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "flock-freeze-"));
      etcd = await startEtcdCluster({ dataDir: join(dir, "etcd") });
      stack = new Stack(twoByTwo(await freePorts(5), dir, etcd.endpoints));
      await stack.start();
    });
    after(async () => {
      await stack?.stop();
      await etcd?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it("no process exits, clients get 503 with Retry-After, writes resume within 5 s", async (t) => {
      assert.ok(FREEZE_MS > loadConfig({}).etcdTimeoutMs, "frozen longer than a storage call's budget");
      const api = new ApiClient(stack!.frontUrl, 15_000);
      const tokens = await Promise.all(USERS.map((u) => api.newUser(u)));
      for (const [i, token] of tokens.entries()) await api.follow(token, USERS[(i + 1) % USERS.length]!);
      const pids = stack!.processes().map((p) => ({ name: p.name, pid: p.pid }));

      const started = Date.now();
      const now = () => Date.now() - started;
      const outcomes: Outcome[] = [];
      let running = true;
      const record = async (op: string, call: () => Promise<ApiResponse<unknown>>) => {
        const sent = now();
        try {
          const r = await call();
          outcomes.push({
            op,
            sent,
            ended: now(),
            status: r.status,
            retryAfter: r.headers.get("retry-after"),
          });
        } catch (err) {
          outcomes.push({ op, sent, ended: now(), status: 0, retryAfter: null, error: String(err) });
        }
      };
      // Each client mixes reads and writes of every kind, one request at a time.
      const client = async (i: number) => {
        const token = tokens[i]!;
        const other = USERS[(i + 2) % USERS.length]!;
        for (let n = 0; running; n++) {
          await record("post", () => api.post(token, `frozen? ${i}.${n}`));
          await record("feed", () => api.feed(token));
          await record(n % 2 ? "unfollow" : "follow", () =>
            n % 2 ? api.unfollow(token, other) : api.follow(token, other),
          );
          await record("profile", () => api.user(USERS[i]!));
          if (n % 3 === 0) await record("login", () => api.login(USERS[i]!, "correct horse battery"));
          // Pace it: a tight loop of 503s would only measure this machine's two cores.
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      };
      const load = tokens.map((_, i) => client(i));

      let frozenAt = 0;
      let resumedAt = 0;
      try {
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        frozenAt = now();
        for (let i = 0; i < etcd!.members.length; i++) await etcd!.kill(i, "SIGSTOP");
        await new Promise((resolve) => setTimeout(resolve, FREEZE_MS));
        for (let i = 0; i < etcd!.members.length; i++) await etcd!.kill(i, "SIGCONT");
        resumedAt = now();
        await new Promise((resolve) => setTimeout(resolve, RECOVERY_MS + 3_000));
      } finally {
        for (let i = 0; i < (etcd?.members.length ?? 0); i++) await etcd!.kill(i, "SIGCONT");
        running = false;
        await Promise.all(load);
      }

      const writes = new Set(["post", "follow", "unfollow", "login"]);
      const during = outcomes.filter((o) => o.ended > frozenAt + 500 && o.sent < resumedAt);
      const failed = outcomes.filter((o) => o.status >= 500 || o.status === 0);
      const firstWriteBack = outcomes
        .filter((o) => writes.has(o.op) && o.sent >= resumedAt && o.status >= 200 && o.status < 300)
        .sort((a, b) => a.ended - b.ended)[0];
      const lateWrites = outcomes.filter((o) => writes.has(o.op) && o.sent >= resumedAt + RECOVERY_MS);
      const byStatus = new Map<string, number>();
      for (const o of outcomes) byStatus.set(String(o.status), (byStatus.get(String(o.status)) ?? 0) + 1);
      t.diagnostic(
        `${outcomes.length} requests; by status ${JSON.stringify(Object.fromEntries(byStatus))}; ` +
          `frozen at ${frozenAt} ms, resumed at ${resumedAt} ms; first write acknowledged ` +
          `${firstWriteBack ? firstWriteBack.ended - resumedAt : "never"} ms after SIGCONT`,
      );

      // No Flock process exited or was replaced, and none logged an unhandled rejection.
      for (const { name, pid } of pids) assert.ok(isAlive(pid), `${name} (pid ${pid}) is still running`);
      assert.deepEqual(
        stack!.processes().map((p) => ({ name: p.name, pid: p.pid })),
        pids,
      );
      const logs = join(dir, "logs");
      for (const file of await readdir(logs)) {
        const text = await readFile(join(logs, file), "utf8");
        assert.doesNotMatch(text, /unhandled promise rejection|uncaught exception/, file);
      }

      // Clients got 503 with Retry-After while the store was away, and nothing else went wrong.
      assert.ok(
        during.some((o) => o.status === 503),
        `some request got 503 while etcd was frozen: ${JSON.stringify(during.slice(0, 5))}`,
      );
      for (const o of failed) {
        assert.equal(o.status, 503, `only 503s: ${JSON.stringify(o)}`);
        assert.ok(Number(o.retryAfter) > 0, `a 503 carries Retry-After: ${JSON.stringify(o)}`);
      }
      // Writes work again within 5 s of SIGCONT, and every write sent after that works.
      assert.ok(firstWriteBack, "a write was acknowledged after SIGCONT");
      assert.ok(
        firstWriteBack.ended - resumedAt <= RECOVERY_MS,
        `first write after SIGCONT acknowledged within ${RECOVERY_MS} ms (took ${firstWriteBack.ended - resumedAt})`,
      );
      assert.ok(lateWrites.length > 0, "writes were sent after the recovery time");
      const lateFailures = lateWrites.filter((o) => o.status >= 500 || o.status === 0);
      assert.deepEqual(lateFailures, [], "every write sent 5 s after SIGCONT succeeds");
    });
  },
);
