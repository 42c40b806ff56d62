import type { FastifyInstance } from "fastify";
import { invalid } from "../../shared/errors.js";
import { isPostId, pageQuery } from "../api/params.js";
import { backendApi, type ApiPost, type BackendApi } from "../backend-api.js";
import type { WebContext } from "../context.js";
import { toHttpError } from "../http-errors.js";
import { renderPage, withNotice } from "../render.js";
import { tokenFromCookie } from "../session.js";
import { formFields } from "./form.js";
import { renderThread } from "./posts.js";
import { isUnauthenticated, optionalFormField, sessionToken } from "./viewer.js";

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
    const [feed, unread] = await Promise.all([
      api.feed(token, limit, cursor).catch((err: unknown) => {
        if (isUnauthenticated(err)) return undefined;
        throw err;
      }),
      api.unreadCount(token),
    ]);
    if (!feed) return landing();
    const { viewer, page } = feed;
    const justPosted = (request.query as Record<string, unknown>).notice === "posted" && cursor === "";
    const latest = justPosted ? (await api.userPosts(token, viewer, 1, "")).posts[0] : undefined;
    const empty = page.posts.length === 0 && cursor === "";
    return renderPage(reply, "home", {
      title: "Home",
      viewer,
      unread,
      live: cursor === "",
      posts: page.posts,
      nextCursor: page.nextCursor,
      cursor,
      latest,
      ...(empty ? await emptyFeedHelp(api, viewer) : { suggestions: [], followsSomeone: false }),
    });
  });

  // A post, or (with `inReplyTo`) a reply, which goes back to the conversation it joins.
  app.post("/posts", { preHandler: app.csrfProtection }, async (request, reply) => {
    const { text } = formFields(request.body, ["text"]);
    const inReplyTo = optionalFormField(request.body, "inReplyTo");
    const token = sessionToken(request, "log in to post");
    const api = backendApi(ctx, request);
    if (inReplyTo !== "") {
      if (!isPostId(inReplyTo)) throw invalid("inReplyTo must be a post id");
      try {
        const posted = await api.createPost(token, text, "", inReplyTo);
        return reply.redirect(withNotice(`/posts/${inReplyTo}`, "replied", `p-${posted.id}`), 303);
      } catch (err) {
        const failure = toHttpError(err);
        if (failure.statusCode !== 400) throw err;
        const viewer = await api.whoAmI(token);
        reply.code(400);
        return renderThread(reply, api, { viewer, token, unread: await api.unreadCount(token) }, inReplyTo, {
          draft: text.slice(0, 1000),
          error: failure.message,
        });
      }
    }
    try {
      await api.createPost(token, text);
      return reply.redirect("/?notice=posted", 303);
    } catch (err) {
      const failure = toHttpError(err);
      if (failure.statusCode !== 400) throw err;
      const [{ viewer, page }, unread] = await Promise.all([api.feed(token, 20, ""), api.unreadCount(token)]);
      const empty = page.posts.length === 0;
      reply.code(400);
      return renderPage(reply, "home", {
        title: "Home",
        viewer,
        unread,
        back: "/",
        live: true,
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
