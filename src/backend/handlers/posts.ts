import type { Logger } from "pino";
import type { PostsServiceServer } from "../../gen/flock/posts/v1/posts.js";
import { bearerToken } from "../../grpc/metadata.js";
import { unary } from "./unary.js";
import type { PostsService } from "../../services/posts/service.js";

/** The posts service's gRPC face: decode, call the logic, encode. */
export function postsGrpcHandlers(service: PostsService, log: Logger): PostsServiceServer {
  return {
    createPost: unary(log, "CreatePost", async (req, call) =>
      service.createPost(bearerToken(call.metadata), req.text, req.idempotencyKey, req.requestId),
    ),
    getFeed: unary(log, "GetFeed", async (req, call) =>
      service.getFeed(bearerToken(call.metadata), req.limit, req.cursor),
    ),
    listUserPosts: unary(log, "ListUserPosts", async (req) =>
      service.listUserPosts(req.username, req.limit, req.cursor),
    ),
    countUserPosts: unary(log, "CountUserPosts", async (req) => ({
      count: await service.countUserPosts(req.username),
    })),
  };
}
