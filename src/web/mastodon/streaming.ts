import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { randomUUID } from "node:crypto";
import { Metadata, status as grpcStatus, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { WebSocketServer, type WebSocket } from "ws";
import { StreamEventKind, type StreamEvent } from "../../gen/flock/posts/v1/posts.js";
import { AUTHORIZATION, REQUEST_ID } from "../../grpc/metadata.js";
import type { WebContext } from "../context.js";
import { allows, identify, type Caller } from "./auth.js";
import { MastodonBackend } from "./backend.js";
import { MastodonError, originOf } from "./http.js";

/**
 * Mastodon's streaming API, fed by the backend's Subscribe stream (which resumes after the last
 * revision it delivered whenever a backend stream ends): Server-Sent Events at
 * /api/v1/streaming/user, and the WebSocket protocol at /api/v1/streaming, which masto.js and
 * megalodon use. A token is checked when a stream opens and again every TOKEN_CHECK_MS, so a
 * revoked token's streams end within that time.
 */

/** SSE heartbeat (`:thump`), as Mastodon sends it. */
const SSE_HEARTBEAT_MS = 15_000;
/** WebSocket pings; a socket that missed the previous ping is closed. */
const WS_PING_MS = 30_000;
const TOKEN_CHECK_MS = 15_000;
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5_000;
const STREAMING_PATH = "/api/v1/streaming";
/** Stream names Mastodon knows; Flock delivers only `user` and `user:notification`. */
const KNOWN_STREAMS = new Set([
  "user",
  "user:notification",
  "public",
  "public:media",
  "public:local",
  "public:local:media",
  "public:remote",
  "public:remote:media",
  "hashtag",
  "hashtag:local",
  "list",
  "direct",
]);

export interface StreamingOptions {
  sseHeartbeatMs: number;
  wsPingMs: number;
  tokenCheckMs: number;
}

export const DEFAULT_STREAMING_OPTIONS: StreamingOptions = {
  sseHeartbeatMs: SSE_HEARTBEAT_MS,
  wsPingMs: WS_PING_MS,
  tokenCheckMs: TOKEN_CHECK_MS,
};

/** One Mastodon event: its name, its payload (a JSON text, or a bare id for `delete`). */
interface MastodonEvent {
  event: "update" | "notification" | "delete";
  payload: string;
}

/**
 * A user's live events from the backend, in commit order, as Mastodon events. It reconnects
 * (to any backend) after the last revision it delivered when a backend stream ends, and stops
 * for good when the token no longer works.
 */
class UserFeed {
  private call: ClientReadableStream<StreamEvent> | undefined;
  private after = "";
  private stopped = false;
  private retryMs = RETRY_MIN_MS;
  private queue: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: WebContext,
    private readonly api: MastodonBackend,
    private readonly caller: Caller,
    private readonly deliver: (event: MastodonEvent) => void,
    private readonly end: (reason: string) => void,
  ) {
    this.open();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.call?.cancel();
  }

  private open(): void {
    if (this.stopped) return;
    const metadata = new Metadata();
    metadata.set(AUTHORIZATION, `Bearer ${this.caller.token}`);
    metadata.set(REQUEST_ID, randomUUID());
    const call = this.ctx.backend.streams.subscribe({ after: this.after }, metadata);
    this.call = call;
    call.on("data", (event: StreamEvent) => {
      this.retryMs = RETRY_MIN_MS;
      this.received(event);
    });
    call.on("error", (err: ServiceError) => {
      if (this.stopped || call !== this.call) return;
      if (err.code === grpcStatus.UNAUTHENTICATED || err.code === grpcStatus.PERMISSION_DENIED) {
        this.stopped = true;
        this.end("the access token is no longer valid");
        return;
      }
      if (err.code !== grpcStatus.CANCELLED || !this.stopped) this.retry();
    });
    call.on("end", () => {
      if (!this.stopped && call === this.call) this.retry();
    });
  }

  private retry(): void {
    this.call = undefined;
    this.retryTimer = setTimeout(() => this.open(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  private received(event: StreamEvent): void {
    if (event.kind === StreamEventKind.STREAM_EVENT_KIND_HEARTBEAT) {
      // Before any event, the heartbeat says where a resumed stream must start.
      if (this.after === "") this.after = event.revision;
      return;
    }
    // Events are presented (which takes calls) one after another, so they leave in order.
    this.queue = this.queue
      .then(async () => {
        if (this.stopped) return;
        const out = await this.present(event);
        if (out && !this.stopped) this.deliver(out);
        this.after = event.revision;
      })
      .catch(() => {
        // A presentation that failed ends the backend stream; the resumed one sends it again.
        if (this.stopped) return;
        this.call?.cancel();
        this.call = undefined;
        this.retry();
      });
  }

  private async present(event: StreamEvent): Promise<MastodonEvent | undefined> {
    if (event.kind === StreamEventKind.STREAM_EVENT_KIND_POST && event.item) {
      const [status] = await this.api.feedStatuses([event.item]);
      return { event: "update", payload: JSON.stringify(status) };
    }
    if (event.kind === StreamEventKind.STREAM_EVENT_KIND_NOTIFICATION && event.notification) {
      if (!allows(this.caller, ["read", "read:notifications"])) return undefined;
      const [notification] = await this.api.notifications([event.notification]);
      return { event: "notification", payload: JSON.stringify(notification) };
    }
    if (event.kind === StreamEventKind.STREAM_EVENT_KIND_DELETE && event.deletedId !== "") {
      return { event: "delete", payload: event.deletedId };
    }
    return undefined;
  }
}

/** The streams a web replica holds, to end them all when it closes. */
class OpenStreams {
  private readonly closers = new Set<() => void>();
  add(close: () => void): () => void {
    this.closers.add(close);
    return () => this.closers.delete(close);
  }
  closeAll(): void {
    for (const close of [...this.closers]) close();
    this.closers.clear();
  }
}

/** The token of a streaming request: header, `access_token` query, or the WebSocket subprotocol. */
function streamingToken(headers: IncomingMessage["headers"], url: URL): string {
  const auth = headers.authorization;
  const fromHeader = typeof auth === "string" ? /^Bearer +(\S+) *$/i.exec(auth)?.[1] : undefined;
  if (fromHeader) return fromHeader;
  const fromQuery = url.searchParams.get("access_token");
  if (fromQuery) return fromQuery;
  const protocol = headers["sec-websocket-protocol"];
  return typeof protocol === "string" ? (protocol.split(",")[0]?.trim() ?? "") : "";
}

/** Checks a streaming token: a user's, with a read scope; a MastodonError (401/403) otherwise. */
async function streamCaller(ctx: WebContext, request: FastifyRequest, token: string): Promise<Caller> {
  if (token === "" || token.length > 200) throw new MastodonError(401, "Missing access token");
  const caller = await identify(ctx, request, token);
  if (caller.username === "" || !allows(caller, ["read", "read:statuses"]))
    throw new MastodonError(401, "Access token does not have the required scopes");
  return caller;
}

/** Re-checks the token now and then: a revoked one ends the stream (`end`). */
function watchToken(
  ctx: WebContext,
  request: FastifyRequest,
  caller: Caller,
  everyMs: number,
  end: () => void,
) {
  const timer = setInterval(() => {
    identify(ctx, request, caller.token).then(
      () => undefined,
      (err: unknown) => {
        if (err instanceof MastodonError && err.statusCode === 401) end();
      },
    );
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

export function streamingRoutes(
  app: FastifyInstance,
  ctx: WebContext,
  options: StreamingOptions = DEFAULT_STREAMING_OPTIONS,
): void {
  const open = new OpenStreams();
  app.addHook("preClose", async () => open.closeAll());

  app.get("/api/v1/streaming/health", async (_request, reply) =>
    reply.type("text/plain; charset=utf-8").send("OK"),
  );

  for (const [path, onlyNotifications] of [
    ["/api/v1/streaming/user", false],
    ["/api/v1/streaming/user/notification", true],
  ] as const) {
    app.get(path, async (request, reply) => {
      const url = new URL(request.url, "http://flock.invalid");
      const caller = await streamCaller(ctx, request, streamingToken(request.raw.headers, url));
      sse(request, reply, caller, onlyNotifications);
    });
  }

  function sse(
    request: FastifyRequest,
    reply: FastifyReply,
    caller: Caller,
    onlyNotifications: boolean,
  ): void {
    const api = new MastodonBackend(ctx, { id: request.id, origin: originOf(ctx, request) }, caller);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
      "access-control-allow-origin": "*",
      "x-content-type-options": "nosniff",
    });
    res.write(":)\n");
    let ended = false;
    const finish = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      stopWatching();
      feed.stop();
      forget();
      res.end();
    };
    const heartbeat = setInterval(() => res.write(":thump\n"), options.sseHeartbeatMs);
    const feed = new UserFeed(
      ctx,
      api,
      caller,
      (e) => {
        if (onlyNotifications && e.event !== "notification") return;
        res.write(`event: ${e.event}\ndata: ${e.payload}\n\n`);
      },
      finish,
    );
    const stopWatching = watchToken(ctx, request, caller, options.tokenCheckMs, finish);
    const forget = open.add(finish);
    request.raw.on("close", finish);
    res.on("error", finish);
  }

  // The WebSocket protocol, on the server's upgrade event (Fastify's routes never see it).
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 16 * 1024,
    // masto sends the token as the subprotocol, and a browser drops a socket whose answer does
    // not name the protocol it offered: echo the first one offered.
    handleProtocols: (protocols) => protocols.values().next().value ?? false,
  });
  app.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node hands the socket over with no error listener: a client resetting it (while we check
    // its token, say) would otherwise be an uncaught exception that takes the replica down.
    socket.on("error", () => socket.destroy());
    const url = new URL(req.url ?? "/", "http://flock.invalid");
    if (url.pathname !== STREAMING_PATH && url.pathname !== `${STREAMING_PATH}/`) {
      refuse(socket, 404, "Not found");
      return;
    }
    if ((req.headers.upgrade ?? "").toLowerCase() !== "websocket") {
      refuse(socket, 400, "Bad upgrade");
      return;
    }
    const request = fakeRequest(req, app);
    streamCaller(ctx, request, streamingToken(req.headers, url)).then(
      (caller) => {
        if (socket.destroyed) return;
        wss.handleUpgrade(req, socket, head, (ws) => webSocket(ws, request, caller, url));
      },
      (err: unknown) => {
        const failure = err instanceof MastodonError ? err : new MastodonError(503, "Unavailable");
        refuse(socket, failure.statusCode, failure.message);
      },
    );
  });

  function webSocket(ws: WebSocket, request: FastifyRequest, caller: Caller, url: URL): void {
    const api = new MastodonBackend(ctx, { id: request.id, origin: originOf(ctx, request) }, caller);
    const subscribed = new Set<string>();
    let feed: UserFeed | undefined;
    let alive = true;
    const send = (stream: string[], e: MastodonEvent) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ stream, event: e.event, payload: e.payload }));
    };
    const close = (code = 1000, reason = "") => {
      clearInterval(ping);
      stopWatching();
      feed?.stop();
      forget();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason);
    };
    const ensureFeed = () => {
      feed ??= new UserFeed(
        ctx,
        api,
        caller,
        (e) => {
          if (subscribed.has("user")) send(["user"], e);
          if (subscribed.has("user:notification") && e.event === "notification")
            send(["user:notification"], e);
        },
        (reason) => close(1008, reason),
      );
    };
    const subscribe = (stream: unknown): boolean => {
      if (typeof stream !== "string" || !KNOWN_STREAMS.has(stream)) return false;
      subscribed.add(stream);
      if (stream === "user" || stream === "user:notification") ensureFeed();
      return true;
    };
    const ping = setInterval(() => {
      if (!alive) {
        ws.terminate();
        close();
        return;
      }
      alive = false;
      ws.ping();
    }, options.wsPingMs);
    const stopWatching = watchToken(ctx, request, caller, options.tokenCheckMs, () =>
      close(1008, "token revoked"),
    );
    const forget = open.add(() => close(1001, "server closing"));
    ws.on("pong", () => (alive = true));
    ws.on("close", () => close());
    ws.on("error", () => close());
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        close(1003, "text frames only");
        return;
      }
      let message: { type?: unknown; stream?: unknown };
      try {
        message = JSON.parse(String(data)) as typeof message;
      } catch {
        return;
      }
      if (typeof message !== "object" || message === null) return;
      if (message.type === "subscribe" && !subscribe(message.stream)) {
        ws.send(JSON.stringify({ error: "Unknown stream type", status: 400 }));
      } else if (message.type === "unsubscribe" && typeof message.stream === "string") {
        subscribed.delete(message.stream);
      }
    });
    // megalodon names its stream in the query instead of sending a subscribe message.
    const initial = url.searchParams.get("stream");
    if (initial !== null && !subscribe(initial))
      ws.send(JSON.stringify({ error: "Unknown stream type", status: 400 }));
  }
}

/** Answers an upgrade request that will not be upgraded, in Mastodon's error shape, and closes. */
function refuse(socket: Duplex, statusCode: number, message: string): void {
  const body = JSON.stringify({ error: message });
  const reason =
    { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found" }[statusCode] ?? "Error";
  socket.end(
    `HTTP/1.1 ${statusCode} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** What the helpers need of a request, for an upgrade that Fastify did not route. */
function fakeRequest(req: IncomingMessage, app: FastifyInstance): FastifyRequest {
  const host = req.headers.host ?? "localhost";
  const forwardedProto = req.headers["x-forwarded-proto"];
  const fromProxy = ["127.0.0.1", "::1", "::ffff:127.0.0.1"].includes(req.socket.remoteAddress ?? "");
  const protocol =
    fromProxy && typeof forwardedProto === "string" && forwardedProto === "https"
      ? "https"
      : (req.socket as { encrypted?: boolean }).encrypted
        ? "https"
        : "http";
  return {
    id: randomUUID(),
    host,
    protocol,
    raw: req,
    headers: req.headers,
    log: app.log,
  } as unknown as FastifyRequest;
}
