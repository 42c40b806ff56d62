import type { Compare } from "../../storage/kv.js";
import { covers } from "../../shared/oauth.js";

/** The user a request acts for, and the session that vouches for them. */
export interface Viewer {
  username: string;
  /** The session's key and create revision: a write compares them, so a logout wins a race. */
  sessionKey: string;
  sessionRevision: number;
  /**
   * For an OAuth access token: the scopes it holds and its app. Undefined for a Flock session,
   * which may do everything its user may.
   */
  oauth?: { clientId: string; scopes: readonly string[] };
}

/**
 * Turns a token into the user behind it, or throws UNAUTHENTICATED. A call names the OAuth
 * scope it needs (`read:statuses`, `write:follows`…): a Flock session passes any, an OAuth
 * token only one that covers it (PERMISSION_DENIED otherwise), and a call that names none
 * takes no OAuth token at all. So scopes hold on every path, Flock's own API included.
 */
export interface Authenticator {
  /** As of now: every logout acknowledged before the call is seen (a linearizable read). */
  authenticate(token: string, scope?: string): Promise<Viewer>;
  /**
   * From the view as it is, waiting for a fresh one only when it does not know the session:
   * for writes, which then put `sessionStillValid(viewer)` among their compares.
   */
  authenticateForWrite(token: string, scope?: string): Promise<Viewer>;
}

/** True while the viewer's session still exists: a write compares this, so it is refused after a logout. */
export function sessionStillValid(viewer: Viewer): Compare {
  return { key: viewer.sessionKey, target: "createRevision", equals: viewer.sessionRevision };
}

/** Whether the viewer's token covers `scope` (a Flock session covers every scope). */
export function viewerMay(viewer: Viewer, scope: string): boolean {
  return viewer.oauth === undefined || covers(viewer.oauth.scopes, scope);
}
