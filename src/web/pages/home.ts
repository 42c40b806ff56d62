import type { FastifyInstance } from "fastify";
import { unauthenticated } from "../../shared/errors.js";
import { pageQuery } from "../api/params.js";
import type { WebContext } from "../context.js";
import { flock } from "../flock.js";
import { toHttpError } from "../http-errors.js";
import { renderPage } from "../render.js";
import { formFields } from "./form.js";
import { viewerOf } from "./viewer.js";

const SUGGESTIONS = 8;

/** The home page (feed and compose box, or the landing page) and posting from it. */
export function homePages(app: FastifyInstance, ctx: WebContext): void {
  app.get("/", async (request, reply) => {
    const api = flock(ctx, request);
    const viewer = await viewerOf(request, api);
    if (!viewer) return renderPage(reply, "landing", { title: "Welcome" });
    const { limit, cursor } = pageQuery(request.query);
    const page = await api.feed(viewer.token, limit, cursor);
    const suggestions =
      page.items.length === 0
        ? (await api.searchUsers("", SUGGESTIONS + 1)).filter((u) => u !== viewer.username).slice(0, SUGGESTIONS)
        : [];
    return renderPage(reply, "home", {
      title: "Home",
      viewer: viewer.username,
      posts: page.items,
      nextCursor: page.nextCursor,
      cursor,
      suggestions,
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
      reply.code(400);
      return renderPage(reply, "home", {
        title: "Home",
        viewer: viewer.username,
        error: failure.message,
        draft: text.slice(0, 1000),
        posts: page.items,
        nextCursor: page.nextCursor,
        cursor: "",
        suggestions: [],
      });
    }
  });
}
