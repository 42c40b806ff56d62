/**
 * What etcd did per operation, from its members' own Prometheus counters (summed over the
 * members): the requests each kind of call made (a home feed read's share of a barrier read, a
 * post's transaction) and the WAL fsyncs, which is where raw puts in flight, sharing their
 * Raft proposals, win over one transaction per user action.
 */
export interface EtcdWorkPerOp {
  range: number;
  txn: number;
  put: number;
  /** WAL fsyncs on all members together. */
  fsync: number;
}

type Counters = Record<keyof EtcdWorkPerOp, number>;

const PATTERNS: Record<keyof EtcdWorkPerOp, RegExp> = {
  range: /^grpc_server_handled_total\{[^}]*grpc_method="Range"[^}]*\}\s+(\S+)$/,
  txn: /^grpc_server_handled_total\{[^}]*grpc_method="Txn"[^}]*\}\s+(\S+)$/,
  put: /^grpc_server_handled_total\{[^}]*grpc_method="Put"[^}]*\}\s+(\S+)$/,
  fsync: /^etcd_disk_wal_fsync_duration_seconds_count(?:\{[^}]*\})?\s+(\S+)$/,
};

/** The counters in one member's /metrics text (every status code of a method summed). */
export function parseEtcdCounters(text: string): Counters {
  const counters: Counters = { range: 0, txn: 0, put: 0, fsync: 0 };
  for (const line of text.split("\n")) {
    for (const key of Object.keys(PATTERNS) as (keyof Counters)[]) {
      const match = PATTERNS[key].exec(line);
      if (match) counters[key] += Number(match[1]);
    }
  }
  return counters;
}

/** Every member's counters summed; undefined when any member's /metrics cannot be read. */
async function readCounters(endpoints: readonly string[]): Promise<Counters | undefined> {
  try {
    const texts = await Promise.all(
      endpoints.map(async (endpoint) => {
        const answer = await fetch(new URL("/metrics", endpoint), { signal: AbortSignal.timeout(5_000) });
        if (!answer.ok) throw new Error(`${endpoint}/metrics: HTTP ${answer.status}`);
        return answer.text();
      }),
    );
    const sum: Counters = { range: 0, txn: 0, put: 0, fsync: 0 };
    for (const counters of texts.map(parseEtcdCounters))
      for (const key of Object.keys(sum) as (keyof Counters)[]) sum[key] += counters[key];
    return sum;
  } catch {
    // A target deployment's etcd may not serve /metrics to this client (TLS, firewall).
    return undefined;
  }
}

/**
 * Runs `work` and reports what etcd did per operation `work` reports (per request sent, when it
 * reports those), when etcd says.
 */
export async function etcdWorkPerOp<T extends { ops: number; sent?: number }>(
  endpoints: readonly string[],
  work: () => Promise<T>,
): Promise<T & { etcdPerOp?: EtcdWorkPerOp }> {
  const before = await readCounters(endpoints);
  const result = await work();
  const after = before && (await readCounters(endpoints));
  const ops = result.sent ?? result.ops;
  if (!before || !after || ops === 0) return result;
  const per = (key: keyof Counters) => Math.round(((after[key] - before[key]) / ops) * 1000) / 1000;
  return {
    ...result,
    etcdPerOp: { range: per("range"), txn: per("txn"), put: per("put"), fsync: per("fsync") },
  };
}
