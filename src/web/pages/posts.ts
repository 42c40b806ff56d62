import type { FastifyInstance, FastifyReply } from "fastify";
import { pageQuery, pathPostId } from "../api/params.js";
import { backendApi, type BackendApi, type Reaction } from "../backend-api.js";
import type { WebContext } from "../context.js";
import { renderPage, safeBack, withNotice } from "../render.js";
import { optionalFormField, pageViewer, sessionToken, wantsJson, type PageViewer } from "./viewer.js";

interface Params {
  id: string;
}

/** A post's page (its conversation and a reply box), reacting to posts, deleting your own. */
export function postPages(app: FastifyInstance, ctx: WebContext): void {
  app.get<{ Params: Params }>("/posts/:id", async (request, reply) => {
    const id = pathPostId(request.params.id);
    const { limit, cursor } = pageQuery(request.query);
    const api = backendApi(ctx, request);
    return renderThread(reply, api, await pageViewer(request, api), id, { limit, cursor });
  });

  for (const list of ["likes", "reposts"] as const) {
    app.get<{ Params: Params }>(`/posts/:id/${list}`, async (request, reply) => {
      const id = pathPostId(request.params.id);
      const { limit, cursor } = pageQuery(request.query);
      const api = backendApi(ctx, request);
      const pv = await pageViewer(request, api);
      const [post, page] = await Promise.all([
        api.post(pv.token, id),
        api[list](pv.token, id, limit, cursor),
      ]);
      const heading = list === "likes" ? "Liked by" : "Reposted by";
      return renderPage(reply, "users", {
        title: `${heading} · post by @${post.author}`,
        viewer: pv.viewer,
        unread: pv.unread,
        crumb: { href: `/posts/${id}`, text: `Post by @${post.author}` },
        heading,
        emptyText:
          list === "likes" ? "Nobody has liked this post yet." : "Nobody has reposted this post yet.",
        users: page.usernames,
        nextHref: page.nextCursor ? `/posts/${id}/${list}?cursor=${encodeURIComponent(page.nextCursor)}` : "",
      });
    });
  }

  // Each button is a form: without JavaScript it posts and comes back (to `back`, at the post);
  // the page's script asks for JSON instead and updates the button in place.
  const reactions: Reaction[] = ["like", "unlike", "repost", "unrepost"];
  for (const action of reactions) {
    app.post<{ Params: Params }>(
      `/posts/:id/${action}`,
      { preHandler: app.csrfProtection },
      async (request, reply) => {
        const id = pathPostId(request.params.id);
        const token = sessionToken(request, `log in to ${action}`);
        const post = await backendApi(ctx, request).react(token, id, action);
        if (wantsJson(request)) return reply.send(post);
        return reply.redirect(
          withNotice(safeBack(optionalFormField(request.body, "back")), undefined, `p-${id}`),
          303,
        );
      },
    );
  }

  app.post<{ Params: Params }>(
    "/posts/:id/delete",
    { preHandler: app.csrfProtection },
    async (request, reply) => {
      const id = pathPostId(request.params.id);
      const token = sessionToken(request, "log in to delete your posts");
      const deleted = await backendApi(ctx, request).deletePost(token, id);
      let back = safeBack(optionalFormField(request.body, "back"));
      // Deleted from its own page: go to the post it answered, or home.
      if (back.split("?")[0] === `/posts/${id}`)
        back = deleted.inReplyTo ? `/posts/${deleted.inReplyTo}` : "/";
      return reply.redirect(withNotice(back, "deleted"), 303);
    },
  );
}

/** The conversation page: ancestors, the post, a page of replies, and the reply box. */
export async function renderThread(
  reply: FastifyReply,
  api: BackendApi,
  pv: PageViewer,
  id: string,
  options: { limit?: number; cursor?: string; draft?: string; error?: string } = {},
): Promise<FastifyReply> {
  const thread = await api.thread(pv.token, id, options.limit ?? 20, options.cursor ?? "");
  const author = thread.post.displayName
    ? `${thread.post.displayName} (@${thread.post.author})`
    : `@${thread.post.author}`;
  return renderPage(reply, "thread", {
    title: `Post by ${author}`,
    viewer: pv.viewer,
    unread: pv.unread,
    thread,
    cursor: options.cursor ?? "",
    draft: options.draft,
    error: options.error,
    back: `/posts/${id}`,
  });
}
