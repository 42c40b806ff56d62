import { status } from "@grpc/grpc-js";
import type { AccountDirectory, Authenticator, FeedSync, FollowGraph } from "../services/deps.js";
import { encodeCursor } from "../shared/cursor.js";
import { FlockError } from "../shared/errors.js";
import type { BackendClients } from "../grpc/client.js";

/**
 * The cross-service dependencies as gRPC calls, for a backend that does not host the
 * service it depends on itself.
 */
export function remoteAuthenticator(clients: BackendClients): Authenticator {
  return {
    authenticate: async (token) =>
      (await clients.call(clients.accounts, clients.accounts.authenticate, {}, { token })).username,
  };
}

export function remoteAccountDirectory(clients: BackendClients): AccountDirectory {
  return {
    exists: async (username) => {
      try {
        await clients.call(clients.accounts, clients.accounts.getAccount, { username });
        return true;
      } catch (err) {
        if (err instanceof FlockError && err.code === status.NOT_FOUND) return false;
        throw err;
      }
    },
  };
}

export function remoteFollowGraph(clients: BackendClients): FollowGraph {
  return {
    isFollowing: async (follower, followee) =>
      (await clients.call(clients.graph, clients.graph.getRelationship, { follower, followee })).following,
    followedAmong: async (follower, candidates) =>
      new Set(
        (
          await clients.call(clients.graph, clients.graph.followedAmong, {
            follower,
            candidates: [...candidates],
          })
        ).followed,
      ),
    followersPage: (user, after, limit) => userPage(clients, clients.graph.listFollowers, user, after, limit),
    followingPage: (user, after, limit) => userPage(clients, clients.graph.listFollowing, user, after, limit),
  };
}

export function remoteFeedSync(clients: BackendClients): FeedSync {
  return {
    syncFeedWithFollow: async (reader, author) => {
      await clients.call(clients.posts, clients.posts.syncFeedWithFollow, { reader, author });
    },
  };
}

/** One page of a user list. Backends share the cursor format, so one may hand another a position directly. */
async function userPage(
  clients: BackendClients,
  method: BackendClients["graph"]["listFollowers"],
  username: string,
  after: string | undefined,
  limit: number,
): Promise<string[]> {
  const cursor = after === undefined ? "" : encodeCursor(after);
  return (await clients.call(clients.graph, method, { username, limit, cursor })).usernames;
}
