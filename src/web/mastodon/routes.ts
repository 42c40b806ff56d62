import fastifyMultipart from "@fastify/multipart";
import type { FastifyInstance } from "fastify";
import type { WebContext } from "../context.js";
import { accountRoutes, registrationNotSupported } from "./accounts.js";
import { isMastodonRequest } from "./auth.js";
import { MastodonError, mastodonErrorOf, originOf } from "./http.js";
import { instanceRoutes } from "./instance.js";
import { notificationRoutes } from "./notifications.js";
import { oauthRoutes } from "./oauth.js";
import { searchRoutes } from "./search.js";
import { notOffered, statusRoutes } from "./statuses.js";
import { DEFAULT_STREAMING_OPTIONS, streamingRoutes, type StreamingOptions } from "./streaming.js";
import { timelineRoutes } from "./timelines.js";

/**
 * The Mastodon client API (issue 15), beside Flock's own JSON API under the same /api/v1.
 *
 * Where a path is both Flock's and Mastodon's (GET /api/v1/notifications, POST /api/v1/accounts,
 * and unknown /api/v1 paths), the request decides: one carrying an OAuth access token (their
 * shape is `flock_at_…`, never a Flock session's) is a Mastodon client's and gets Mastodon's
 * answer; any other request gets Flock's. The WebSocket upgrade at /api/v1/streaming is
 * Mastodon's; a plain GET there is Flock's own stream. Routes register this with the route
 * constraint below, so neither API needs to know of the other.
 */
const CONSTRAINT = "mastodonClient";
export const MASTODON_CLIENT: Record<string, string> = { [CONSTRAINT]: "yes" };

/** Routes of this layer carry this in their config: app.ts lets them take form and multipart bodies. */
export const MASTODON_ROUTE_CONFIG = { mastodon: true } as const;

const CORS_EXPOSED = "Link, X-RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining, X-Request-Id";

export async function registerMastodonApi(
  app: FastifyInstance,
  ctx: WebContext,
  options: { streaming?: Partial<StreamingOptions> } = {},
): Promise<void> {
  app.addConstraintStrategy({
    name: CONSTRAINT,
    storage() {
      const handlers = new Map<string, unknown>();
      return {
        get: (value: string) => (handlers.get(value) ?? null) as never,
        set: (value: string, store: unknown) => void handlers.set(value, store),
      };
    },
    deriveConstraint: (req) => (isMastodonRequest(req.headers, req.url ?? "") ? "yes" : undefined),
    mustMatchWhenDerived: false,
  });

  await app.register(async (scope) => {
    scope.addHook("onRoute", (route) => {
      route.config = { ...(route.config as object), ...MASTODON_ROUTE_CONFIG } as typeof route.config;
    });

    // Bodies as Mastodon clients send them: JSON (an empty one is no body: masto sends none,
    // megalodon `{}`), forms (registered for the whole app) and multipart (fields only: Flock
    // takes no uploads).
    const parseJson = scope.getDefaultJsonParser("error", "error");
    scope.removeContentTypeParser("application/json");
    scope.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
      const text = typeof body === "string" ? body : body.toString("utf8");
      if (text.trim() === "") return done(null, undefined);
      parseJson(request, text, done);
    });
    await scope.register(fastifyMultipart, {
      attachFieldsToBody: "keyValues",
      limits: { files: 0, fields: 50, fieldSize: 16 * 1024, parts: 50, headerPairs: 100 },
    });

    // Browser clients (Elk, Phanpy) call from their own origins: Mastodon's CORS, without
    // credentials (these routes take bearer tokens, never cookies).
    scope.addHook("onSend", async (request, reply) => {
      if (!request.url.startsWith("/oauth/authorize")) {
        reply.header("access-control-allow-origin", "*");
        reply.header("access-control-expose-headers", CORS_EXPOSED);
      }
    });
    // Preflights (an OPTIONS with Origin and Access-Control-Request-Method); any other OPTIONS
    // is not a route here.
    for (const prefix of ["/api/*", "/oauth/*", "/.well-known/*", "/nodeinfo/*"]) {
      scope.options(prefix, async (request, reply) => {
        const headers = request.headers;
        if (headers.origin === undefined || headers["access-control-request-method"] === undefined)
          throw new MastodonError(404, "Record not found");
        return reply
          .code(204)
          .header("access-control-allow-origin", "*")
          .header("access-control-allow-methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
          .header(
            "access-control-allow-headers",
            String(
              headers["access-control-request-headers"] ?? "Authorization, Content-Type, Idempotency-Key",
            ).slice(0, 500),
          )
          .header("access-control-max-age", "86400")
          .send();
      });
    }

    scope.setErrorHandler((err, request, reply) => {
      const failure = mastodonErrorOf(err);
      if (failure.statusCode >= 500 && failure.statusCode !== 503 && failure.statusCode !== 501)
        request.log.error({ err }, "Mastodon API request failed");
      const body: Record<string, string> = { error: failure.message };
      if (failure.description !== undefined) body.error_description = failure.description;
      return reply.code(failure.statusCode).type("application/json; charset=utf-8").send(body);
    });

    oauthRoutes(scope, ctx);
    instanceRoutes(scope, ctx);
    accountRoutes(scope, ctx, MASTODON_CLIENT);
    statusRoutes(scope, ctx);
    timelineRoutes(scope, ctx);
    notificationRoutes(scope, ctx, MASTODON_CLIENT);
    searchRoutes(scope, ctx);
    streamingRoutes(scope, ctx, { ...DEFAULT_STREAMING_OPTIONS, ...options.streaming });

    // Mastodon's sign-up shares its path with Flock's: an app's token picks this one.
    scope.post("/api/v1/accounts", { constraints: MASTODON_CLIENT }, async (request) =>
      registrationNotSupported(request, originOf(ctx, request)),
    );
    // Known Mastodon endpoints Flock does not offer.
    for (const [method, path] of [
      ["GET", "/api/v1/timelines/public"],
      ["GET", "/api/v1/timelines/list/:id"],
      ["POST", "/api/v1/media"],
      ["POST", "/api/v2/media"],
      ["GET", "/api/v1/polls/:id"],
      ["POST", "/api/v1/reports"],
      ["GET", "/api/v1/favourites"],
      ["POST", "/api/v1/push/subscription"],
      ["GET", "/api/v1/push/subscription"],
      ["GET", "/api/v2/notifications"],
    ] as const) {
      scope.route({ method, url: path, handler: async (_request, reply) => notOffered(reply) });
    }
    // Anything else under /api/v2, and under /api/v1 for a Mastodon client: Mastodon's 404.
    const missing = async () => {
      throw new MastodonError(404, "Record not found");
    };
    const methods = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
    scope.route({ method: [...methods], url: "/api/v2/*", handler: missing });
    scope.route({ method: [...methods], url: "/api/v1/*", constraints: MASTODON_CLIENT, handler: missing });
  });
}
