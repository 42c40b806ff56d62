import { WRITE_TYPES, type FaultRecord, type Op } from "./history.js";

export interface FaultWindow extends FaultRecord {
  /**
   * The longest stretch without any acknowledged write, from the fault until writes resumed
   * after its heal (so a stall in the middle counts, not only the first write's wait); null
   * when no write was acknowledged after the heal.
   */
  unavailableMs: number | null;
  /** Fault → completion of the first acknowledged write requested after it; null if none came. */
  firstWriteMs: number | null;
  /** Heal → completion of the first acknowledged write requested after the heal; null if none came. */
  recoveryMs: number | null;
}

/** The unavailability windows of each fault, measured on the acknowledged writes of the history. */
export function unavailabilityWindows(faults: readonly FaultRecord[], ops: readonly Op[]): FaultWindow[] {
  const writes = ops.filter((o) => WRITE_TYPES.has(o.type) && o.outcome === "ok");
  const byInvocation = [...writes].sort((a, b) => a.invokedAt - b.invokedAt);
  const completions = writes.map((o) => o.completedAt).sort((a, b) => a - b);
  const firstIndex = (sorted: readonly number[], t: number) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const invocations = byInvocation.map((o) => o.invokedAt);
  // The acknowledged write requested at or after t that completed first.
  const firstAfter = (t: number): Op | undefined => {
    let best: Op | undefined;
    for (let i = firstIndex(invocations, t); i < byInvocation.length; i++) {
      const o = byInvocation[i]!;
      if (best && o.invokedAt > best.completedAt) break;
      if (!best || o.completedAt < best.completedAt) best = o;
    }
    return best;
  };
  return faults.map((fault) => {
    const first = firstAfter(fault.at);
    const afterHeal = fault.healedAt === null ? undefined : firstAfter(fault.healedAt);
    let unavailableMs: number | null = null;
    if (afterHeal) {
      let previous = fault.at;
      unavailableMs = 0;
      for (let i = firstIndex(completions, fault.at); i < completions.length; i++) {
        const t = Math.min(completions[i]!, afterHeal.completedAt);
        unavailableMs = Math.max(unavailableMs, t - previous);
        previous = t;
        if (completions[i]! >= afterHeal.completedAt) break;
      }
    }
    return {
      ...fault,
      unavailableMs,
      firstWriteMs: first ? first.completedAt - fault.at : null,
      recoveryMs: afterHeal && fault.healedAt !== null ? afterHeal.completedAt - fault.healedAt : null,
    };
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

export interface KindSummary {
  count: number;
  /** The longest unavailability window of this kind (null: writes never resumed after one). */
  longestUnavailableMs: number | null;
  medianUnavailableMs: number | null;
  longestRecoveryMs: number | null;
  /** When (run clock) the longest window began, and its variant. */
  longestAt: number;
  longestVariant: string;
  variants: Record<string, { count: number; longestUnavailableMs: number | null }>;
}

/** Faults grouped by kind: how many, and the longest and median unavailability of each kind and form. */
export function byKind(windows: readonly FaultWindow[]): Record<string, KindSummary> {
  const kinds: Record<string, KindSummary> = {};
  const spans = new Map<string, number[]>();
  // null (writes never resumed) ranks above any length.
  const rank = (ms: number | null) => ms ?? Number.POSITIVE_INFINITY;
  for (const w of windows) {
    let k = kinds[w.kind];
    if (!k) {
      k = kinds[w.kind] = {
        count: 0,
        longestUnavailableMs: w.unavailableMs,
        medianUnavailableMs: null,
        longestRecoveryMs: w.recoveryMs,
        longestAt: w.at,
        longestVariant: w.variant,
        variants: {},
      };
    }
    k.count++;
    if (rank(w.unavailableMs) > rank(k.longestUnavailableMs)) {
      k.longestUnavailableMs = w.unavailableMs;
      k.longestAt = w.at;
      k.longestVariant = w.variant;
    }
    if (rank(w.recoveryMs) > rank(k.longestRecoveryMs)) k.longestRecoveryMs = w.recoveryMs;
    const v = (k.variants[w.variant] ??= { count: 0, longestUnavailableMs: w.unavailableMs });
    v.count++;
    if (rank(w.unavailableMs) > rank(v.longestUnavailableMs)) v.longestUnavailableMs = w.unavailableMs;
    if (w.unavailableMs !== null) spans.set(w.kind, [...(spans.get(w.kind) ?? []), w.unavailableMs]);
  }
  for (const [kind, list] of spans) {
    list.sort((a, b) => a - b);
    kinds[kind]!.medianUnavailableMs = list[Math.floor(list.length / 2)] ?? null;
  }
  return kinds;
}
