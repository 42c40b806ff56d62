/**
 * The storage seam of Flock: a small, revisioned key-value store with etcd's semantics.
 *
 * Every service writes its facts through this interface and every backend derives its read
 * model from it (a snapshot at one revision, then a watch from the next). Two implementations:
 * storage/etcd/kv.ts (a 3-member etcd cluster; the system of record) and storage/memory/kv.ts
 * (the same semantics inside one process: the quick mode and the fast tests). One contract
 * suite runs against both, so what the read model relies on is checked on the real thing.
 *
 * Semantics taken from etcd v3 (and only those Flock uses):
 * - One revision counter for the whole store. Every transaction that changes anything gets
 *   the next revision; all its changes carry it. Revisions order facts: Flock never orders by
 *   a process's clock.
 * - A key remembers the revision that created it (createRevision; 0 while absent) and the
 *   one that last changed it (modRevision).
 * - A transaction compares, then runs its success or its failure ops, atomically.
 * - A watch delivers every change to a key range after a given revision, in revision order,
 *   grouped by revision; history older than the compacted revision is gone (CompactedError).
 * - Leases: keys put under a lease vanish (a delete event) when the lease expires.
 */

export interface KeyValue {
  key: string;
  value: Uint8Array;
  /** Revision of the transaction that created this key (since its last delete). */
  createRevision: number;
  /** Revision of the transaction that last changed it. */
  modRevision: number;
  /** Lease id, "0" when none. */
  lease: string;
}

/** A compare of a transaction. `createRevision 0` means "the key does not exist". */
export type Compare =
  | { key: string; target: "createRevision"; equals: number }
  | { key: string; target: "modRevision"; equals: number }
  | { key: string; target: "value"; equals: Uint8Array | string };

export interface RangeRequest {
  key: string;
  /** Exclusive end; when omitted the range is the single key. */
  end?: string;
  limit?: number;
  keysOnly?: boolean;
  /** Read the store as it was at this revision (CompactedError when compacted away). */
  revision?: number;
}

export type Op =
  | { type: "put"; key: string; value: Uint8Array | string; lease?: string }
  | { type: "delete"; key: string; end?: string }
  | ({ type: "get" } & RangeRequest);

export interface RangeResult {
  kvs: KeyValue[];
  /** True when the range held more keys than the limit let through. */
  more: boolean;
  /** The store's revision when the read ran (or the one asked for). */
  revision: number;
}

export interface TxnRequest {
  compare?: Compare[];
  success: Op[];
  failure?: Op[];
}

export interface TxnResult {
  succeeded: boolean;
  /** The store's revision after the txn: the txn's own revision when it changed anything. */
  revision: number;
  /** One result per op run; `get` ops carry their range, writes carry nothing. */
  results: (RangeResult | undefined)[];
}

export interface WatchEvent {
  type: "put" | "delete";
  /** For a delete: the key, an empty value, and the delete's revision as modRevision. */
  kv: KeyValue;
  /** For a delete: the key as it was just before (its create revision names what went). */
  prevKv?: KeyValue;
}

export interface WatchHandler {
  /** Changes of one or more revisions, in revision order; `revision` is the last one. */
  onEvents(events: WatchEvent[], revision: number): void;
  /**
   * The watch ended and will deliver nothing more: compacted (CompactedError), cancelled by
   * the store, or the store went away for longer than the implementation retries.
   */
  onError(err: Error): void;
}

export interface Watch {
  cancel(): void;
}

/** The store's history before `compactRevision` is gone; rebuild from a fresh snapshot. */
export class CompactedError extends Error {
  override readonly name = "CompactedError";
  constructor(readonly compactRevision: number) {
    super(`revision compacted: history before ${compactRevision} is gone`);
  }
}

/** A put under a lease that no longer exists (expired or revoked). */
export class LeaseNotFoundError extends Error {
  override readonly name = "LeaseNotFoundError";
}

export interface Kv {
  /** A linearizable read: it reflects every transaction acknowledged before it was sent. */
  range(request: RangeRequest): Promise<RangeResult>;
  txn(request: TxnRequest): Promise<TxnResult>;
  /**
   * Delivers every change to [key, end) from `fromRevision` on (inclusive). Delivery order
   * is revision order; a handler is never called again after onError.
   */
  watch(key: string, end: string, fromRevision: number, handler: WatchHandler): Watch;
  /** A new lease that expires `ttlSeconds` from now; returns its id. */
  grantLease(ttlSeconds: number): Promise<string>;
  /** Ends a lease now (its keys are deleted). Unknown leases are ignored. */
  revokeLease(id: string): Promise<void>;
  /** Forgets history before `revision` (operators and tests; etcd also compacts on a timer). */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}

// Builders, so call sites read like the transaction they send.

export const put = (key: string, value: Uint8Array | string = "", lease?: string): Op => ({
  type: "put",
  key,
  value,
  ...(lease !== undefined && lease !== "0" ? { lease } : {}),
});
export const del = (key: string): Op => ({ type: "delete", key });
export const get = (key: string): Op => ({ type: "get", key });
export const absent = (key: string): Compare => ({ key, target: "createRevision", equals: 0 });
export const unchangedSince = (key: string, modRevision: number): Compare => ({
  key,
  target: "modRevision",
  equals: modRevision,
});

/** The smallest key greater than every key starting with `prefix` (a range end for the prefix). */
export function prefixEnd(prefix: string): string {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const code = prefix.charCodeAt(i);
    if (code < 0x7f) return prefix.slice(0, i) + String.fromCharCode(code + 1);
  }
  throw new Error(`no range end for prefix ${JSON.stringify(prefix)}`);
}

export function text(value: Uint8Array): string {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("utf8");
}

export function bytesOf(value: Uint8Array | string): Uint8Array {
  return typeof value === "string" ? Buffer.from(value, "utf8") : value;
}
