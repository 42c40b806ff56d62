import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import type { FastifyReply, FastifyRequest } from "fastify";
import { pino } from "pino";
import {
  NotificationType,
  StreamEventKind,
  type Post,
  type StreamEvent,
} from "../../gen/flock/posts/v1/posts.js";
import type { BackendClients } from "../../grpc/client.js";
import { LiveStreams } from "./relay.js";

/** A backend Subscribe call the test drives: it emits what the test tells it to. */
class FakeCall extends EventEmitter {
  cancelled = false;
  constructor(readonly after: string) {
    super();
  }
  cancel(): void {
    this.cancelled = true;
    this.end(status.CANCELLED);
  }
  event(revision: number | string, kind: StreamEventKind, parts: Partial<StreamEvent> = {}): void {
    this.emit("data", {
      revision: String(revision),
      kind,
      item: undefined,
      deletedId: "",
      notification: undefined,
      ...parts,
    });
  }
  end(code: number = status.OK): void {
    if (code !== status.OK) this.emit("error", new Error(`code ${code}`));
    this.emit("status", { code, details: "" });
  }
}

/** The backend: remembers every Subscribe, and lets the test wait for the next one. */
function fakeBackend() {
  const calls: FakeCall[] = [];
  let waiting: ((call: FakeCall) => void) | undefined;
  const backend = {
    streams: {
      subscribe: (request: { after: string }) => {
        const call = new FakeCall(request.after);
        calls.push(call);
        waiting?.(call);
        waiting = undefined;
        return call;
      },
    },
  };
  return {
    backend: backend as unknown as BackendClients,
    calls,
    next: () => new Promise<FakeCall>((resolve) => (waiting = resolve)),
  };
}

/** The client side: what the relay wrote, as text, and whether it ended. */
function fakeReply() {
  const raw = Object.assign(new EventEmitter(), {
    written: "",
    writableEnded: false,
    writableLength: 0,
    head: undefined as unknown,
    writeHead(code: number, headers: unknown) {
      raw.head = { code, headers };
    },
    write(chunk: string) {
      raw.written += chunk;
      return true;
    },
    end() {
      raw.writableEnded = true;
    },
  });
  const reply = { raw, getHeaders: () => ({ "x-content-type-options": "nosniff" }) };
  return { raw, reply: reply as unknown as FastifyReply };
}

const request = { id: "req-1" } as FastifyRequest;
const options = { heartbeatMs: 60_000, retryMs: 1_000, maxBufferedBytes: 10_000 };

function post(id: number): Post {
  return {
    id: String(id),
    author: "ann",
    text: `post ${id}`,
    createdAtMs: 0,
    inReplyTo: "",
    inReplyToAuthor: "",
    replies: 0,
    likes: 0,
    reposts: 0,
    liked: false,
    reposted: false,
    mentions: [],
    tags: [],
    deleted: false,
    authorDisplayName: "",
  };
}

const feedItem = (id: number) => ({
  item: { post: post(id), repostedBy: "", repostedAtMs: 0, entryId: String(id) },
});
const reply = (id: number) => ({
  notification: {
    id: String(id),
    type: NotificationType.NOTIFICATION_TYPE_REPLY,
    from: "ann",
    createdAtMs: 0,
    post: post(id),
  },
});

/** The `event:`/`id:` pairs written so far. */
function written(text: string): string[] {
  return [...text.matchAll(/event: (\w+)\nid: ([\d.]+)\n/g)].map((m) => `${m[1]}@${m[2]}`);
}

describe("live stream relay", () => {
  const log = pino({ level: "silent" });

  it("writes events with their positions as ids, and subscribes again after the last one sent", async () => {
    const { backend, calls, next } = fakeBackend();
    const { raw, reply: r } = fakeReply();
    const streams = new LiveStreams(backend, log, options);
    streams.relay(request, r, "token", "7");
    assert.equal(raw.head, undefined, "open only once the backend has subscribed it");
    assert.equal(calls[0]!.after, "7");
    calls[0]!.event("8.1", StreamEventKind.STREAM_EVENT_KIND_HEARTBEAT);
    assert.deepEqual(raw.head, {
      code: 200,
      headers: {
        "x-content-type-options": "nosniff",
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
    calls[0]!.event(10, StreamEventKind.STREAM_EVENT_KIND_POST, feedItem(10));
    calls[0]!.event(12, StreamEventKind.STREAM_EVENT_KIND_POST, feedItem(12));
    // The backend goes away between a post and the notification of the same commit (12.1).
    const again = next();
    calls[0]!.end(status.UNAVAILABLE);
    const second = await again;
    assert.equal(second.after, "12", "after the post of commit 12, so its notification still comes");
    second.event("12.1", StreamEventKind.STREAM_EVENT_KIND_NOTIFICATION, reply(12));
    second.event(15, StreamEventKind.STREAM_EVENT_KIND_POST, feedItem(15));
    assert.deepEqual(written(raw.written), ["post@10", "post@12", "notification@12.1", "post@15"]);
    assert.match(raw.written, /^retry: 1000\n: stream open\n\n: heartbeat\nid: 8\.1\n\n/);

    const third = next();
    second.end(status.OK);
    assert.equal((await third).after, "15");
    calls[2]!.event("15.1", StreamEventKind.STREAM_EVENT_KIND_HEARTBEAT);
    const fourth = next();
    calls[2]!.end(status.CANCELLED);
    assert.equal((await fourth).after, "15.1", "after a heartbeat: past everything of its commit");
    assert.equal(streams.count, 1);
    assert.equal(raw.writableEnded, false, "the client saw none of it");

    streams.closeAll();
    assert.equal(raw.writableEnded, true);
    assert.equal(calls[3]!.cancelled, true, "the backend stream is cancelled");
    assert.equal(streams.count, 0);
    assert.equal(streams.shuttingDown, true);
  });

  it("ends the stream when the backend refuses it for good, or the client goes", async () => {
    const { backend, calls } = fakeBackend();
    const streams = new LiveStreams(backend, log, options);
    const refused = fakeReply();
    streams.relay(request, refused.reply, "token", "");
    calls[0]!.end(status.UNAUTHENTICATED);
    assert.equal(refused.raw.writableEnded, true);
    assert.equal(calls.length, 1, "no second subscription");

    const leaving = fakeReply();
    streams.relay(request, leaving.reply, "token", "");
    leaving.raw.emit("close");
    assert.equal(calls[1]!.cancelled, true);
    assert.equal(calls.length, 2);
    assert.equal(streams.count, 0);
  });

  it("cuts a client that stops reading, rather than buffer for it", () => {
    const { backend, calls } = fakeBackend();
    const streams = new LiveStreams(backend, log, options);
    const slow = fakeReply();
    streams.relay(request, slow.reply, "token", "");
    slow.raw.writableLength = 20_000;
    calls[0]!.event(5, StreamEventKind.STREAM_EVENT_KIND_POST, feedItem(5));
    assert.equal(slow.raw.writableEnded, true);
    assert.equal(calls[0]!.cancelled, true);
  });
});
