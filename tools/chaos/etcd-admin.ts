/**
 * What an operator does to an etcd cluster, through etcd's JSON gateway (`/v3/...` on each
 * member's client URL): the same calls as `etcdctl endpoint status`, `compact`, `defrag` and
 * `alarm list|disarm` (README, "Runbook: etcd is out of space"). The chaos harness talks to the
 * members directly, never through the fault proxies, so it can repair what it broke.
 */

const CALL_TIMEOUT_MS = 5_000;

export interface MemberStatus {
  /** Decimal, as the gateway spells uint64s. */
  memberId: string;
  leader: string;
  /** The store's revision on that member (its own view: a serializable answer). */
  revision: number;
  raftIndex: number;
  /** The last raft entry this member has applied (a member catching up is behind its raftIndex). */
  raftAppliedIndex: number;
  dbSize: number;
  /** Bytes of that file in use (the rest is free pages, given back by a defragmentation). */
  dbSizeInUse: number;
  /** Alarms and errors the member reports (e.g. "etcdserver: mvcc: database space exceeded"). */
  errors: string[];
}

export interface Alarm {
  memberID: string;
  alarm: string;
}

/** Thrown with etcd's own words when a call is refused (e.g. NOSPACE). */
export class EtcdCallError extends Error {
  override readonly name = "EtcdCallError";
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export async function call<T>(
  clientUrl: string,
  path: string,
  body: object,
  timeoutMs = CALL_TIMEOUT_MS,
): Promise<T> {
  const response = await fetch(`${clientUrl}/v3/${path}`, {
    method: "POST",
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const message = (json as { error?: string; message?: string } | undefined)?.message ?? text.slice(0, 200);
    throw new EtcdCallError(`${path}: ${message}`, response.status);
  }
  return json as T;
}

const b64 = (value: string | Buffer) => Buffer.from(value).toString("base64");

export async function memberStatus(clientUrl: string, timeoutMs = 2_000): Promise<MemberStatus> {
  const body = await call<{
    header?: { member_id?: string; revision?: string };
    leader?: string;
    raftIndex?: string;
    raftAppliedIndex?: string;
    dbSize?: string;
    dbSizeInUse?: string;
    errors?: string[];
  }>(clientUrl, "maintenance/status", {}, timeoutMs);
  return {
    memberId: body.header?.member_id ?? "",
    leader: body.leader ?? "0",
    revision: Number(body.header?.revision ?? 0),
    raftIndex: Number(body.raftIndex ?? 0),
    raftAppliedIndex: Number(body.raftAppliedIndex ?? 0),
    dbSize: Number(body.dbSize ?? 0),
    dbSizeInUse: Number(body.dbSizeInUse ?? 0),
    errors: body.errors ?? [],
  };
}

/** A linearizable put; resolves with the revision it got. */
export async function put(clientUrl: string, key: string, value: string | Buffer, timeoutMs?: number) {
  const body = await call<{ header?: { revision?: string } }>(
    clientUrl,
    "kv/put",
    { key: b64(key), value: b64(value) },
    timeoutMs,
  );
  return Number(body.header?.revision ?? 0);
}

/** A read of one key: its value (undefined when absent) and the revision the answer is at. */
export async function get(
  clientUrl: string,
  key: string,
  options: { serializable?: boolean; timeoutMs?: number; revision?: number } = {},
): Promise<{ value: string | undefined; modRevision: number; revision: number }> {
  const body = await call<{
    header?: { revision?: string };
    kvs?: { value?: string; mod_revision?: string }[];
  }>(
    clientUrl,
    "kv/range",
    {
      key: b64(key),
      serializable: options.serializable ?? false,
      ...(options.revision !== undefined ? { revision: String(options.revision) } : {}),
    },
    options.timeoutMs,
  );
  const kv = body.kvs?.[0];
  return {
    value: kv ? Buffer.from(kv.value ?? "", "base64").toString("utf8") : undefined,
    modRevision: Number(kv?.mod_revision ?? 0),
    revision: Number(body.header?.revision ?? 0),
  };
}

export async function deleteKey(clientUrl: string, key: string): Promise<void> {
  await call(clientUrl, "kv/deleterange", { key: b64(key) });
}

/**
 * `etcdctl compact <revision> --physical`: history before it is gone once this returns (on the
 * member asked). Compacting again at a revision already compacted is what was asked: done.
 */
export async function compact(clientUrl: string, revision: number): Promise<void> {
  try {
    await call(clientUrl, "kv/compaction", { revision: String(revision), physical: true }, 30_000);
  } catch (err) {
    if (!/required revision has been compacted/.test(String(err))) throw err;
  }
}

/** `etcdctl defrag` on one member: gives the space freed by compaction back to the file system. */
export async function defragment(clientUrl: string): Promise<void> {
  await call(clientUrl, "maintenance/defragment", {}, 60_000);
}

export async function listAlarms(clientUrl: string): Promise<Alarm[]> {
  const body = await call<{ alarms?: { memberID?: string; alarm?: string }[] }>(
    clientUrl,
    "maintenance/alarm",
    {
      action: "GET",
    },
  );
  return (body.alarms ?? []).map((a) => ({ memberID: a.memberID ?? "0", alarm: a.alarm ?? "NONE" }));
}

/** `etcdctl alarm disarm`: clears every alarm listed. */
export async function disarmAlarms(clientUrl: string): Promise<Alarm[]> {
  const alarms = await listAlarms(clientUrl);
  for (const alarm of alarms) {
    await call(clientUrl, "maintenance/alarm", {
      action: "DEACTIVATE",
      memberID: alarm.memberID,
      alarm: alarm.alarm,
    });
  }
  return alarms;
}

/** etcd's answer to a write once the NOSPACE alarm is raised. */
export const NOSPACE_MESSAGE = /database space exceeded/;

/**
 * Fills the store the way unbounded history does: one key rewritten with `valueBytes` of data
 * until etcd refuses with NOSPACE (or `maxWrites` writes). Returns how many writes it took and
 * etcd's refusal.
 */
export async function fillUntilNoSpace(
  clientUrl: string,
  key: string,
  options: { valueBytes?: number; maxWrites?: number; signal?: AbortSignal } = {},
): Promise<{ writes: number; refusal: string | undefined }> {
  const value = Buffer.alloc(options.valueBytes ?? 1024 * 1024, "x");
  const max = options.maxWrites ?? 10_000;
  for (let writes = 0; writes < max; writes++) {
    options.signal?.throwIfAborted();
    try {
      await put(clientUrl, key, value, 30_000);
    } catch (err) {
      if (err instanceof EtcdCallError && NOSPACE_MESSAGE.test(err.message)) {
        return { writes, refusal: err.message };
      }
      throw err;
    }
  }
  return { writes: max, refusal: undefined };
}

/**
 * Waits (up to `timeoutMs`) until `clientUrl`'s member has applied the raft log up to
 * `raftIndex` (the compaction's entry is at or before it: a member still replaying history is
 * behind), refuses its own reads of revisions before `revision` (the compaction applied), and
 * has finished it (the bytes it uses stay the same twice in a row).
 */
export async function compactionDone(
  clientUrl: string,
  revision: number,
  raftIndex: number,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  while (performance.now() < deadline && (await memberStatus(clientUrl)).raftAppliedIndex < raftIndex) {
    await sleep(100);
  }
  while (revision > 1 && performance.now() < deadline) {
    const applied = await get(clientUrl, "compaction-probe", {
      serializable: true,
      revision: revision - 1,
    }).then(
      () => false,
      (err: unknown) => /compacted/.test(String(err)),
    );
    if (applied) break;
    await sleep(100);
  }
  let last = Number.NaN;
  while (performance.now() < deadline) {
    const inUse = (await memberStatus(clientUrl)).dbSizeInUse;
    if (inUse === last) return;
    last = inUse;
    await sleep(300);
  }
}

/**
 * The runbook for NOSPACE (README): delete what filled the store (here, `junkKey`), compact at
 * the current revision, defragment each member in turn, then disarm the alarm. Returns the db
 * size of each member before and after.
 */
export async function recoverFromNoSpace(
  clientUrls: readonly string[],
  junkKey?: string,
): Promise<{ before: number[]; after: number[]; alarms: number }> {
  const before = await Promise.all(clientUrls.map(async (u) => (await memberStatus(u)).dbSize));
  const first = clientUrls[0]!;
  if (junkKey) await deleteKey(first, junkKey);
  const revision = (await memberStatus(first)).revision;
  await compact(first, revision);
  const raftIndex = (await memberStatus(first)).raftIndex;
  for (const url of clientUrls) {
    // Each member compacts on its own, in the background: defragmenting before it is done frees
    // nothing (a member still replaying the history that filled the store shows it).
    await compactionDone(url, revision, raftIndex);
    await defragment(url);
  }
  const alarms = (await disarmAlarms(first)).length;
  const after = await Promise.all(clientUrls.map(async (u) => (await memberStatus(u)).dbSize));
  return { before, after, alarms };
}
