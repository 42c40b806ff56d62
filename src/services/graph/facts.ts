import { absent, del, get, put, type KeyValue } from "../../storage/kv.js";
import type { Keys } from "../../storage/keys.js";
import type { FactWriter } from "../../storage/writer.js";
import { sessionStillValid, type Viewer } from "../auth.js";

export type FollowOutcome =
  { kind: "done"; revision: number } | { kind: "session-gone" } | { kind: "no-such-user" };

/**
 * The graph's facts: one key per follow. A follow is one txn that also checks, at commit,
 * that the follower's session and the followee's account still exist; an unfollow is one
 * delete. Both are idempotent.
 */
export class GraphFacts {
  constructor(
    private readonly writer: FactWriter,
    private readonly keys: Keys,
  ) {}

  async follow(viewer: Viewer, followee: string, followeeRevision: number): Promise<FollowOutcome> {
    const followKey = this.keys.follow(viewer.username, followee);
    const accountKey = this.keys.account(followee);
    const answer = await this.writer.txn({
      compare: [
        sessionStillValid(viewer),
        { key: accountKey, target: "createRevision", equals: followeeRevision },
        absent(followKey),
      ],
      success: [put(followKey)],
      failure: [get(viewer.sessionKey), get(accountKey), get(followKey)],
    });
    if (answer.succeeded) return { kind: "done", revision: answer.revision };
    const [session, account, follow] = answer.results.map((r) => r?.kvs[0]);
    if (!sameCreation(session, viewer.sessionRevision)) return { kind: "session-gone" };
    if (!sameCreation(account, followeeRevision)) return { kind: "no-such-user" };
    // Already following: nothing to write; the caller waits for the follow it found.
    return { kind: "done", revision: follow!.modRevision };
  }

  async unfollow(viewer: Viewer, followee: string): Promise<FollowOutcome> {
    const answer = await this.writer.txn({
      compare: [sessionStillValid(viewer)],
      success: [del(this.keys.follow(viewer.username, followee))],
    });
    return answer.succeeded ? { kind: "done", revision: answer.revision } : { kind: "session-gone" };
  }
}

function sameCreation(kv: KeyValue | undefined, revision: number): boolean {
  return kv !== undefined && kv.createRevision === revision;
}
