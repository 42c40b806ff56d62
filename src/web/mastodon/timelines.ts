import type { FastifyInstance, FastifyReply } from "fastify";
import type { FeedItem } from "../../gen/flock/posts/v1/posts.js";
import { encodeCursor } from "../../shared/cursor.js";
import type { WebContext } from "../context.js";
import { optionalUser, requireUser } from "./auth.js";
import { MastodonBackend } from "./backend.js";
import type { MastodonStatus } from "./entities.js";
import { flag, idParam, limitOf, setPageLinks, text, paramsOf, type Params } from "./http.js";

/** Statuses a page holds by default and at most (Mastodon's: 20, 40). */
export const STATUS_LIMIT = 20;
export const STATUS_LIMIT_MAX = 40;

type Fetch = (limit: number, cursor: string, afterId: string) => Promise<FeedItem[]>;

/**
 * A page of statuses with Mastodon's id paging (ids are commit revisions, so they sort as
 * Mastodon's do): `max_id` (older than), `since_id` (the newest above), `min_id` (the oldest
 * just above, for catching up), `limit`; the Link header points `next` below the page's last
 * id and `prev` above its first, keeping `keep` parameters. `accept` drops entries after the
 * fetch (a page may then be shorter than the limit; the links still move on).
 */
export async function statusPage(
  api: MastodonBackend,
  reply: FastifyReply,
  params: Params,
  path: string,
  keep: readonly string[],
  fetch: Fetch,
  accept: (item: FeedItem) => boolean = () => true,
): Promise<MastodonStatus[]> {
  const limit = limitOf(params, STATUS_LIMIT, STATUS_LIMIT_MAX);
  const maxId = idParam(params, "max_id");
  const sinceId = idParam(params, "since_id");
  const minId = idParam(params, "min_id");
  const cursor = maxId === undefined ? "" : encodeCursor(maxId);
  let items = await fetch(limit, cursor, minId ?? "");
  if (minId === undefined && sinceId !== undefined)
    items = items.filter((i) => Number(i.entryId) > Number(sinceId));
  const pageIds = items.map((i) => i.entryId);
  const statuses = await api.feedStatuses(items.filter(accept));
  const kept: Record<string, string | undefined> = { limit: text(params, "limit", 10) };
  for (const name of keep) kept[name] = text(params, name, 200);
  setPageLinks(reply, api.origin, path, kept, pageIds);
  return statuses;
}

/** The home timeline and hashtag timelines. */
export function timelineRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.get("/api/v1/timelines/home", async (request, reply) => {
    const caller = await requireUser(ctx, request, ["read", "read:statuses"]);
    const api = new MastodonBackend(ctx, request, caller);
    const c = api.clients;
    return statusPage(
      api,
      reply,
      paramsOf(request),
      "/api/v1/timelines/home",
      [],
      async (limit, cursor, afterId) => {
        const page = await api.run(c.call(c.posts, c.posts.getFeed, { limit, cursor, afterId }, api.as()));
        return page.items;
      },
    );
  });

  app.get<{ Params: { tag: string } }>("/api/v1/timelines/tag/:tag", async (request, reply) => {
    const caller = await optionalUser(ctx, request, ["read", "read:statuses"]);
    const api = new MastodonBackend(ctx, request, caller);
    const params = paramsOf(request);
    // Every Flock post is local and none has media.
    if (flag(params, "remote") || flag(params, "only_media")) return [];
    const tag = request.params.tag.replace(/^#/, "");
    if (!/^[\p{L}\p{N}_]{1,64}$/u.test(tag) || /^[0-9]+$/.test(tag)) return [];
    const c = api.clients;
    return statusPage(
      api,
      reply,
      params,
      `/api/v1/timelines/tag/${encodeURIComponent(tag)}`,
      ["local"],
      async (limit, cursor, afterId) =>
        (await api.run(c.call(c.posts, c.posts.listTagPosts, { tag, limit, cursor, afterId }, api.as())))
          .items,
    );
  });
}
