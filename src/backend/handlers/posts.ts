import type { Logger } from "pino";
import type { PostsServiceServer } from "../../gen/flock/posts/v1/posts.js";
import { bearerToken } from "../../grpc/metadata.js";
import type { PostsService } from "../../services/posts/service.js";
import { unary } from "./unary.js";

/** The posts service's gRPC face: decode, call the logic, encode. */
export function postsGrpcHandlers(service: PostsService, log: Logger): PostsServiceServer {
  return {
    createPost: unary(log, "CreatePost", async (req, call) =>
      service.createPost(
        bearerToken(call.metadata),
        req.text,
        req.idempotencyKey,
        req.requestId,
        req.inReplyTo,
      ),
    ),
    getPost: unary(log, "GetPost", async (req, call) => service.getPost(bearerToken(call.metadata), req.id)),
    getThread: unary(log, "GetThread", async (req, call) =>
      service.getThread(bearerToken(call.metadata), req.id, req.limit, req.cursor),
    ),
    deletePost: unary(log, "DeletePost", async (req, call) => ({
      post: await service.deletePost(bearerToken(call.metadata), req.id),
    })),
    like: unary(log, "Like", async (req, call) => ({
      post: await service.like(bearerToken(call.metadata), req.id),
    })),
    unlike: unary(log, "Unlike", async (req, call) => ({
      post: await service.unlike(bearerToken(call.metadata), req.id),
    })),
    repost: unary(log, "Repost", async (req, call) =>
      service.repostWithId(bearerToken(call.metadata), req.id),
    ),
    unrepost: unary(log, "Unrepost", async (req, call) => ({
      post: await service.unrepost(bearerToken(call.metadata), req.id),
    })),
    listLikes: unary(log, "ListLikes", async (req, call) =>
      service.listLikes(bearerToken(call.metadata), req.id, req.limit, req.cursor),
    ),
    listReposts: unary(log, "ListReposts", async (req, call) =>
      service.listReposts(bearerToken(call.metadata), req.id, req.limit, req.cursor),
    ),
    getFeed: unary(log, "GetFeed", async (req, call) =>
      service.getFeed(bearerToken(call.metadata), req.limit, req.cursor, req.afterId ?? ""),
    ),
    listUserPosts: unary(log, "ListUserPosts", async (req, call) =>
      service.listUserPosts(
        bearerToken(call.metadata),
        req.username,
        req.limit,
        req.cursor,
        req.afterId ?? "",
      ),
    ),
    countUserPosts: unary(log, "CountUserPosts", async (req) => ({
      count: await service.countUserPosts(req.username),
    })),
    listTagPosts: unary(log, "ListTagPosts", async (req, call) =>
      service.listTagPosts(bearerToken(call.metadata), req.tag, req.limit, req.cursor, req.afterId ?? ""),
    ),
    searchPosts: unary(log, "SearchPosts", async (req, call) =>
      service.searchPosts(bearerToken(call.metadata), req.query, req.limit, req.cursor),
    ),
    getProfiles: unary(log, "GetProfiles", async (req) => ({
      profiles: await service.getProfiles(req.usernames, req.ids),
    })),
    getStats: unary(log, "GetStats", async () => service.stats()),
  };
}
