import type { FastifyInstance } from "fastify";
import type { WebContext } from "../context.js";
import { backendApi } from "../backend-api.js";
import { tokenFromHeader } from "../session.js";
import { pageQuery, pathUsername } from "./params.js";

interface Params {
  username: string;
}

/** Public reads about users: profile and counts, their posts, whom they follow and who follows them. */
export function userRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.get<{ Params: Params }>("/api/v1/users/:username", async (request) => {
    return backendApi(ctx, request).profile(pathUsername(request.params.username));
  });

  // With a token, blocks apply: someone who blocks the viewer (or whom they block) shows no posts.
  app.get<{ Params: Params }>("/api/v1/users/:username/posts", async (request) => {
    const username = pathUsername(request.params.username);
    const { limit, cursor } = pageQuery(request.query);
    const api = backendApi(ctx, request);
    const [, page] = await Promise.all([
      api.requireUser(username),
      api.userPosts(tokenFromHeader(request), username, limit, cursor),
    ]);
    return page;
  });

  app.get<{ Params: Params }>("/api/v1/users/:username/following", async (request) => {
    const { limit, cursor } = pageQuery(request.query);
    return backendApi(ctx, request).following(pathUsername(request.params.username), limit, cursor);
  });

  app.get<{ Params: Params }>("/api/v1/users/:username/followers", async (request) => {
    const { limit, cursor } = pageQuery(request.query);
    return backendApi(ctx, request).followers(pathUsername(request.params.username), limit, cursor);
  });
}
