import type { CallOptions, Client, Metadata, ServiceClientConstructor } from "@grpc/grpc-js";
import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, noop } from "cockatiel";
import {
  castGrpcError,
  Etcd3,
  isRecoverableError,
  type ICompare,
  type IKeyValue,
  type IRangeRequest,
  type IRangeResponse,
  type IRequestOp,
  type ITxnRequest,
  type ITxnResponse,
  type IWatchRequest,
  type IWatchResponse,
  type IDuplexStream,
} from "etcd3";
import {
  isStorageFull,
  isStoreUnavailable,
  isTransient,
  StoreOutcomeUnknownError,
  StoreTimeoutError,
  wasNotApplied,
} from "./errors.js";
import type { RangeResult } from "../kv.js";
import { decodeRangeAnswer } from "./range-answer.js";

/** What every etcd-backed storage is opened with. */
export interface EtcdStorageOptions {
  endpoints: readonly string[];
  /** Prefix of every key (ETCD_PREFIX); the layout version follows it (see keys.ts). */
  prefix: string;
  /** Budget of one storage call, retries included. Past it the outcome of a write is unknown. */
  timeoutMs: number;
  /** TLS to etcd (ETCD_CA_FILE …): PEM contents, as etcd3 takes them. */
  credentials?: EtcdCredentials;
  /** Told about every call and re-send (the backend's etcd metrics); none when omitted. */
  observer?: EtcdCallObserver;
}

export interface EtcdCredentials {
  rootCertificate: Buffer;
  privateKey?: Buffer;
  certChain?: Buffer;
}

/** Metric hooks (src/backend/ops/metrics.ts): one report per call, and one per re-send. */
export interface EtcdCallObserver {
  /** A call finished: `ok` false when it failed for good; `attempts` counts the first send too. */
  callDone(what: string, seconds: number, ok: boolean, attempts: number): void;
  /** A transient failure; the call is about to be sent again. */
  retry(what: string): void;
}

/** etcd refuses a txn with more operations than this (--max-txn-ops, default 128). */
export const MAX_TXN_OPS = 128;
/** etcd refuses requests over 1.5 MiB (--max-request-bytes); batches stay well below. */
const MAX_TXN_BYTES = 1024 * 1024;
/** Room for the protobuf framing of one op beside its key and value. */
const OP_OVERHEAD_BYTES = 16;
/** Txns of one batch write in flight at once: enough to overlap round trips, few enough to share. */
const TXN_CONCURRENCY = 4;

/**
 * One service's connection to etcd. Every call runs through `call`, which owns retrying:
 * the etcd3 client's own global retry is switched off, so a call is re-sent only here,
 * with backoff, on another member, and never past the caller's budget.
 *
 * Any call may be applied and still reported as failed (a lost answer, then a retry that
 * applies it again), so every write the storages issue is idempotent: a put or delete of
 * a fixed value, or a txn that compares create/mod revisions (and FactWriter's applied-mark,
 * so a copy arriving late does nothing). A write that gave up with an attempt still possibly in
 * flight says so (StoreOutcomeUnknownError): its caller must not send it again another way.
 */
export class EtcdStore {
  private readonly client: Etcd3;
  private readonly timeoutMs: number;
  /** One attempt may use at most this much of the budget, so a hung member leaves time for another. */
  private readonly attemptTimeoutMs: number;
  private readonly observer: EtcdCallObserver | undefined;
  private closed = false;

  constructor(options: EtcdStorageOptions) {
    if (options.endpoints.length === 0) throw new Error("etcd storage needs at least one endpoint");
    this.observer = options.observer;
    this.timeoutMs = options.timeoutMs;
    this.attemptTimeoutMs = Math.min(options.timeoutMs, Math.max(500, Math.floor(options.timeoutMs / 3)));
    this.client = new Etcd3({
      hosts: [...options.endpoints],
      credentials: options.credentials,
      faultHandling: {
        global: noop,
        // A member that keeps failing (down, stopped, partitioned) is skipped for a while: first
        // briefly, so one that only failed during an election is back soon, then longer each
        // time its trial call fails, so a dead or frozen member rarely costs a call a timeout.
        // A member refusing writes for lack of space still answers: its circuit stays closed,
        // so reads keep going to it.
        host: () =>
          circuitBreaker(
            handleWhen((err) => isRecoverableError(err) && !isStorageFull(err)),
            {
              halfOpenAfter: new ExponentialBackoff({ initialDelay: 500, maxDelay: 15_000 }),
              breaker: new ConsecutiveBreaker(3),
            },
          ),
      },
    });
  }

  range(request: IRangeRequest): Promise<IRangeResponse> {
    return this.call("range", (options) => this.client.kv.range(request, options));
  }

