import type { FastifyInstance } from "fastify";
import { pageQuery, pathUsername } from "../api/params.js";
import type { WebContext } from "../context.js";
import { backendApi } from "../backend-api.js";
import { renderPage } from "../render.js";
import { pageViewer, sessionToken } from "./viewer.js";

interface Params {
  username: string;
}

/** Profile pages, follow/unfollow buttons, and the following/followers lists. */
export function profilePages(app: FastifyInstance, ctx: WebContext): void {
  app.get<{ Params: Params }>("/u/:username", async (request, reply) => {
    const username = pathUsername(request.params.username);
    const { limit, cursor } = pageQuery(request.query);
    const api = backendApi(ctx, request);
    const { viewer, token, unread } = await pageViewer(request, api);
    const other = viewer !== undefined && viewer !== username;
    const [profile, page, relationships] = await Promise.all([
      api.profile(username),
      api.userPosts(token, username, limit, cursor),
      other ? api.relationships(token, [username]) : undefined,
    ]);
    const relationship = relationships?.get(username);
    return renderPage(reply, "profile", {
      title: profile.displayName ? `${profile.displayName} (@${username})` : `@${username}`,
      viewer,
      unread,
      profile,
      relationship,
      following: relationship?.following ?? false,
      followsYou: relationship?.followedBy ?? false,
      posts: page.posts,
      nextCursor: page.nextCursor,
      cursor,
    });
  });

  const done = { block: "blocked", unblock: "unblocked", mute: "muted", unmute: "unmuted" } as const;
  for (const action of ["block", "unblock", "mute", "unmute"] as const) {
    app.post<{ Params: Params }>(
      `/u/:username/${action}`,
      { preHandler: app.csrfProtection },
      async (request, reply) => {
        const username = pathUsername(request.params.username);
        const token = sessionToken(request, `log in to ${action}`);
        await backendApi(ctx, request).relate(token, username, action);
        return reply.redirect(`/u/${username}?notice=${done[action]}`, 303);
      },
    );
  }

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
      const [{ viewer, unread }, profile, page] = await Promise.all([
        pageViewer(request, api),
        api.profile(username),
        api[list](username, limit, cursor),
      ]);
      return renderPage(reply, "users", {
        title: list === "following" ? `People @${username} follows` : `People following @${username}`,
        viewer,
        unread,
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
