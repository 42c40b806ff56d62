import { performance } from "node:perf_hooks";
import type { Op } from "./history.js";
import { outcomeOf, type Reply } from "./http.js";

export type OpInput = Omit<Op, "id" | "invokedAt" | "completedAt" | "outcome" | "status">;

/**
 * Keeps every operation: it is appended when invoked (pending: unknown, completion +∞) and
 * completed with its outcome once the answer (or the deadline) came. One clock for the
 * whole run, shared with the fault log, so the checker can order ops and faults.
 */
export class Recorder {
  readonly ops: Op[] = [];
  readonly startedAt = new Date();
  private readonly t0 = performance.now();
  private nextId = 1;

  constructor(private readonly print: (line: string) => void = (line) => console.log(line)) {}

  /** Milliseconds since the run started. */
  now(): number {
    return performance.now() - this.t0;
  }

  /** A log line stamped with the run clock, e.g. `[+12.3s] fault: …`. */
  log(message: string): void {
    this.print(`[+${(this.now() / 1000).toFixed(1)}s] ${message}`);
  }

  /** Issues `call`, recording invocation and completion; `onOk` may add results (a token, a post id). */
  async record(
    input: OpInput,
    call: () => Promise<Reply>,
    onOk?: (op: Op, reply: Reply) => void,
  ): Promise<Reply> {
    const op: Op = {
      ...input,
      id: this.nextId++,
      invokedAt: this.now(),
      completedAt: Number.POSITIVE_INFINITY,
      outcome: "unknown",
      status: 0,
    };
    this.ops.push(op);
    const reply = await call();
    op.completedAt = this.now();
    op.status = reply.status;
    op.outcome = outcomeOf(reply.status);
    if (op.outcome === "ok") onOk?.(op, reply);
    else op.error = reply.error ?? errorText(reply.body);
    return reply;
  }
}

function errorText(body: unknown): string | undefined {
  const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  if (error) return `${error.code ?? ""}: ${error.message ?? ""}`.slice(0, 200);
  return typeof body === "string" ? body.slice(0, 200) : undefined;
}
