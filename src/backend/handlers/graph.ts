import type { Logger } from "pino";
import type { GraphServiceServer } from "../../gen/flock/graph/v1/graph.js";
import { bearerToken } from "../../grpc/metadata.js";
import type { GraphService } from "../../services/graph/service.js";
import { unary } from "./unary.js";

/** The graph service's gRPC face: decode, call the logic, encode. */
export function graphGrpcHandlers(service: GraphService, log: Logger): GraphServiceServer {
  const change = (name: string, act: (token: string, username: string) => Promise<void>) =>
    unary<{ username: string }, Record<string, never>>(log, name, async (req, call) => {
      await act(bearerToken(call.metadata), req.username);
      return {};
    });
  return {
    follow: change("Follow", (token, user) => service.follow(token, user)),
    unfollow: change("Unfollow", (token, user) => service.unfollow(token, user)),
    block: change("Block", (token, user) => service.block(token, user)),
    unblock: change("Unblock", (token, user) => service.unblock(token, user)),
    mute: change("Mute", (token, user) => service.mute(token, user)),
    unmute: change("Unmute", (token, user) => service.unmute(token, user)),
    getRelationship: unary(log, "GetRelationship", async (req) => ({
      following: await service.isFollowing(req.follower, req.followee),
    })),
    getRelationships: unary(log, "GetRelationships", async (req, call) => ({
      relationships: await service.relationships(bearerToken(call.metadata), req.usernames),
    })),
    getCounts: unary(log, "GetCounts", async (req) => service.counts(req.username)),
    listFollowing: unary(log, "ListFollowing", async (req) =>
      service.listFollowing(req.username, req.limit, req.cursor),
    ),
    listFollowers: unary(log, "ListFollowers", async (req) =>
      service.listFollowers(req.username, req.limit, req.cursor),
    ),
    listBlocks: unary(log, "ListBlocks", async (req, call) =>
      service.listBlocks(bearerToken(call.metadata), req.limit, req.cursor),
    ),
    listMutes: unary(log, "ListMutes", async (req, call) =>
      service.listMutes(bearerToken(call.metadata), req.limit, req.cursor),
    ),
  };
}
