import type { FastifyInstance } from "fastify";
import { normalizeUsername } from "../../shared/validation.js";
import type { WebContext } from "../context.js";
import { backendApi } from "../backend-api.js";
import { tokenFromHeader } from "../session.js";
import { requireToken } from "./params.js";

interface Params {
  username: string;
}

/** Follow and unfollow, both idempotent. */
export function followingRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.put<{ Params: Params }>("/api/v1/following/:username", async (request, reply) => {
    const token = requireToken(tokenFromHeader(request));
    await backendApi(ctx, request).follow(token, normalizeUsername(request.params.username));
    return reply.code(204).send();
  });

  app.delete<{ Params: Params }>("/api/v1/following/:username", async (request, reply) => {
    const token = requireToken(tokenFromHeader(request));
    await backendApi(ctx, request).unfollow(token, normalizeUsername(request.params.username));
    return reply.code(204).send();
  });
}
