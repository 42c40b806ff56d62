import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomUUID } from "node:crypto";
import fastifyCookie from "@fastify/cookie";
import fastifyCsrf from "@fastify/csrf-protection";
import fastifyFormbody from "@fastify/formbody";
import fastifyStatic from "@fastify/static";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from "fastify";
import { registerWebOps } from "./ops/web-ops.js";
import { accountRoutes } from "./api/accounts.js";
import { followingRoutes } from "./api/following.js";
import { discoverRoutes } from "./api/discover.js";
import { meRoutes } from "./api/me.js";
import { notificationRoutes } from "./api/notifications.js";
import { postRoutes } from "./api/posts.js";
import { relationRoutes } from "./api/relations.js";
import { streamingRoutes } from "./api/streaming.js";
import { userRoutes } from "./api/users.js";
import { DEFAULT_LIVE_OPTIONS, LiveStreams, type LiveOptions } from "./live/relay.js";
import type { WebContext } from "./context.js";
import { registerMastodonApi } from "./mastodon/routes.js";
import { toHttpError } from "./http-errors.js";
import { registerSecurityHeaders } from "./security-headers.js";
import { CSRF_HMAC_KEY, csrfBinding } from "./session.js";
import { authPages } from "./pages/auth.js";
import { homePages } from "./pages/home.js";
import { notificationPages } from "./pages/notifications.js";
import { postPages } from "./pages/posts.js";
import { profilePages } from "./pages/profile.js";
import { searchPages } from "./pages/search.js";
import { settingsPages } from "./pages/settings.js";
import { renderPage } from "./render.js";

/** Request bodies are small (a post is 280 characters); anything bigger is refused with 413. */
export const BODY_LIMIT_BYTES = 16 * 1024;
const REQUEST_TIMEOUT_MS = 15_000;

/** Only a front door on this host, unless told otherwise (TRUSTED_PROXIES). */
const DEFAULT_TRUSTED_PROXIES = ["127.0.0.1", "::1"];

export interface WebAppOptions {
  /** Addresses (or CIDR blocks) of the proxies whose X-Forwarded-For entries are believed. */
  trustedProxies?: readonly string[];
  /** Live streams' heartbeat and re-subscribe timing (tests shorten them). */
  live?: Partial<LiveOptions>;
}

/**
 * The stateless web tier: HTML pages and the JSON API, both composing backend calls.
 * It keeps nothing between requests, so any replica serves any request.
 */
