import type { FastifyInstance } from "fastify";
import { normalizeBio, normalizeDisplayName } from "../../shared/validation.js";
import type { WebContext } from "../context.js";
import { backendApi } from "../backend-api.js";
import { toHttpError } from "../http-errors.js";
import { renderPage } from "../render.js";
import { formFields } from "./form.js";
import { sessionToken } from "./viewer.js";

/** Editing your profile: display name and bio. */
export function settingsPages(app: FastifyInstance, ctx: WebContext): void {
  app.get("/settings/profile", async (request, reply) => {
    const token = sessionToken(request, "log in to edit your profile");
    const api = backendApi(ctx, request);
    const [viewer, unread] = await Promise.all([api.whoAmI(token), api.unreadCount(token)]);
    const account = await api.account(viewer);
    return renderPage(reply, "settings", {
      title: "Edit profile",
      viewer,
      unread,
      displayName: account.displayName,
      bio: account.bio,
    });
  });

  // An empty display name means none (the username is shown), an empty bio clears it.
  app.post("/settings/profile", { preHandler: app.csrfProtection }, async (request, reply) => {
    const { displayName, bio } = formFields(request.body, ["displayName", "bio"]);
    const token = sessionToken(request, "log in to edit your profile");
    const api = backendApi(ctx, request);
    try {
      const profile = await api.updateProfile(token, normalizeDisplayName(displayName), normalizeBio(bio));
      return reply.redirect(`/u/${profile.username}?notice=saved`, 303);
    } catch (err) {
      const failure = toHttpError(err);
      if (failure.statusCode !== 400) throw err;
      const [viewer, unread] = await Promise.all([api.whoAmI(token), api.unreadCount(token)]);
      reply.code(400);
      return renderPage(reply, "settings", {
        title: "Edit profile",
        viewer,
        unread,
        error: failure.message,
        displayName: displayName.slice(0, 500),
        bio: bio.slice(0, 2000),
      });
    }
  });
}
