import type { FastifyInstance } from "fastify";
import { normalizeUsername } from "../../shared/validation.js";
import type { WebContext } from "../context.js";
import { backendApi } from "../backend-api.js";
import { tokenFromHeader } from "../session.js";
import { pageQuery, requireToken } from "./params.js";

interface Params {
  username: string;
}

/**
 * Blocks and mutes, each idempotent. A block ends any follow both ways and keeps the blocked
 * account from following, replying to, liking, reposting or seeing the blocker's posts; a
 * mute hides an account from the muter's feed and notifications only.
 */
export function relationRoutes(app: FastifyInstance, ctx: WebContext): void {
  const kinds = [
    ["blocks", "block", "unblock"],
    ["mutes", "mute", "unmute"],
  ] as const;
  for (const [list, add, remove] of kinds) {
    app.put<{ Params: Params }>(`/api/v1/${list}/:username`, async (request, reply) => {
      const token = requireToken(tokenFromHeader(request));
      await backendApi(ctx, request).relate(token, normalizeUsername(request.params.username), add);
      return reply.code(204).send();
    });

    app.delete<{ Params: Params }>(`/api/v1/${list}/:username`, async (request, reply) => {
      const token = requireToken(tokenFromHeader(request));
      await backendApi(ctx, request).relate(token, normalizeUsername(request.params.username), remove);
      return reply.code(204).send();
    });

    app.get(`/api/v1/${list}`, async (request) => {
      const token = requireToken(tokenFromHeader(request));
      const { limit, cursor } = pageQuery(request.query);
      return backendApi(ctx, request)[list](token, limit, cursor);
    });
  }
}