export async function buildWebApp(ctx: WebContext, options: WebAppOptions = {}) {
  const app = Fastify({
    loggerInstance: ctx.log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // Security: the client's address (the login throttle counts per address) is the last
    // X-Forwarded-For entry added by a trusted proxy; entries a client wrote are never believed.
    trustProxy: [...(options.trustedProxies ?? DEFAULT_TRUSTED_PROXIES)],
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && /^[A-Za-z0-9-]{8,64}$/.test(given) ? given : randomUUID();
    },
    // Security: a malformed URL (bad %-encoding, an over-long path segment) fails before any
    // route or hook runs; answer it with a plain 4xx in the API's error shape, echoing nothing.
    frameworkErrors: (err, _request, reply) => {
      const failure = toHttpError(err);
      void (reply as FastifyReply)
        .code(failure.statusCode)
        .header("x-content-type-options", "nosniff")
        .header("cache-control", "no-store")
        .send({ error: { code: failure.code, message: failure.message } });
    },
    // While closing (after SIGTERM and the drain), requests still arriving on open connections are
    // served, not refused with 503: each answer carries `Connection: close` (web/ops/shutdown.ts).
    return503OnClosing: false,
  });

  registerSecurityHeaders(app, ctx.cookieSecure);
  acceptEmptyJsonBodies(app);
  await app.register(fastifyCookie);
  // Security: double-submit CSRF tokens, each bound to the session it was rendered for (see
  // csrfBinding), and over TLS a `__Host-` cookie that no subdomain can set.
  await app.register(fastifyCsrf, {
    cookieKey: ctx.cookieSecure ? "__Host-csrf" : "_csrf",
    cookieOpts: { path: "/", httpOnly: true, sameSite: "lax", secure: ctx.cookieSecure },
    csrfOpts: { hmacKey: CSRF_HMAC_KEY, userInfo: true },
    getUserInfo: csrfBinding,
  });
  app.addHook("onRequest", async (request, reply) => {
    const generate = reply.generateCsrf;
    reply.generateCsrf = (opts) => generate.call(reply, { ...opts, userInfo: csrfBinding(request) });
  });
  await app.register(fastifyFormbody, { bodyLimit: BODY_LIMIT_BYTES });
  await app.register(fastifyStatic, {
    root: join(dirname(fileURLToPath(import.meta.url)), "static"),
    prefix: "/static/",
    index: false,
    cacheControl: false,
    // Pages link assets with a content hash (?v=…), so those URLs never change meaning and
    // can be cached for a year; a bare URL is cached briefly.
    setHeaders: (reply) => {
      const versioned = /[?&]v=[0-9a-f]{10}$/.test(reply.request.url);
      reply.header(
        "cache-control",
        versioned ? "public, max-age=31536000, immutable" : "public, max-age=300",
      );
    },
  });

  app.setErrorHandler((err, request, reply) => {
    const failure = toHttpError(err);
    if (failure.statusCode >= 500 && failure.statusCode !== 503) request.log.error({ err }, "request failed");
    // The client gets a fixed message; what went wrong (deadlines, addresses) stays in the log.
    if (failure.detail !== undefined) request.log.warn({ detail: failure.detail }, "backend unavailable");
    if (failure.retryAfterSeconds !== undefined)
      reply.header("retry-after", String(failure.retryAfterSeconds));
    reply.code(failure.statusCode);
    if (isApi(request.url)) return reply.send({ error: { code: failure.code, message: failure.message } });
    if (failure.statusCode === 401) return reply.redirect("/login", 303);
    return renderPage(reply, "error", {
      title: "Error",
      heading: headingFor(failure.statusCode),
      message: failure.message,
    });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404);
    if (isApi(request.url)) return reply.send({ error: { code: "not_found", message: "no such endpoint" } });
    return renderPage(reply, "error", {
      title: "Not found",
      heading: "Not found",
      message: "There is no such page.",
    });
  });

  // The JSON API takes JSON only: a form or text body there is a client mistake (or a
  // cross-site form post), refused before any handler reads it.
  app.addHook("preValidation", async (request) => {
    if (!isApi(request.url) || request.body === undefined) return;
    // The Mastodon client API takes forms and multipart too (its clients send them).
    if ((request.routeOptions.config as { mastodon?: boolean }).mastodon) return;
    const type = request.headers["content-type"] ?? "";
    if (!/^application\/json\s*(;|$)/i.test(type)) {
      throw Object.assign(new Error("send the body as application/json"), {
        code: "FST_ERR_CTP_INVALID_MEDIA_TYPE",
      });
    }
  });

  // Security: pages and API answers hold per-user data (and pages fresh CSRF tokens); no
  // browser or shared cache keeps them. Static assets set their own caching.
  app.addHook("onSend", async (_request, reply) => {
    if (!reply.hasHeader("cache-control")) reply.header("cache-control", "no-store");
  });

  // Liveness: the process is up and serving. (Readiness checks the backend; see /readyz.)
  app.get("/healthz", async () => ({ ok: true }));
  // Operations: /readyz, /metrics, /cluster, request metrics (web/ops/web-ops.ts).
  await registerWebOps(app, ctx.ops);
  // Live streams end first on close (clients resume on another replica), so the close that
  // waits for requests in flight is not held up by them.
  const streams = new LiveStreams(
    ctx.backend,
    ctx.log,
    { ...DEFAULT_LIVE_OPTIONS, ...options.live },
    (open) => ctx.ops.metrics.openStreams.set(open),
  );
  app.addHook("preClose", async () => streams.closeAll());
  registerRoutes(app, ctx, streams);
  // The Mastodon client API, beside Flock's own (src/web/mastodon/routes.ts says how they share paths).
  await registerMastodonApi(app, ctx);
  return app;
}

function registerRoutes(app: FastifyInstance, ctx: WebContext, streams: LiveStreams): void {
  accountRoutes(app, ctx);
  followingRoutes(app, ctx);
  postRoutes(app, ctx);
  userRoutes(app, ctx);
  meRoutes(app, ctx);
  discoverRoutes(app, ctx);
  notificationRoutes(app, ctx);
  relationRoutes(app, ctx);
  streamingRoutes(app, ctx, streams);
  homePages(app, ctx);
  authPages(app, ctx);
  profilePages(app, ctx);
  postPages(app, ctx);
  searchPages(app, ctx);
  notificationPages(app, ctx);
  settingsPages(app, ctx);
}

/**
 * Many HTTP client wrappers send `Content-Type: application/json` on every request, bodyless
 * ones included (`PUT /api/v1/following/:u`, `DELETE /api/v1/sessions/current`). An empty body
 * under that type is no body at all, exactly as without the header; anything else is parsed
 * as before (Fastify's own parser, refusing `__proto__` and `constructor.prototype` keys).
 */
function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text === "") return done(null, undefined);
    parseJson(request, text, done);
  });
}

function isApi(url: string): boolean {
  return url === "/api" || url.startsWith("/api/");
}

function headingFor(statusCode: number): string {
  if (statusCode === 404) return "Not found";
  if (statusCode === 403) return "Not allowed";
  if (statusCode === 429) return "Slow down";
  if (statusCode === 503) return "Flock is busy";
  if (statusCode >= 500) return "Something went wrong";
  return "That did not work";
}
