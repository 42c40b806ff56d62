import type { FastifyInstance, FastifyRequest } from "fastify";
import { encodeCursor } from "../../shared/cursor.js";
import type { WebContext } from "../context.js";
import { requireUser } from "./auth.js";
import { MastodonBackend } from "./backend.js";
import { FLOCK_TYPES_OF } from "./entities.js";
import { idParam, limitOf, list, notFound, paramsOf, setPageLinks, text } from "./http.js";

const READ = ["read", "read:notifications"];
const WRITE = ["write", "write:notifications"];
const ALL_FLOCK_TYPES = Object.values(FLOCK_TYPES_OF).flat();
const ID = /^[1-9][0-9]{0,15}$/;

/**
 * Notifications: the list (Mastodon's types and id paging), one, dismiss one, clear all. The
 * list's path is also Flock's own GET /api/v1/notifications: this one answers requests with an
 * OAuth token (see `MASTODON_CLIENT` in routes.ts).
 */
export function notificationRoutes(
  app: FastifyInstance,
  ctx: WebContext,
  constraints: Record<string, string>,
): void {
  app.get("/api/v1/notifications", { constraints }, async (request, reply) => {
    const caller = await requireUser(ctx, request, READ);
    const api = new MastodonBackend(ctx, request, caller);
    const params = paramsOf(request);
    const include = list(params, "types", 20);
    const exclude = list(params, "exclude_types", 20).flatMap((t) => FLOCK_TYPES_OF[t] ?? []);
    const types = (
      include.length > 0 ? include.flatMap((t) => FLOCK_TYPES_OF[t] ?? []) : ALL_FLOCK_TYPES
    ).filter((t) => !exclude.includes(t));
    // Asked only for types Flock has none of (polls, edits…): there are none.
    if (types.length === 0) return [];
    const limit = limitOf(params, 40, 80);
    const maxId = idParam(params, "max_id");
    const sinceId = idParam(params, "since_id");
    const minId = idParam(params, "min_id");
    const accountId = text(params, "account_id", 40);
    const from =
      accountId === undefined ? undefined : (await api.profiles([], [accountId])).keys().next().value;
    if (accountId !== undefined && from === undefined) return [];
    const c = api.clients;
    const page = await api.run(
      c.call(
        c.notifications,
        c.notifications.listNotifications,
        {
          limit,
          cursor: maxId === undefined ? "" : encodeCursor(maxId),
          types: types.length === ALL_FLOCK_TYPES.length ? [] : types,
          afterId: minId ?? "",
        },
        api.as(),
      ),
    );
    let shown = page.notifications;
    if (minId === undefined && sinceId !== undefined)
      shown = shown.filter((n) => Number(n.id) > Number(sinceId));
    const ids = shown.map((n) => n.id);
    if (from !== undefined) shown = shown.filter((n) => n.from === from);
    const kept: Record<string, string | undefined> = {
      limit: text(params, "limit", 10),
      account_id: accountId,
    };
    setPageLinks(reply, api.origin, "/api/v1/notifications", kept, ids);
    return api.notifications(shown);
  });

  app.get<{ Params: { id: string } }>("/api/v1/notifications/:id", async (request) => {
    const caller = await requireUser(ctx, request, READ);
    const api = new MastodonBackend(ctx, request, caller);
    if (!ID.test(request.params.id)) throw notFound();
    const c = api.clients;
    const one = await api.run(
      c.call(c.notifications, c.notifications.getNotification, { id: request.params.id }, api.as()),
    );
    return (await api.notifications([one]))[0];
  });

  const dismiss = async (ctxId: string, request: FastifyRequest) => {
    const caller = await requireUser(ctx, request, WRITE);
    const api = new MastodonBackend(ctx, request, caller);
    if (!ID.test(ctxId)) throw notFound();
    const c = api.clients;
    await api.run(c.call(c.notifications, c.notifications.dismiss, { id: ctxId, upTo: "" }, api.as()));
    return {};
  };
  app.post<{ Params: { id: string } }>("/api/v1/notifications/:id/dismiss", async (request) =>
    dismiss(request.params.id, request),
  );
  // The older form, with the id as a parameter.
  app.post("/api/v1/notifications/dismiss", async (request) =>
    dismiss(text(paramsOf(request), "id", 40) ?? "", request),
  );

  app.post("/api/v1/notifications/clear", async (request) => {
    const caller = await requireUser(ctx, request, WRITE);
    const api = new MastodonBackend(ctx, request, caller);
    const c = api.clients;
    await api.run(c.call(c.notifications, c.notifications.dismiss, { id: "", upTo: "" }, api.as()));
    return {};
  });
}
