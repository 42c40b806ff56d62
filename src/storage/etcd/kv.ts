import type {
  ICompare,
  IDuplexStream,
  IKeyValue,
  IRangeResponse,
  IRequestOp,
  IWatchRequest,
  IWatchResponse,
} from "etcd3";
import {
  bytesOf,
  CompactedError,
  LeaseNotFoundError,
  type Compare,
  type KeyValue,
  type Kv,
  type Op,
  type RangeRequest,
  type RangeResult,
  type TxnRequest,
  type TxnResult,
  type Watch,
  type WatchEvent,
  type WatchHandler,
} from "../kv.js";
import { EMPTY } from "./range-answer.js";
import { EtcdStore, type EtcdStorageOptions } from "./client.js";

/** How long a broken watch waits before it reconnects, at first and at most. */
const WATCH_RETRY_MIN_MS = 50;
const WATCH_RETRY_MAX_MS = 2_000;

/**
 * The storage seam (kv.ts) on a real etcd cluster. Calls go through EtcdStore, which owns
 * retries and deadlines; watches are raw gRPC watch streams that reconnect on their own and
 * resume after the last revision they delivered, so a member dying, a leader change or a
 * partition costs a delay, never an event.
 */
export class EtcdKv implements Kv {
  readonly store: EtcdStore;

  constructor(options: EtcdStorageOptions | EtcdStore) {
    this.store = options instanceof EtcdStore ? options : new EtcdStore(options);
  }

  async range(request: RangeRequest): Promise<RangeResult> {
    try {
      return await this.store.rangeKeyValues(toRange(request));
    } catch (err) {
      throw translate(err);
    }
  }

  async txn(request: TxnRequest): Promise<TxnResult> {
    try {
      const answer = await this.store.txn({
        compare: (request.compare ?? []).map(toCompare),
        success: request.success.map(toOp),
        failure: (request.failure ?? []).map(toOp),
      });
      return {
        succeeded: answer.succeeded,
        revision: Number(answer.header.revision),
        results: answer.responses.map((r) => (r.response_range ? fromRange(r.response_range) : undefined)),
      };
    } catch (err) {
      throw translate(err);
    }
  }

  watch(key: string, end: string, fromRevision: number, handler: WatchHandler): Watch {
    return new EtcdWatch(this.store, key, end, fromRevision, handler);
  }

  grantLease(ttlSeconds: number): Promise<string> {
    return this.store.grantLease(ttlSeconds);
  }

  async revokeLease(id: string): Promise<void> {
    await this.store.revokeLease(id);
  }

  async compact(revision: number): Promise<void> {
    try {
      await this.store.compact(revision);
    } catch (err) {
      // Compacting to a revision already compacted is what was asked for.
      if (translate(err) instanceof CompactedError) return;
      throw err;
    }
  }

  async close(): Promise<void> {
    this.store.close();
  }
}

/**
 * One watch over [key, end). Each (re)connection asks for the revision after the last one
 * delivered; events arrive in revision order per watch, so resuming that way neither skips
 * nor repeats. A compacted start ends the watch with CompactedError: the caller rebuilds.
 */
class EtcdWatch implements Watch {
  private next: number;
  private stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined;
  private cancelled = false;
  private retryMs = WATCH_RETRY_MIN_MS;

  constructor(
    private readonly store: EtcdStore,
    private readonly key: string,
    private readonly end: string,
    fromRevision: number,
    private readonly handler: WatchHandler,
  ) {
    this.next = fromRevision;
    void this.connect();
  }

  cancel(): void {
    this.cancelled = true;
    this.stream?.cancel();
    this.stream = undefined;
  }

