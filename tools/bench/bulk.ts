import type { IRequestOp } from "etcd3";
import type { EtcdStore } from "../../src/storage/etcd/client.js";

/** Ops handed to one writeInBatches call (8 txns of 128); a few such calls run at once. */
const SLICE_OPS = 1024;

/**
 * Streams seed writes into etcd: buffers ops, writes them in full txns through the same
 * EtcdStore the services use (idempotent puts, so its retries are harmless), with a
 * bounded number of slices in flight so memory stays flat however much is seeded.
 */
export class BulkWriter {
  private buffer: IRequestOp[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  written = 0;

  constructor(
    private readonly store: EtcdStore,
    private readonly parallelSlices = 3,
    private readonly onProgress?: (written: number) => void,
  ) {}

  async add(ops: readonly IRequestOp[]): Promise<void> {
    for (const op of ops) this.buffer.push(op);
    while (this.buffer.length >= SLICE_OPS) await this.send(this.buffer.splice(0, SLICE_OPS));
  }

  /** Writes what is buffered and waits for every slice; throws the first write failure. */
  async flush(): Promise<void> {
    if (this.buffer.length > 0) await this.send(this.buffer.splice(0));
    await Promise.all(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
  }

  private async send(slice: IRequestOp[]): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    while (this.inFlight.size >= this.parallelSlices) await Promise.race(this.inFlight);
    const write: Promise<void> = this.store
      .writeInBatches(slice)
      .then(() => {
        this.written += slice.length;
        this.onProgress?.(this.written);
      })
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => this.inFlight.delete(write));
    this.inFlight.add(write);
  }
}
