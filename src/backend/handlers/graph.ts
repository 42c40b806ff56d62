import type { Logger } from "pino";
import type { GraphServiceServer } from "../../gen/flock/graph/v1/graph.js";
import { bearerToken } from "../../grpc/metadata.js";
import { unary } from "./unary.js";
import type { GraphService } from "../../services/graph/service.js";

/** The graph service's gRPC face: decode, call the logic, encode. */
export function graphGrpcHandlers(service: GraphService, log: Logger): GraphServiceServer {
  return {
    follow: unary(log, "Follow", async (req, call) => {
      await service.follow(bearerToken(call.metadata), req.username);
      return {};
    }),
    unfollow: unary(log, "Unfollow", async (req, call) => {
      await service.unfollow(bearerToken(call.metadata), req.username);
      return {};
    }),
    getRelationship: unary(log, "GetRelationship", async (req) => ({
      following: await service.isFollowing(req.follower, req.followee),
    })),
    getCounts: unary(log, "GetCounts", async (req) => service.counts(req.username)),
    listFollowing: unary(log, "ListFollowing", async (req) =>
      service.listFollowing(req.username, req.limit, req.cursor),
    ),
    listFollowers: unary(log, "ListFollowers", async (req) =>
      service.listFollowers(req.username, req.limit, req.cursor),
    ),
  };
}
