import type { FastifyInstance } from "fastify";
import { namePrefix, QUERY_MAX } from "../api/discover.js";
import { pageQuery, pathTag } from "../api/params.js";
import type { WebContext } from "../context.js";
import { backendApi } from "../backend-api.js";
import { renderPage } from "../render.js";
import { pageViewer } from "./viewer.js";

const PEOPLE = 12;

/** Search (people by the start of their name, posts by their words and hashtags) and hashtag pages. */
export function searchPages(app: FastifyInstance, ctx: WebContext): void {
  app.get("/search", async (request, reply) => {
    const raw = (request.query as Record<string, unknown>).q;
    const query = typeof raw === "string" ? raw.trim().slice(0, QUERY_MAX) : "";
    const { limit, cursor } = pageQuery(request.query);
    const api = backendApi(ctx, request);
    const pv = await pageViewer(request, api);
    const prefix = namePrefix(query);
    const [users, page] = await Promise.all([
      prefix !== undefined && cursor === "" ? api.searchUsers(prefix, PEOPLE) : Promise.resolve([]),
      query === ""
        ? Promise.resolve({ posts: [], nextCursor: null })
        : api.searchPosts(pv.token, query, limit, cursor),
    ]);
    return renderPage(reply, "search", {
      title: query === "" ? "Search" : `“${query}” · Search`,
      viewer: pv.viewer,
      unread: pv.unread,
      query,
      cursor,
      users,
      posts: page.posts,
      nextHref: page.nextCursor
        ? `/search?q=${encodeURIComponent(query)}&cursor=${encodeURIComponent(page.nextCursor)}`
        : "",
    });
  });

  app.get<{ Params: { tag: string } }>("/tags/:tag", async (request, reply) => {
    const tag = pathTag(request.params.tag);
    const { limit, cursor } = pageQuery(request.query);
    const api = backendApi(ctx, request);
    const pv = await pageViewer(request, api);
    const page = await api.tagPosts(pv.token, tag, limit, cursor);
    return renderPage(reply, "tag", {
      title: `#${tag}`,
      viewer: pv.viewer,
      unread: pv.unread,
      tag,
      cursor,
      posts: page.posts,
      nextHref: page.nextCursor
        ? `/tags/${encodeURIComponent(tag)}?cursor=${encodeURIComponent(page.nextCursor)}`
        : "",
    });
  });
}
