import { randomBytes } from "node:crypto";
import { noop } from "cockatiel";
import { Etcd3 } from "etcd3";
import type { LoadSettings } from "./config.js";
import { runClosedLoop, type WorkloadResult } from "./load.js";
import type { Progress } from "./progress.js";
import { randomInt } from "./random.js";
import { prefixEnd } from "../../src/storage/kv.js";

/** Keys the raw gets and puts spread over; values about the size of a stored post. */
const RAW_KEYS = 1000;
const RAW_VALUE_BYTES = 300;

/**
 * The floor Flock cannot beat: single-key linearizable gets and single-key puts against the
 * same etcd cluster, from this process, through the same etcd3 client (configured as
 * Flock's EtcdStore configures it) and the same closed-loop generator at the same
 * concurrency. The keys live outside Flock's prefix and are deleted afterwards.
 */
export async function measureRawEtcd(
  endpoints: string[],
  tag: string,
  settings: LoadSettings,
  seed: number,
  progress: Progress,
  measure: (run: () => Promise<WorkloadResult>) => Promise<WorkloadResult> = (run) => run(),
): Promise<{ get: WorkloadResult; put: WorkloadResult }> {
  const client = new Etcd3({ hosts: endpoints, faultHandling: { global: noop } });
  const prefix = `bench/raw/${tag}/`;
  const key = (i: number) => Buffer.from(`${prefix}${String(i).padStart(4, "0")}`);
  try {
    for (let i = 0; i < RAW_KEYS; i += 100) {
      await client.kv.txn({
        success: Array.from({ length: Math.min(100, RAW_KEYS - i) }, (_, k) => ({
          request_put: { key: key(i + k), value: randomBytes(RAW_VALUE_BYTES) },
        })),
      });
    }
    const value = randomBytes(RAW_VALUE_BYTES);
    const get = await measure(() =>
      runClosedLoop(
        {
          name: "etcd-get",
          kind: "read",
          op: async (_w, random) => {
            const answer = await client.kv.range({ key: key(randomInt(random, RAW_KEYS)) });
            return answer.kvs.length === 1 ? undefined : "missing key";
          },
        },
        settings,
        seed,
        progress,
      ),
    );
    const put = await measure(() =>
      runClosedLoop(
        {
          name: "etcd-put",
          kind: "write",
          op: async (_w, random) => {
            await client.kv.put({ key: key(randomInt(random, RAW_KEYS)), value });
            return undefined;
          },
        },
        settings,
        seed,
        progress,
      ),
    );
    return { get, put };
  } finally {
    await client.kv
      .deleteRange({ key: Buffer.from(prefix), range_end: Buffer.from(prefixEnd(prefix)) })
      .catch(() => undefined);
    client.close();
  }
}
