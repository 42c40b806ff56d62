import { WRITE_TYPES, type FaultRecord, type Op } from "./history.js";

export interface FaultWindow extends FaultRecord {
  /** Fault → completion of the first acknowledged write requested after it; null if none came. */
  unavailableMs: number | null;
}

/** The unavailability window of each fault: from its injection to the first write that succeeded after it. */
export function unavailabilityWindows(faults: readonly FaultRecord[], ops: readonly Op[]): FaultWindow[] {
  const writes = ops
    .filter((o) => WRITE_TYPES.has(o.type) && o.outcome === "ok")
    .sort((a, b) => a.completedAt - b.completedAt);
  return faults.map((fault) => {
    const first = writes.find((o) => o.invokedAt >= fault.at);
    return { ...fault, unavailableMs: first ? first.completedAt - fault.at : null };
  });
}

export function longestWindow(windows: readonly FaultWindow[]): FaultWindow | undefined {
  let longest: FaultWindow | undefined;
  for (const w of windows) {
    const ms = w.unavailableMs ?? Number.POSITIVE_INFINITY;
    if (!longest || ms > (longest.unavailableMs ?? Number.POSITIVE_INFINITY)) longest = w;
  }
  return longest;
}
