import type { FastifyInstance } from "fastify";
import type { WebContext } from "../context.js";
import { searchAccounts } from "./accounts.js";
import { optionalUser } from "./auth.js";
import { MastodonBackend } from "./backend.js";
import { tag } from "./entities.js";
import { limitOf, paramsOf, text, unprocessable } from "./http.js";

/** Results skipped at most with `offset` (each skipped page is read and thrown away). */
const MAX_OFFSET = 200;

/**
 * GET /api/v2/search: accounts by name prefix, statuses by words and hashtags, hashtags that
 * have posts. Paged by `offset`, as Mastodon does, and without a Link header (a client that
 * follows Link would otherwise never stop).
 */
export function searchRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.get("/api/v2/search", async (request) => {
    const caller = await optionalUser(ctx, request, ["read", "read:search"]);
    const api = new MastodonBackend(ctx, request, caller);
    const params = paramsOf(request);
    const q = (text(params, "q", 200) ?? "").trim();
    if (q === "") throw unprocessable("Validation failed: q is required");
    const type = text(params, "type", 20);
    const limit = limitOf(params, 20, 40);
    const offset = Math.min(
      Math.max(0, Math.trunc(Number(text(params, "offset", 10) ?? 0)) || 0),
      MAX_OFFSET,
    );
    const wants = (which: string) => type === undefined || type === "" || type === which;
    const c = api.clients;

    const accounts = wants("accounts") && offset === 0 ? await searchAccounts(api, q, limit) : [];

    let statuses: Awaited<ReturnType<typeof api.statuses>> = [];
    if (wants("statuses")) {
      const posts = [];
      let cursor = "";
      do {
        const page = await api.run(
          c.call(
            c.posts,
            c.posts.searchPosts,
            { query: q, limit: Math.min(100, offset + limit), cursor },
            api.as(),
          ),
        );
        posts.push(...page.items.map((i) => i.post!));
        cursor = page.nextCursor;
      } while (cursor !== "" && posts.length < offset + limit);
      statuses = await api.statuses(posts.slice(offset, offset + limit));
    }

    const hashtags = [];
    const word = q.replace(/^#/, "").normalize("NFKC").toLowerCase();
    if (wants("hashtags") && offset === 0 && /^[\p{L}\p{N}_]{1,64}$/u.test(word) && !/^[0-9]+$/.test(word)) {
      const page = await api.run(
        c.call(c.posts, c.posts.listTagPosts, { tag: word, limit: 1, cursor: "" }, api.as()),
      );
      if (page.items.length > 0) hashtags.push(tag(api.origin, word));
    }
    return { accounts, statuses, hashtags };
  });
}
