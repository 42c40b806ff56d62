import type { FastifyInstance } from "fastify";
import { pageQuery, pathUsername } from "../api/params.js";
import type { WebContext } from "../context.js";
import { backendApi } from "../backend-api.js";
import { renderPage } from "../render.js";
import { sessionToken, viewerOf } from "./viewer.js";

interface Params {
  username: string;
}

/** Profile pages, follow/unfollow buttons, and the following/followers lists. */
export function profilePages(app: FastifyInstance, ctx: WebContext): void {
  app.get<{ Params: Params }>("/u/:username", async (request, reply) => {
    const username = pathUsername(request.params.username);
    const { limit, cursor } = pageQuery(request.query);
    const api = backendApi(ctx, request);
    const [viewer, profile, page] = await Promise.all([
      viewerOf(request, api),
      api.profile(username),
      api.userPosts(username, limit, cursor),
    ]);
    const other = viewer !== undefined && viewer !== username;
    const [following, followsYou] = other
      ? await Promise.all([api.isFollowing(viewer, username), api.isFollowing(username, viewer)])
      : [false, false];
    return renderPage(reply, "profile", {
      title: `@${username}`,
      viewer,
      profile,
      following,
      followsYou,
      posts: page.posts,
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
        const api = backendApi(ctx, request);
        const token = sessionToken(request, `log in to ${action}`);
        await (action === "follow" ? api.follow(token, username) : api.unfollow(token, username));
        // Following from the feed's suggestions goes back to the feed; otherwise to the profile.
        const back = backTo(request.body);
        return reply.redirect(`${back === "home" ? "/" : `/u/${username}`}?notice=${action}ed`, 303);
      },
    );
  }

  for (const list of ["following", "followers"] as const) {
    app.get<{ Params: Params }>(`/u/:username/${list}`, async (request, reply) => {
      const username = pathUsername(request.params.username);
      const { limit, cursor } = pageQuery(request.query);
      const api = backendApi(ctx, request);
      const [viewer, profile, page] = await Promise.all([
        viewerOf(request, api),
        api.profile(username),
        api[list](username, limit, cursor),
      ]);
      return renderPage(reply, "users", {
        title: list === "following" ? `People @${username} follows` : `People following @${username}`,
        viewer,
        profile,
        list,
        heading: list === "following" ? `People @${username} follows` : `People following @${username}`,
        emptyText:
          list === "following"
            ? `@${username} is not following anyone yet.`
            : `Nobody follows @${username} yet.`,
        users: page.usernames,
        nextHref: page.nextCursor
          ? `/u/${username}/${list}?cursor=${encodeURIComponent(page.nextCursor)}`
          : "",
      });
    });
  }
}

/** The optional `back` field of a follow form: only the known value "home" means anything. */
function backTo(body: unknown): "home" | "profile" {
  const form = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  return Object.hasOwn(form, "back") && form.back === "home" ? "home" : "profile";
}
