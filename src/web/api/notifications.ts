import type { FastifyInstance } from "fastify";
import { invalid } from "../../shared/errors.js";
import type { WebContext } from "../context.js";
import { backendApi } from "../backend-api.js";
import { tokenFromHeader } from "../session.js";
import { isPostId, objectBody, pageQuery, requireToken } from "./params.js";

/** The token's user's notifications, newest first, and their read mark. */
export function notificationRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.get("/api/v1/notifications", async (request) => {
    const token = requireToken(tokenFromHeader(request));
    const { limit, cursor } = pageQuery(request.query);
    return backendApi(ctx, request).notifications(token, limit, cursor);
  });

  /** `{upTo}`: every notification up to that id is read (the mark never moves down). */
  app.post("/api/v1/notifications/read", async (request) => {
    const token = requireToken(tokenFromHeader(request));
    const upTo = Object.hasOwn(objectBody(request.body), "upTo")
      ? (request.body as Record<string, unknown>).upTo
      : undefined;
    // Ids are strings; a client that sends the number is understood too.
    const id = typeof upTo === "number" && Number.isSafeInteger(upTo) ? String(upTo) : upTo;
    if (!isPostId(id)) throw invalid("upTo must be a notification id");
    return { unread: await backendApi(ctx, request).markRead(token, id) };
  });
}
