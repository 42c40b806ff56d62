import { Metadata, status, type ClientReadableStream } from "@grpc/grpc-js";
import type { OutgoingHttpHeaders } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { StreamEventKind, type StreamEvent } from "../../gen/flock/posts/v1/posts.js";
import type { BackendClients } from "../../grpc/client.js";
import { AUTHORIZATION, REQUEST_ID } from "../../grpc/metadata.js";
import { apiFeedPost, apiNotification } from "../backend-api.js";

export interface LiveOptions {
  /** A comment is written after this long without anything else, so idle proxies keep the stream. */
  heartbeatMs: number;
  /** What EventSource is told to wait before reconnecting (the SSE `retry:` field). */
  retryMs: number;
  /** A client that falls this far behind (bytes not yet taken by its socket) is cut; it resumes. */
  maxBufferedBytes: number;
}

export const DEFAULT_LIVE_OPTIONS: LiveOptions = {
  heartbeatMs: 15_000,
  retryMs: 2_000,
  maxBufferedBytes: 1024 * 1024,
};

/** Backend errors after which re-subscribing cannot help: the stream ends and the client learns why on reconnecting. */
const FINAL = new Set<number>([
  status.UNAUTHENTICATED,
  status.PERMISSION_DENIED,
  status.INVALID_ARGUMENT,
  status.NOT_FOUND,
]);
/**
 * The answer's head waits for the backend's first word (its heartbeat at once, or an event), so
 * a client that sees the stream open is subscribed; a backend that says nothing at first (an
 * older one) gets this long.
 */
const OPEN_WAIT_MS = 2_000;
const RESUBSCRIBE_FIRST_MS = 50;
const RESUBSCRIBE_MAX_MS = 2_000;

/**
 * The live streams (Server-Sent Events) this web replica holds, each relaying one backend
 * Subscribe stream. A relay never buffers: each event is written (and so flushed) as it comes.
 * When the backend stream ends (a backend restarting), it subscribes again from where it got to,
 * and the client sees nothing of it; when the client goes, its backend stream is cancelled; on
 * shutdown every stream is ended cleanly, and clients resume elsewhere with Last-Event-ID.
 */
export class LiveStreams {
  private readonly open = new Set<Relay>();
  private closing = false;

  constructor(
    private readonly backend: BackendClients,
    private readonly log: Logger,
    private readonly options: LiveOptions = DEFAULT_LIVE_OPTIONS,
    /** Told the number of open streams whenever it changes. */
    private readonly onCount: (open: number) => void = () => undefined,
  ) {}

  get count(): number {
    return this.open.size;
  }

  get shuttingDown(): boolean {
    return this.closing;
  }

  /** Takes over a hijacked request: writes the stream's head and relays events from `after`. */
  relay(request: FastifyRequest, reply: FastifyReply, token: string, after: string): void {
    const relay = new Relay(this.backend, this.log.child({ reqId: request.id }), this.options, {
      token,
      requestId: request.id,
      position: after,
      reply,
      onEnd: () => {
        this.open.delete(relay);
        this.onCount(this.open.size);
      },
    });
    this.open.add(relay);
    this.onCount(this.open.size);
    relay.start();
  }

  /** Ends every stream (shutdown): no new ones are taken from now on. */
  closeAll(): void {
    this.closing = true;
    for (const relay of [...this.open]) relay.end();
  }
}

interface RelaySetup {
  token: string;
  requestId: string;
  /** Where the stream stands: the backend's position of the last event sent ("" from now). */
  position: string;
  reply: FastifyReply;
  onEnd: () => void;
}

class Relay {
  private call: ClientReadableStream<StreamEvent> | undefined;
  private position: string;
  /** After re-subscribing from inside a commit: its post or delete event was sent already. */
  private failures = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private opening: NodeJS.Timeout | undefined;
  private headWritten = false;
  private ended = false;

  constructor(
    private readonly backend: BackendClients,
    private readonly log: Logger,
    private readonly options: LiveOptions,
    private readonly setup: RelaySetup,
  ) {
    this.position = setup.position;
  }

  private get res() {
    return this.setup.reply.raw;
  }

  start(): void {
    this.res.on("close", () => this.end());
    this.opening = setTimeout(() => this.open(), OPEN_WAIT_MS);
    this.subscribe();
  }