  /**
   * A range answered in the storage seam's types, decoded without etcd3's converter (see
   * range-answer.ts): what the read model's snapshot loads and barriers read through. The
   * request is encoded, and the member chosen, as for `range`.
   */
  rangeKeyValues(request: IRangeRequest): Promise<RangeResult> {
    return this.call("range", (options) =>
      this.pool().withConnection("KV", ({ client, metadata }) => {
        const range = (client.constructor as ServiceClientConstructor).service["Range"]!;
        return new Promise<RangeResult>((resolve, reject) => {
          client.makeUnaryRequest(
            range.path,
            range.requestSerialize,
            decodeRangeAnswer,
            request,
            metadata,
            options,
            (err, answer) => (err ? reject(castGrpcError(err)) : resolve(answer!)),
          );
        });
      }),
    );
  }

  txn(request: ITxnRequest): Promise<ITxnResponse> {
    const writes = (request.success ?? []).some(isWrite) || (request.failure ?? []).some(isWrite);
    return this.call("txn", (options) => this.client.kv.txn(request, options), writes ? "write" : "read");
  }

  /** Deletes `key` and returns what it held (undefined when it was already gone). */
  async delete(key: string): Promise<IKeyValue | undefined> {
    const answer = await this.call(
      "delete",
      (options) => this.client.kv.deleteRange({ key: Buffer.from(key), prev_kv: true }, options),
      "write",
    );
    return answer.prev_kvs[0];
  }

  /**
   * A new lease; keys put under it vanish `ttlSeconds` after the grant (etcd rounds very short
   * TTLs up to its minimum, about 2 s). Not idempotent, but a duplicate grant only leaves an
   * empty lease behind that expires on its own.
   */
  async grantLease(ttlSeconds: number): Promise<string> {
    const response = await this.call("lease grant", (options) =>
      this.client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: 0 }, options),
    );
    return response.ID;
  }

  /** Ends a lease now; its keys are deleted. An unknown lease is not an error. */
  async revokeLease(id: string): Promise<void> {
    try {
      await this.call("lease revoke", (options) => this.client.leaseClient.leaseRevoke({ ID: id }, options));
    } catch (err) {
      if (err instanceof Error && /requested lease not found/.test(err.message)) return;
      throw err;
    }
  }

  /** Best effort: an unused lease expires anyway. */
  revokeLeaseLater(id: string): void {
    this.call("lease revoke", (options) => this.client.leaseClient.leaseRevoke({ ID: id }, options)).catch(
      () => undefined,
    );
  }

  /** Writes `ops` in as few txns as etcd's limits allow, several at once. Only for idempotent ops. */
  async writeInBatches(ops: readonly IRequestOp[]): Promise<void> {
    await inParallel(chunkOps(lastWritePerKey(ops)), TXN_CONCURRENCY, (chunk) =>
      this.txn({ success: chunk }),
    );
  }

  /** Runs read-only ops in txns of at most MAX_TXN_OPS; responses come back in the order of `ops`. */
  async readInBatches(ops: readonly IRequestOp[]): Promise<IRangeResponse[]> {
    const chunks = chunkOps(ops);
    const answers = await inParallel(chunks, TXN_CONCURRENCY, (chunk) => this.txn({ success: chunk }));
    return answers.flatMap((answer) => answer.responses.map((r) => r.response_range));
  }

  /** Forgets history before `revision` (etcd also compacts on its own timer, see the launcher). */
  async compact(revision: number): Promise<void> {
    await this.call("compact", (options) => this.client.kv.compact({ revision, physical: false }, options));
  }

  /**
   * A raw watch stream on one member. It carries `hasleader`, so a member that loses its
   * leader (partitioned into a minority) ends the stream instead of leaving it silent.
   */
  openWatchStream(): Promise<IDuplexStream<IWatchRequest, IWatchResponse>> {
    return this.pool().withConnection("Watch", ({ client, metadata }) => {
      const withLeader = metadata.clone();
      withLeader.set("hasleader", "true");
      const stream = (client as unknown as WatchClient).watch(withLeader, {});
      return Promise.resolve(stream);
    });
  }

  private pool(): ConnectionPool {
    return (this.client as unknown as { pool: ConnectionPool }).pool;
  }

  close(): void {
    this.closed = true;
    this.client.close();
  }

  /**
   * Sends one request, re-sending it while etcd is unreachable or electing, until the budget
   * runs out. A write whose budget ran out after an attempt with an open outcome (not one that
   * surely was not applied) fails with StoreOutcomeUnknownError, else with StoreTimeoutError.
   */
  private async call<T>(
    what: string,
    send: (options: CallOptions) => Promise<T>,
    kind: "read" | "write" = "read",
  ): Promise<T> {
    const started = performance.now();
    let attempts = 0;
    const done = (ok: boolean) =>
      this.observer?.callDone(what, (performance.now() - started) / 1000, ok, attempts);
    // The budget runs on the monotonic clock: a wall clock stepped back must not stretch it.
    const deadline = performance.now() + this.timeoutMs;
    let lastError: unknown;
    let outcomeOpen = false;
    for (let attempt = 0; ; attempt++) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        done(false);
        if (outcomeOpen)
          throw new StoreOutcomeUnknownError(
            `etcd ${what}: no answer within ${this.timeoutMs} ms, and an attempt may still be applied (last error: ${describe(lastError)})`,
            { cause: lastError },
          );
        throw new StoreTimeoutError(
          `etcd ${what}: no answer within ${this.timeoutMs} ms (last error: ${describe(lastError)})`,
          { cause: lastError },
        );
      }
      if (attempt > 0) this.observer?.retry(what);
      attempts++;
      try {
        const answer = await send({ deadline: Date.now() + Math.min(remaining, this.attemptTimeoutMs) });
        done(true);
        return answer;
      } catch (err) {
        if (kind === "write" && isStoreUnavailable(err) && !wasNotApplied(err)) outcomeOpen = true;
        if (this.closed || !isTransient(err)) {
          done(false);
          // etcd's "leader changed" or "request timed out" is final here, and as open as a deadline.
          if (outcomeOpen && isStoreUnavailable(err))
            throw new StoreOutcomeUnknownError(`etcd ${what}: ${describe(err)}; it may still be applied`, {
              cause: err,
            });
          throw err;
        }
        lastError = err;
      }
      const backoff = Math.min(250, 10 * 2 ** attempt) * (0.5 + Math.random() / 2);
      await sleep(Math.min(backoff, Math.max(0, deadline - performance.now())));
    }
  }
}

