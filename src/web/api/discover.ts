import type { FastifyInstance } from "fastify";
import { invalid } from "../../shared/errors.js";
import type { WebContext } from "../context.js";
import { backendApi } from "../backend-api.js";
import { tokenFromHeader } from "../session.js";
import { pageQuery, pathTag, queryString } from "./params.js";

/** Longest search query taken (the backend's own limit). */
export const QUERY_MAX = 200;
/** A user-name prefix: what SearchAccounts can match. */
const NAME_PREFIX = /^[a-z0-9_]{1,32}$/;

/** Hashtag pages and search: public reads, with the viewer's likes and blocks when a token is sent. */
export function discoverRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.get<{ Params: { tag: string } }>("/api/v1/tags/:tag/posts", async (request) => {
    const tag = pathTag(request.params.tag);
    const { limit, cursor } = pageQuery(request.query);
    return backendApi(ctx, request).tagPosts(tokenFromHeader(request), tag, limit, cursor);
  });

  /** `{users, posts, nextCursor}`: people whose name starts with the query (first page only) and posts holding every word. */
  app.get("/api/v1/search", async (request) => {
    const query = searchQuery(queryString(request.query, "q"));
    const { limit, cursor } = pageQuery(request.query);
    const api = backendApi(ctx, request);
    const prefix = namePrefix(query);
    const [users, page] = await Promise.all([
      cursor === "" && prefix !== undefined ? api.searchUsers(prefix, limit) : Promise.resolve([]),
      api.searchPosts(tokenFromHeader(request), query, limit, cursor),
    ]);
    return { users, posts: page.posts, nextCursor: page.nextCursor };
  });
}

/** A search query: trimmed, 1–200 characters. */
export function searchQuery(raw: string): string {
  const query = raw.trim();
  if (query === "") throw invalid("q is required");
  if (query.length > QUERY_MAX) throw invalid(`q must be at most ${QUERY_MAX} characters`);
  return query;
}

/** The user-name prefix a query may be ("@Al" → "al"), or undefined when it cannot be one. */
export function namePrefix(query: string): string | undefined {
  const prefix = query.replace(/^@/, "").toLowerCase();
  return NAME_PREFIX.test(prefix) ? prefix : undefined;
}
