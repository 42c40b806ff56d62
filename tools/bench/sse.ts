import http from "node:http";
import { describeError } from "./load.js";
import { Recorder } from "./stats.js";

/** Told of each `post` event a stream receives: which post, and when (performance.now()). */
export type PostListener = (stream: SseStream, postId: string, at: number) => void;

/**
 * One open Server-Sent Events stream (GET /api/v1/streaming). Its chunks are timed first thing
 * when they arrive and parsed at once (a post event is a few hundred bytes); only `post` events
 * are kept, as the ids seen (to find a missed or repeated one).
 */
export class SseStream {
  readonly seen = new Set<string>();
  /** Post events received a second time for the same post. */
  repeated = 0;
  /** Post events whose data was not a post's JSON. */
  malformed = 0;
  /** Why the stream ended under the client (the server closed it, an error), if it did. */
  ended: string | undefined;
  private closing = false;
  private buffer = "";

  constructor(
    private readonly request: http.ClientRequest,
    private readonly onPost: PostListener,
  ) {}

  get live(): boolean {
    return this.ended === undefined && !this.closing;
  }

  /** Parses what arrived: events are blocks ending in a blank line; comments (heartbeats) are skipped. */
  feed(chunk: string, at: number): void {
    this.buffer += chunk;
    for (let end = this.buffer.indexOf("\n\n"); end >= 0; end = this.buffer.indexOf("\n\n")) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line === "" || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(line[colon + 1] === " " ? colon + 2 : colon + 1);
        if (field === "event") event = value;
        else if (field === "data") data += data === "" ? value : `\n${value}`;
      }
      if (event !== "post") continue;
      const id = postId(data);
      if (id === undefined) this.malformed++;
      else this.onPost(this, id, at);
    }
  }

  /** The server or the network ended it (not the client). */
  lost(why: string): void {
    if (!this.closing && this.ended === undefined) this.ended = why;
  }

  close(): void {
    this.closing = true;
    this.request.destroy();
  }
}

function postId(data: string): string | undefined {
  try {
    const id = (JSON.parse(data) as { id?: unknown } | null)?.id;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Streams of many readers to one address: node:http over an agent with no socket limit and
 * no keep-alive (each stream is a connection of its own for as long as it is held).
 */
export class StreamPool {
  readonly streams: SseStream[] = [];
  private readonly agent = new http.Agent({
    keepAlive: false,
    maxSockets: Infinity,
    maxTotalSockets: Infinity,
  });
  private readonly host: string;
  private readonly port: number;
  /** Readers asked for a stream so far (reader i gets at most one, failed or not). */
  private attempted = 0;

  constructor(
    baseUrl: string,
    private readonly tokens: readonly string[],
    private readonly onPost: PostListener,
  ) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port || 80);
  }

  /** Streams open and not ended under the client. */
  get live(): SseStream[] {
    return this.streams.filter((s) => s.live);
  }

  /**
   * Opens streams for readers up to `n` (those not asked yet), `concurrency` at a time; a
   * stream counts as open once it answered 200 and its first line arrived (the web replica
   * writes it once the backend has subscribed). Returns the open times and failures.
   */
  async grow(n: number, concurrency: number, timeoutMs: number, onProgress?: (done: number) => void) {
    const recorder = new Recorder();
    let next = this.attempted;
    this.attempted = Math.max(this.attempted, n);
    const last = Math.min(n, this.tokens.length);
    const worker = async () => {
      while (next < last) {
        const token = this.tokens[next++]!;
        const t0 = performance.now();
        try {
          this.streams.push(await this.open(token, timeoutMs));
          recorder.record(performance.now() - t0);
        } catch (err) {
          recorder.record(performance.now() - t0, describeError(err));
        }
        onProgress?.(recorder.count);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
    return recorder.summary(0);
  }

  close(): void {
    for (const stream of this.streams) stream.close();
    this.agent.destroy();
  }

  private open(token: string, timeoutMs: number): Promise<SseStream> {
    return new Promise((resolve, reject) => {
      let opened = false;
      const request = http.request({
        host: this.host,
        port: this.port,
        method: "GET",
        path: "/api/v1/streaming",
        headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
        agent: this.agent,
      });
      const stream = new SseStream(request, this.onPost);
      const timer = setTimeout(() => request.destroy(new Error("open timeout")), timeoutMs);
      const fail = (why: string) => {
        clearTimeout(timer);
        if (opened) stream.lost(why);
        else {
          opened = true;
          reject(new Error(why));
        }
      };
      request.on("error", (err) => fail(describeError(err)));
      request.on("response", (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          fail(`http ${res.statusCode}`);
          request.destroy();
          return;
        }
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          const at = performance.now();
          if (!opened) {
            opened = true;
            clearTimeout(timer);
            resolve(stream);
          }
          stream.feed(chunk, at);
        });
        res.on("error", (err) => fail(describeError(err)));
        res.on("end", () => fail("ended by the server"));
        res.on("close", () => fail("closed"));
      });
      request.end();
    });
  }
}
