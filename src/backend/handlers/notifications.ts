import type { ServerWritableStream } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type {
  NotificationsServiceServer,
  StreamEvent,
  SubscribeRequest,
} from "../../gen/flock/posts/v1/posts.js";
import { bearerToken, requestIdOf } from "../../grpc/metadata.js";
import type { LiveSubscription } from "../../services/posts/live.js";
import type { NotificationsService } from "../../services/posts/notifications.js";
import { grpcErrorOf, unary } from "./unary.js";

/** How often an idle stream says it is alive (SSE and proxies close quiet connections). */
export const HEARTBEAT_MS = 15_000;

/** The notifications service's gRPC face, live stream included. */
/** The live streams a backend holds open: ended all at once when it begins to shut down. */
export class OpenStreams {
  private readonly ends = new Set<() => void>();

  add(end: () => void): () => void {
    this.ends.add(end);
    return () => this.ends.delete(end);
  }

  /** Ends every stream now: callers resume on another backend instead of waiting for this one. */
  endAll(): void {
    for (const end of [...this.ends]) end();
  }
}

export function notificationsGrpcHandlers(
  service: NotificationsService,
  log: Logger,
  streams: OpenStreams,
  heartbeatMs = HEARTBEAT_MS,
): NotificationsServiceServer {
  return {
    listNotifications: unary(log, "ListNotifications", async (req, call) =>
      service.list(bearerToken(call.metadata), req.limit, req.cursor, req.types, req.afterId ?? ""),
    ),
    getNotification: unary(log, "GetNotification", async (req, call) =>
      service.get(bearerToken(call.metadata), req.id),
    ),
    markRead: unary(log, "MarkRead", async (req, call) => ({
      unread: await service.markRead(bearerToken(call.metadata), req.upTo),
    })),
    dismiss: unary(log, "Dismiss", async (req, call) => {
      await service.dismiss(bearerToken(call.metadata), req.id, req.upTo);
      return {};
    }),
    subscribe: (call) => subscribe(service, log, heartbeatMs, streams, call),
  };
}

/**
 * A live stream: open (after a freshness check), then events as the view applies them. A
 * heartbeat comes at once (it tells where "now" is, so a caller that opened "from now" has a
 * revision to resume from before any event came) and then whenever `heartbeatMs` pass; each
 * is queued behind the stream's events, so its revision is a safe resume point. It ends when
 * the caller cancels, or with UNAVAILABLE when an event could not be sent (the caller resumes
 * after the last event it got, and loses nothing).
 */
function subscribe(
  service: NotificationsService,
  log: Logger,
  heartbeatMs: number,
  streams: OpenStreams,
  call: ServerWritableStream<SubscribeRequest, StreamEvent>,
): void {
  let subscription: LiveSubscription | undefined;
  let ended = false;
  const heartbeat = setInterval(() => subscription?.heartbeat(), heartbeatMs);
  const forget = streams.add(() => end());
  const end = (err?: unknown) => {
    if (ended) return;
    ended = true;
    forget();
    clearInterval(heartbeat);
    subscription?.close();
    if (err === undefined) call.end();
    else call.emit("error", grpcErrorOf(err, log, "Subscribe", requestIdOf(call.metadata)));
  };
  call.on("cancelled", () => end());
  call.on("error", () => end());
  service
    .subscribe(bearerToken(call.metadata), call.request.after, (event) => call.write(event), end)
    .then(
      (opened) => {
        subscription = opened;
        if (ended || call.cancelled) opened.close();
        else opened.heartbeat();
      },
      (err: unknown) => end(err),
    );
}
