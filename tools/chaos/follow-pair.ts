import type { Op } from "./history.js";
import { firstIndexWhere } from "../../src/shared/sorted.js";

/**
 * One reader→author pair's follow and unfollow ops, indexed so that "was this pair certainly
 * followed (or unfollowed) from `since` until `until`?" costs a few binary searches. The read
 * checks ask it for every (feed read, followed author, post) triple; a long run has hundreds of
 * operations per pair, and scanning them each time made the final check quadratic in the run.
 */
export class FollowPair {
  /** Acknowledged ops by completion time. */
  private readonly acked: Op[];
  private readonly mayApply: Record<"follow" | "unfollow", MayApply>;

  /** `graceMs`: how long after its answer an unknown-outcome op may still be applied. */
  constructor(ops: readonly Op[], graceMs: number) {
    this.acked = ops.filter((o) => o.outcome === "ok").sort((a, b) => a.completedAt - b.completedAt);
    this.mayApply = {
      follow: new MayApply(ops, "follow", graceMs),
      unfollow: new MayApply(ops, "unfollow", graceMs),
    };
  }

  /**
   * No post sent before the time this returns was followed from its sending until `until`: it
   * was sent before the first acknowledged follow, or before an unfollow that may have applied
   * by `until`. The read checks skip those posts without asking about each.
   */
  followedOnlySince(until: number): number {
    const firstFollow = this.acked.find((o) => o.type === "follow")?.completedAt ?? Number.POSITIVE_INFINITY;
    return Math.max(firstFollow, this.mayApply.unfollow.lastSentBefore(until));
  }

  /** Certainly followed from before `since` until `until`. */
  followedDuring(since: number, until: number): boolean {
    const last = this.lastAckedBefore(since);
    return last?.type === "follow" && !this.mayApply.unfollow.between(last.invokedAt, until);
  }

  /** Certainly not followed from before `since` until `until` (an acknowledged unfollow, and no follow racing it). */
  unfollowedDuring(since: number, until: number): boolean {
    const last = this.lastAckedBefore(since);
    return last?.type === "unfollow" && !this.mayApply.follow.between(last.invokedAt, until);
  }

  /** The acknowledged op answered last before `t` (the earliest listed, on a tie). */
  private lastAckedBefore(t: number): Op | undefined {
    let i = firstIndexWhere(this.acked.length, (j) => this.acked[j]!.completedAt >= t) - 1;
    while (i > 0 && this.acked[i - 1]!.completedAt === this.acked[i]!.completedAt) i--;
    return this.acked[i];
  }
}

/** The ops of one type that were not refused, by send time, with the latest end so far. */
class MayApply {
  private readonly sent: Op[];
  private readonly latestEndUpTo: number[] = [];

  constructor(ops: readonly Op[], type: Op["type"], graceMs: number) {
    this.sent = ops
      .filter((o) => o.type === type && o.outcome !== "failed")
      .sort((a, b) => a.invokedAt - b.invokedAt);
    let latest = Number.NEGATIVE_INFINITY;
    for (const o of this.sent) {
      // An unknown outcome may still be applied a grace after its answer (the client retries).
      const end = o.outcome === "ok" ? o.completedAt : o.completedAt + graceMs;
      this.latestEndUpTo.push((latest = Math.max(latest, end)));
    }
  }

  /** When the last of them sent before `until` was sent (−∞ if none was). */
  lastSentBefore(until: number): number {
    const sentBefore = firstIndexWhere(this.sent.length, (i) => this.sent[i]!.invokedAt >= until);
    return sentBefore > 0 ? this.sent[sentBefore - 1]!.invokedAt : Number.NEGATIVE_INFINITY;
  }

  /** Whether one of them may have taken effect after `after` and before `until`: sent before `until`, not over before `after`. */
  between(after: number, until: number): boolean {
    const sentBefore = firstIndexWhere(this.sent.length, (i) => this.sent[i]!.invokedAt >= until);
    return sentBefore > 0 && this.latestEndUpTo[sentBefore - 1]! > after;
  }
}