  private async connect(): Promise<void> {
    if (this.cancelled) return;
    let stream: IDuplexStream<IWatchRequest, IWatchResponse>;
    try {
      stream = await this.store.openWatchStream();
    } catch {
      this.reconnectLater();
      return;
    }
    if (this.cancelled) {
      // Cancelling makes the stream emit CANCELLED: without a listener that would be thrown.
      stream.on("error", () => undefined);
      stream.cancel();
      return;
    }
    this.stream = stream;
    let over = false;
    const broken = () => {
      if (over) return;
      over = true;
      stream.cancel();
      if (this.stream === stream) this.stream = undefined;
      this.reconnectLater();
    };
    stream.on("data", (response) => {
      if (over || this.cancelled) return;
      const compactRevision = Number(response.compact_revision);
      if (compactRevision > 0) {
        over = true;
        this.cancelled = true;
        stream.cancel();
        this.handler.onError(new CompactedError(compactRevision));
        return;
      }
      if (response.canceled) return broken();
      if (response.created) {
        this.retryMs = WATCH_RETRY_MIN_MS;
        return;
      }
      if (response.events.length === 0) return;
      const events = response.events.map((event): WatchEvent =>
        event.type === "Delete"
          ? {
              type: "delete",
              kv: fromKv(event.kv),
              ...(event.prev_kv ? { prevKv: fromKv(event.prev_kv) } : {}),
            }
          : { type: "put", kv: fromKv(event.kv) },
      );
      const last = events[events.length - 1]!.kv.modRevision;
      this.next = last + 1;
      this.handler.onEvents(events, last);
    });
    stream.on("error", broken);
    stream.on("end", broken);
    stream.write({
      create_request: {
        key: Buffer.from(this.key),
        range_end: Buffer.from(this.end),
        start_revision: this.next,
        // Deletes carry the key's last version (a deleted post's id is its create revision).
        prev_kv: true,
      },
    });
  }

  private reconnectLater(): void {
    if (this.cancelled) return;
    const delay = this.retryMs * (0.5 + Math.random() / 2);
    this.retryMs = Math.min(WATCH_RETRY_MAX_MS, this.retryMs * 2);
    setTimeout(() => void this.connect(), delay).unref();
  }
}

function toRange(request: RangeRequest) {
  return {
    key: Buffer.from(request.key),
    ...(request.end !== undefined ? { range_end: Buffer.from(request.end) } : {}),
    ...(request.limit !== undefined ? { limit: request.limit } : {}),
    ...(request.keysOnly ? { keys_only: true } : {}),
    ...(request.revision !== undefined ? { revision: request.revision } : {}),
  };
}

function fromRange(answer: IRangeResponse): RangeResult {
  return { kvs: answer.kvs.map(fromKv), more: answer.more, revision: Number(answer.header.revision) };
}

function fromKv(kv: IKeyValue): KeyValue {
  const value = kv.value ?? EMPTY;
  return {
    key: kv.key.toString("utf8"),
    // A plain view: decoding from a Buffer makes a Buffer of every field it slices (slow).
    value: new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    lease: String(kv.lease ?? "0"),
  };
}

function toCompare(compare: Compare): ICompare {
  const key = Buffer.from(compare.key);
  switch (compare.target) {
    case "createRevision":
      return { key, target: "Create", result: "Equal", create_revision: compare.equals };
    case "modRevision":
      return { key, target: "Mod", result: "Equal", mod_revision: compare.equals };
    case "value":
      return { key, target: "Value", result: "Equal", value: Buffer.from(bytesOf(compare.equals)) };
  }
}

function toOp(op: Op): IRequestOp {
  switch (op.type) {
    case "put":
      return {
        request_put: {
          key: Buffer.from(op.key),
          value: Buffer.from(bytesOf(op.value)),
          lease: op.lease ?? 0,
        },
      };
    case "delete":
      return {
        request_delete_range: {
          key: Buffer.from(op.key),
          ...(op.end !== undefined ? { range_end: Buffer.from(op.end) } : {}),
        },
      };
    case "get":
      return { request_range: toRange(op) };
  }
}

/** etcd's answers for a compacted revision and an unknown lease, as the seam's own errors. */
function translate(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  if (/required revision has been compacted/.test(err.message)) return new CompactedError(0);
  if (/requested lease not found/.test(err.message)) return new LeaseNotFoundError(err.message);
  return err;
}
