import type { FastifyInstance } from "fastify";
import { FlockError, invalid } from "../../shared/errors.js";
import { status } from "@grpc/grpc-js";
import type { WebContext } from "../context.js";
import { backendApi } from "../backend-api.js";
import type { LiveStreams } from "../live/relay.js";
import { tokenFromCookie, tokenFromHeader } from "../session.js";
import { queryString, requireToken } from "./params.js";

const EVENT_ID = /^(0|[1-9][0-9]{0,15})(\.1)?$/;

/**
 * `GET /api/v1/streaming`: the reader's live events as Server-Sent Events. `post` (a new entry
 * of their home feed), `delete` (a post they may have seen is gone) and `notification`, each
 * with its commit revision as `id:` and JSON as `data:`; heartbeats are comments. A client
 * resumes with `Last-Event-ID` (or `?lastEventId=` on its first request) and misses nothing.
 *
 * It takes the bearer token, or the session cookie, since a browser's EventSource cannot set
 * headers. The cookie is safe here: it is SameSite=Lax (not sent by another site's scripts)
 * and the answer carries no CORS headers, so no other origin can read the stream.
 */
export function streamingRoutes(app: FastifyInstance, ctx: WebContext, streams: LiveStreams): void {
  app.get("/api/v1/streaming", async (request, reply) => {
    const token = requireToken(tokenFromHeader(request) || tokenFromCookie(request));
    const after = resumePoint(request.headers["last-event-id"], queryString(request.query, "lastEventId"));
    if (streams.shuttingDown) throw new FlockError(status.UNAVAILABLE, "this replica is shutting down");
    // A stream is answered 200 only for a live session; a refusal is a plain 401 the client sees.
    await backendApi(ctx, request).whoAmI(token);
    reply.hijack();
    streams.relay(request, reply, token, after);
  });
}

/** Where to resume: the Last-Event-ID header (what EventSource sends on reconnecting) over the query. */
function resumePoint(header: string | string[] | undefined, query: string): string {
  if (Array.isArray(header)) throw invalid("Last-Event-ID must be given once");
  const raw = (header ?? "").trim() || query;
  if (raw !== "" && !EVENT_ID.test(raw)) throw invalid("Last-Event-ID must be an event id");
  return raw;
}
