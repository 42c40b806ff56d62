import type { FastifyInstance } from "fastify";
import { pageQuery } from "../api/params.js";
import type { WebContext } from "../context.js";
import { backendApi } from "../backend-api.js";
import { renderPage } from "../render.js";
import { sessionToken } from "./viewer.js";

/** The notifications page: newest first; opening it marks them read. */
export function notificationPages(app: FastifyInstance, ctx: WebContext): void {
  app.get("/notifications", async (request, reply) => {
    const token = sessionToken(request, "log in to see your notifications");
    const { limit, cursor } = pageQuery(request.query);
    const api = backendApi(ctx, request);
    const [viewer, page] = await Promise.all([api.whoAmI(token), api.notifications(token, limit, cursor)]);
    // The newest `unread` ones are new to the reader: shown as such this once, then read.
    const fresh = cursor === "" ? page.unread : 0;
    const newest = page.notifications[0];
    const unread =
      fresh > 0 && newest ? await api.markRead(token, newest.id) : cursor === "" ? 0 : page.unread;
    return renderPage(reply, "notifications", {
      title: "Notifications",
      current: "notifications",
      viewer,
      unread,
      notifications: page.notifications,
      fresh,
      cursor,
      nextHref: page.nextCursor ? `/notifications?cursor=${encodeURIComponent(page.nextCursor)}` : "",
    });
  });
}
