import { absent, del, get, put, type KeyValue } from "../../storage/kv.js";
import type { Keys } from "../../storage/keys.js";
import type { FactWriter } from "../../storage/writer.js";
import { sessionStillValid, type Viewer } from "../shared/auth.js";

export type GraphOutcome =
  | { kind: "done"; revision: number }
  | { kind: "session-gone" }
  | { kind: "no-such-user" }
  | { kind: "blocked" };

/**
 * The graph's facts: one key per follow, block and mute. Each change is one txn that also
 * checks, at commit, what it depends on (the actor's session, the other account, no block
 * between them); each is idempotent.
 */
export class GraphFacts {
  constructor(
    private readonly writer: FactWriter,
    private readonly keys: Keys,
  ) {}

  /** `nowMs` is stored as the follow's time (what a notification shows). */
  async follow(
    viewer: Viewer,
    followee: string,
    followeeRevision: number,
    nowMs: number,
  ): Promise<GraphOutcome> {
    const me = viewer.username;
    const followKey = this.keys.follow(me, followee);
    const accountKey = this.keys.account(followee);
    const blocks = [this.keys.block(followee, me), this.keys.block(me, followee)];
    const answer = await this.writer.txn({
      compare: [
        sessionStillValid(viewer),
        { key: accountKey, target: "createRevision", equals: followeeRevision },
        ...blocks.map(absent),
        absent(followKey),
      ],
      success: [put(followKey, String(nowMs))],
      failure: [get(viewer.sessionKey), get(accountKey), ...blocks.map(get), get(followKey)],
    });
    if (answer.succeeded) return { kind: "done", revision: answer.revision };
    const [session, account, blockedByThem, blockedByMe, follow] = answer.results.map((r) => r?.kvs[0]);
    if (!sameCreation(session, viewer.sessionRevision)) return { kind: "session-gone" };
    if (!sameCreation(account, followeeRevision)) return { kind: "no-such-user" };
    if (blockedByThem || blockedByMe) return { kind: "blocked" };
    // Already following: nothing to write; the caller waits for the follow it found.
    return { kind: "done", revision: follow!.modRevision };
  }

  unfollow(viewer: Viewer, followee: string): Promise<GraphOutcome> {
    return this.change(viewer, [del(this.keys.follow(viewer.username, followee))]);
  }

  /** A block, and the end of any follow between the two, both ways, in one txn. */
  block(viewer: Viewer, other: string, otherRevision: number): Promise<GraphOutcome> {
    const me = viewer.username;
    return this.change(
      viewer,
      [put(this.keys.block(me, other)), del(this.keys.follow(me, other)), del(this.keys.follow(other, me))],
      { key: this.keys.account(other), revision: otherRevision },
    );
  }

  unblock(viewer: Viewer, other: string): Promise<GraphOutcome> {
    return this.change(viewer, [del(this.keys.block(viewer.username, other))]);
  }

  mute(viewer: Viewer, other: string, otherRevision: number): Promise<GraphOutcome> {
    return this.change(viewer, [put(this.keys.mute(viewer.username, other))], {
      key: this.keys.account(other),
      revision: otherRevision,
    });
  }

  unmute(viewer: Viewer, other: string): Promise<GraphOutcome> {
    return this.change(viewer, [del(this.keys.mute(viewer.username, other))]);
  }

  /** Writes `ops` while the session (and the other account, when named) still exist. */
  private async change(
    viewer: Viewer,
    ops: Parameters<FactWriter["txn"]>[0]["success"],
    account?: { key: string; revision: number },
  ): Promise<GraphOutcome> {
    const answer = await this.writer.txn({
      compare: [
        sessionStillValid(viewer),
        ...(account
          ? [{ key: account.key, target: "createRevision" as const, equals: account.revision }]
          : []),
      ],
      success: ops,
      failure: [get(viewer.sessionKey)],
    });
    if (answer.succeeded) return { kind: "done", revision: answer.revision };
    const session = answer.results[0]?.kvs[0];
    return sameCreation(session, viewer.sessionRevision)
      ? { kind: "no-such-user" }
      : { kind: "session-gone" };
  }
}

function sameCreation(kv: KeyValue | undefined, revision: number): boolean {
  return kv !== undefined && kv.createRevision === revision;
}
