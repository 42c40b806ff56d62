import type { FastifyInstance } from "fastify";
import { unauthenticated } from "../../shared/errors.js";
import { pageQuery } from "../api/params.js";
import type { WebContext } from "../context.js";
import { flock, type Flock, type PostView } from "../backend-api.js";
import { toHttpError } from "../http-errors.js";
import { renderPage } from "../render.js";
import { formFields } from "./form.js";
import { viewerOf, type Viewer } from "./viewer.js";

const SUGGESTIONS = 6;
/** How many of the viewer's follows are read to leave them out of the suggestions. */
const FOLLOWING_CHECKED = 50;

/** The home page (feed and compose box, or the landing page) and posting from it. */
export function homePages(app: FastifyInstance, ctx: WebContext): void {
  app.get("/", async (request, reply) => {
    const api = flock(ctx, request);
    const viewer = await viewerOf(request, api);
    if (!viewer) return renderPage(reply, "landing", { title: "Welcome" });
    const { limit, cursor } = pageQuery(request.query);
    const justPosted = (request.query as Record<string, unknown>).notice === "posted" && cursor === "";
    const [page, latest] = await Promise.all([
      api.feed(viewer.token, limit, cursor),
      justPosted ? api.userPosts(viewer.username, 1, "") : undefined,
    ]);
    const empty = page.items.length === 0 && cursor === "";
    return renderPage(reply, "home", {
      title: "Home",
      viewer: viewer.username,
      posts: page.items,
      nextCursor: page.nextCursor,
      cursor,
      latest: latest?.items[0],
      ...(empty ? await emptyFeedHelp(api, viewer) : { suggestions: [], followsSomeone: false }),
    });
  });

  app.post("/posts", { preHandler: app.csrfProtection }, async (request, reply) => {
    const { text } = formFields(request.body, ["text"]);
    const api = flock(ctx, request);
    const viewer = await viewerOf(request, api);
    if (!viewer) throw unauthenticated("log in to post");
    try {
      await api.createPost(viewer.token, text);
      return reply.redirect("/?notice=posted", 303);
    } catch (err) {
      const failure = toHttpError(err);
      if (failure.statusCode !== 400) throw err;
      const page = await api.feed(viewer.token, 20, "");
      const empty = page.items.length === 0;
      reply.code(400);
      return renderPage(reply, "home", {
        title: "Home",
        viewer: viewer.username,
        error: failure.message,
        draft: text.slice(0, 1000),
        posts: page.items,
        nextCursor: page.nextCursor,
        cursor: "",
        latest: undefined as PostView | undefined,
        ...(empty ? await emptyFeedHelp(api, viewer) : { suggestions: [], followsSomeone: false }),
      });
    }
  });
}

/** For an empty feed: whether the viewer follows anyone, and a few people they do not follow yet. */
async function emptyFeedHelp(api: Flock, viewer: Viewer) {
  const [people, following] = await Promise.all([
    api.searchUsers("", SUGGESTIONS + FOLLOWING_CHECKED + 1),
    api.following(viewer.username, FOLLOWING_CHECKED, ""),
  ]);
  const followed = new Set(following.items);
  const suggestions = people.filter((u) => u !== viewer.username && !followed.has(u)).slice(0, SUGGESTIONS);
  return { suggestions, followsSomeone: followed.size > 0 };
}
