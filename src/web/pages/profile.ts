import type { FastifyInstance } from "fastify";
import { unauthenticated } from "../../shared/errors.js";
import { pageQuery, pathUsername } from "../api/params.js";
import type { WebContext } from "../context.js";
import { flock } from "../flock.js";
import { renderPage } from "../render.js";
import { viewerOf } from "./viewer.js";

interface Params {
  username: string;
}

/** Profile pages, follow/unfollow buttons, and the following/followers lists. */
export function profilePages(app: FastifyInstance, ctx: WebContext): void {
  app.get<{ Params: Params }>("/u/:username", async (request, reply) => {
    const username = pathUsername(request.params.username);
    const { limit, cursor } = pageQuery(request.query);
    const api = flock(ctx, request);
    const [viewer, profile, page] = await Promise.all([
      viewerOf(request, api),
      api.profile(username),
      api.userPosts(username, limit, cursor),
    ]);
    const following = viewer ? await api.isFollowing(viewer.username, username) : false;
    return renderPage(reply, "profile", {
      title: `@${username}`,
      viewer: viewer?.username,
      profile,
      following,
      posts: page.items,
      nextCursor: page.nextCursor,
      cursor,
    });
  });

  for (const action of ["follow", "unfollow"] as const) {
    app.post<{ Params: Params }>(
      `/u/:username/${action}`,
      { preHandler: app.csrfProtection },
      async (request, reply) => {
        const username = pathUsername(request.params.username);
        const api = flock(ctx, request);
        const viewer = await viewerOf(request, api);
        if (!viewer) throw unauthenticated(`log in to ${action}`);
        await (action === "follow" ? api.follow(viewer.token, username) : api.unfollow(viewer.token, username));
        return reply.redirect(`/u/${username}?notice=${action}ed`, 303);
      },
    );
  }

  for (const list of ["following", "followers"] as const) {
    app.get<{ Params: Params }>(`/u/:username/${list}`, async (request, reply) => {
      const username = pathUsername(request.params.username);
      const { limit, cursor } = pageQuery(request.query);
      const api = flock(ctx, request);
      const [viewer, , page] = await Promise.all([
        viewerOf(request, api),
        api.profile(username),
        api[list](username, limit, cursor),
      ]);
      return renderPage(reply, "users", {
        title: `@${username} ${list}`,
        viewer: viewer?.username,
        heading: list === "following" ? `@${username} follows` : `People following @${username}`,
        emptyText: list === "following" ? "Not following anyone yet." : "No followers yet.",
        users: page.items,
        nextHref: page.nextCursor ? `/u/${username}/${list}?cursor=${encodeURIComponent(page.nextCursor)}` : "",
      });
    });
  }
}
