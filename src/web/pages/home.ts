import type { FastifyInstance } from "fastify";
import { pageQuery } from "../api/params.js";
import { backendApi, type ApiPost, type BackendApi } from "../backend-api.js";
import type { WebContext } from "../context.js";
import { toHttpError } from "../http-errors.js";
import { renderPage } from "../render.js";
import { tokenFromCookie } from "../session.js";
import { formFields } from "./form.js";
import { isUnauthenticated, sessionToken } from "./viewer.js";

const SUGGESTIONS = 6;
/** How many of the viewer's follows are read to leave them out of the suggestions. */
const FOLLOWING_CHECKED = 50;

/** The home page (feed and compose box, or the landing page) and posting from it. */
export function homePages(app: FastifyInstance, ctx: WebContext): void {
  app.get("/", async (request, reply) => {
    const api = backendApi(ctx, request);
    const landing = () => renderPage(reply, "landing", { title: "Welcome" });
    const token = tokenFromCookie(request);
    if (token === "") return landing();
    const { limit, cursor } = pageQuery(request.query);
    // The feed call checks the session and names the viewer: one check per page.
    const feed = await api.feed(token, limit, cursor).catch((err: unknown) => {
      if (isUnauthenticated(err)) return undefined;
      throw err;
    });
    if (!feed) return landing();
    const { viewer, page } = feed;
    const justPosted = (request.query as Record<string, unknown>).notice === "posted" && cursor === "";
    const latest = justPosted ? (await api.userPosts(viewer, 1, "")).posts[0] : undefined;
    const empty = page.posts.length === 0 && cursor === "";
    return renderPage(reply, "home", {
      title: "Home",
      viewer,
      posts: page.posts,
      nextCursor: page.nextCursor,
      cursor,
      latest,
      ...(empty ? await emptyFeedHelp(api, viewer) : { suggestions: [], followsSomeone: false }),
    });
  });

  app.post("/posts", { preHandler: app.csrfProtection }, async (request, reply) => {
    const { text } = formFields(request.body, ["text"]);
    const token = sessionToken(request, "log in to post");
    const api = backendApi(ctx, request);
    try {
      await api.createPost(token, text);
      return reply.redirect("/?notice=posted", 303);
    } catch (err) {
      const failure = toHttpError(err);
      if (failure.statusCode !== 400) throw err;
      const { viewer, page } = await api.feed(token, 20, "");
      const empty = page.posts.length === 0;
      reply.code(400);
      return renderPage(reply, "home", {
        title: "Home",
        viewer,
        error: failure.message,
        draft: text.slice(0, 1000),
        posts: page.posts,
        nextCursor: page.nextCursor,
        cursor: "",
        latest: undefined as ApiPost | undefined,
        ...(empty ? await emptyFeedHelp(api, viewer) : { suggestions: [], followsSomeone: false }),
      });
    }
  });
}

/** For an empty feed: whether the viewer follows anyone, and a few people they do not follow yet. */
async function emptyFeedHelp(api: BackendApi, viewer: string) {
  const [people, following] = await Promise.all([
    api.searchUsers("", SUGGESTIONS + FOLLOWING_CHECKED + 1),
    api.following(viewer, FOLLOWING_CHECKED, ""),
  ]);
  const followed = new Set(following.usernames);
  const suggestions = people.filter((u) => u !== viewer && !followed.has(u)).slice(0, SUGGESTIONS);
  return { suggestions, followsSomeone: followed.size > 0 };
}