  /** Writes the stream's head, once: from then on the client sees it open. */
  private open(): void {
    if (this.headWritten || this.ended) return;
    this.headWritten = true;
    clearTimeout(this.opening);
    // The headers the app's hooks set so far (security headers) go out with the stream's own.
    const set: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(this.setup.reply.getHeaders())) {
      if (value !== undefined) set[name] = value;
    }
    this.res.writeHead(200, {
      ...set,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      // Tells buffering proxies (nginx and the like) to pass each event on at once.
      "x-accel-buffering": "no",
    });
    this.heartbeat = setTimeout(() => this.write(": heartbeat\n\n"), this.options.heartbeatMs);
    this.write(`retry: ${this.options.retryMs}\n: stream open\n\n`);
  }

  /** Ends the stream (the client left, or shutdown, or the backend refused it for good). */
  end(): void {
    if (this.ended) return;
    // Ended before it opened (shutdown, a refusal): the client still gets a well-formed answer.
    if (!this.headWritten && !this.res.destroyed) this.open();
    this.ended = true;
    clearTimeout(this.opening);
    clearTimeout(this.heartbeat);
    clearTimeout(this.retry);
    const call = this.call;
    this.call = undefined;
    call?.cancel();
    if (!this.res.writableEnded) this.res.end();
    this.setup.onEnd();
  }

  private subscribe(): void {
    if (this.ended) return;
    const metadata = new Metadata();
    metadata.set(AUTHORIZATION, `Bearer ${this.setup.token}`);
    metadata.set(REQUEST_ID, this.setup.requestId);
    metadata.setOptions({ waitForReady: true });
    // Positions name one event each (a commit's notification is "R.1" after its feed event "R"),
    // so resuming after the last one sent neither skips nor repeats.
    const call = this.backend.streams.subscribe({ after: this.position }, metadata);
    this.call = call;
    call.on("data", (event: StreamEvent) => {
      if (this.call === call) this.onEvent(event);
    });
    // Every ending reports a status (after 'error' for a failure); the error itself is handled there.
    call.on("error", () => undefined);
    call.on("status", (s: { code: number; details: string }) => {
      if (this.call === call) this.onBackendEnd(s);
    });
  }

  private onBackendEnd(s: { code: number; details: string }): void {
    this.call = undefined;
    if (this.ended) return;
    if (FINAL.has(s.code)) {
      this.log.info({ code: s.code, details: s.details }, "live stream refused by the backend; ending it");
      this.end();
      return;
    }
    // A backend going away (or restarting): subscribe again from where the stream got to.
    const delay = Math.min(RESUBSCRIBE_MAX_MS, RESUBSCRIBE_FIRST_MS * 2 ** this.failures++);
    this.log.info({ code: s.code, details: s.details, delay }, "backend stream ended; subscribing again");
    this.retry = setTimeout(() => this.subscribe(), delay);
  }

  private onEvent(event: StreamEvent): void {
    this.failures = 0;
    this.open();
    const position = event.revision;
    if (!/^[0-9]{1,16}(\.[0-9])?$/.test(position)) return;
    switch (event.kind) {
      case StreamEventKind.STREAM_EVENT_KIND_POST:
        if (event.item?.post) this.send("post", position, apiFeedPost(event.item));
        else this.position = position;
        return;
      case StreamEventKind.STREAM_EVENT_KIND_DELETE:
        this.send("delete", position, { id: event.deletedId });
        return;
      case StreamEventKind.STREAM_EVENT_KIND_NOTIFICATION: {
        const notification = event.notification && apiNotification(event.notification);
        if (notification) this.send("notification", position, notification);
        else this.position = position;
        return;
      }
      case StreamEventKind.STREAM_EVENT_KIND_HEARTBEAT:
        // Queued behind the stream's events: everything up to it has been sent. Its id tells
        // the client (EventSource keeps it) where to resume even before any event came.
        this.position = position;
        this.write(`: heartbeat\nid: ${position}\n\n`);
        return;
      default:
        return;
    }
  }

  private send(type: string, position: string, data: unknown): void {
    this.position = position;
    this.write(`event: ${type}\nid: ${position}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private write(chunk: string): void {
    if (this.ended || this.res.writableEnded) return;
    this.res.write(chunk);
    if (this.res.writableLength > this.options.maxBufferedBytes) {
      this.log.warn({ buffered: this.res.writableLength }, "live stream client too slow; ending it");
      this.end();
      return;
    }
    // Quiet for heartbeatMs from now on means a heartbeat comment.
    this.heartbeat?.refresh();
  }
}
