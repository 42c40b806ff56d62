import type { Compare } from "../../storage/kv.js";

/** The user a request acts for, and the session that vouches for them. */
export interface Viewer {
  username: string;
  /** The session's key and create revision: a write compares them, so a logout wins a race. */
  sessionKey: string;
  sessionRevision: number;
}

/** Turns a session token into the user behind it, or throws UNAUTHENTICATED. */
export interface Authenticator {
  /** As of now: every logout acknowledged before the call is seen (a linearizable read). */
  authenticate(token: string): Promise<Viewer>;
  /**
   * From the view as it is, waiting for a fresh one only when it does not know the session:
   * for writes, which then put `sessionStillValid(viewer)` among their compares.
   */
  authenticateForWrite(token: string): Promise<Viewer>;
}

/** True while the viewer's session still exists: a write compares this, so it is refused after a logout. */
export function sessionStillValid(viewer: Viewer): Compare {
  return { key: viewer.sessionKey, target: "createRevision", equals: viewer.sessionRevision };
}