/**
 * The part of etcd3's connection pool a raw call needs (not in its public types): a member's
 * grpc-js client for one service, through that member's circuit breaker.
 */
interface ConnectionPool {
  withConnection<T>(
    service: "Watch" | "KV",
    fn: (connection: { client: Client; metadata: Metadata }) => Promise<T>,
  ): Promise<T>;
}

/** The Watch service's client, as grpc-js builds it from etcd's rpc.proto. */
interface WatchClient {
  watch(metadata: Metadata, options: object): IDuplexStream<IWatchRequest, IWatchResponse>;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : "none";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** etcd refuses a txn that writes one key twice; of several writes to a key, the last one counts. */
function lastWritePerKey(ops: readonly IRequestOp[]): IRequestOp[] {
  const byKey = new Map<string, IRequestOp>();
  ops.forEach((op, i) => {
    const key = op.request_put?.key ?? op.request_delete_range?.key;
    byKey.set(key ? key.toString("latin1") : `#${i}`, op);
  });
  return [...byKey.values()];
}

/** An op that changes the store (a put, a delete, or a nested txn that may hold either). */
function isWrite(op: IRequestOp): boolean {
  return (
    op.request_put !== undefined || op.request_delete_range !== undefined || op.request_txn !== undefined
  );
}

/** Splits ops into groups etcd accepts in one txn: at most MAX_TXN_OPS and well under 1.5 MiB. */
export function chunkOps(ops: readonly IRequestOp[]): IRequestOp[][] {
  const chunks: IRequestOp[][] = [];
  let current: IRequestOp[] = [];
  let bytes = 0;
  for (const op of ops) {
    const size = opBytes(op);
    if (current.length > 0 && (current.length >= MAX_TXN_OPS || bytes + size > MAX_TXN_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(op);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function opBytes(op: IRequestOp): number {
  const { request_put: put, request_range: range, request_delete_range: del } = op;
  const keys = put?.key ?? range?.key ?? del?.key;
  const rangeEnd = range?.range_end ?? del?.range_end;
  return OP_OVERHEAD_BYTES + (keys?.length ?? 0) + (rangeEnd?.length ?? 0) + (put?.value?.length ?? 0);
}

/** Maps `items` through `run` with at most `limit` in flight, keeping the order of the results. */
export async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  run: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await run(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Repeats a read-then-compare-and-swap step until it lands. `step` returns undefined when
 * its compare failed (someone wrote in between) and the value otherwise.
 */
export async function retryOnConflict<T>(step: () => Promise<T | undefined>, maxRounds = 50): Promise<T> {
  for (let round = 0; round < maxRounds; round++) {
    const result = await step();
    if (result !== undefined) return result;
  }
  throw new StoreTimeoutError(`gave up after ${maxRounds} conflicting writes in a row`);
}

// Request builders: raw etcd ops, keys and values as bytes.

export function bytes(value: string | Uint8Array): Buffer {
  return typeof value === "string"
    ? Buffer.from(value)
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

export function putOp(
  key: string,
  value: string | Uint8Array,
  lease?: { id?: string; keep?: boolean },
): IRequestOp {
  return {
    request_put: {
      key: bytes(key),
      value: bytes(value),
      lease: lease?.id ?? 0,
      ignore_lease: lease?.keep ?? false,
    },
  };
}

export function deleteOp(key: string): IRequestOp {
  return { request_delete_range: { key: bytes(key) } };
}

export function getOp(key: string): IRequestOp {
  return { request_range: { key: bytes(key) } };
}

/** Existence only: no value travels back. */
export function countOp(key: string): IRequestOp {
  return { request_range: { key: bytes(key), count_only: true } };
}

/** True while `key` does not exist (it was never created, or was deleted since). */
export function absent(key: string): ICompare {
  return { key: bytes(key), target: "Create", result: "Equal", create_revision: 0 };
}

/** True while `key` was last written at `modRevision`. */
export function unchangedSince(key: string, modRevision: string): ICompare {
  return { key: bytes(key), target: "Mod", result: "Equal", mod_revision: modRevision };
}
