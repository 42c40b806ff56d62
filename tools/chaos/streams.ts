import { request, type ClientRequest } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { RecordedClient } from "./client.js";
import type { Recorder } from "./recorder.js";
import type { Rng } from "./rng.js";

/**
 * One event a stream delivered (`post`, `delete` or `notification`), as read off the wire, or a
 * heartbeat's id (type "heartbeat": a resume point, not an event), in the order they came.
 */
export interface StreamEventRecord {
  /** Its `id:`, the commit position: "R" or "R.1". */
  id: string;
  type: string;
  data: unknown;
  /** When it was read (run clock), and on which connection (index into `connections`). */
  at: number;
  connection: number;
}

/** One GET /api/v1/streaming of a reader: when it was sent, from where, how it went. */
export interface StreamConnection {
  /** When the request was sent (run clock). */
  openedAt: number;
  /** The Last-Event-ID it sent ("" for the first: from now). */
  lastEventId: string;
  /** HTTP status (0: none came). */
  status: number;
  /** When the answer's head came (a 200 means the stream is subscribed). */
  respondedAt?: number;
  closedAt?: number;
  /** Why it ended: the client cut it (a deliberate reconnect, the end), the server ended it, or an error. */
  end?: "client" | "server" | "error";
  error?: string;
}

/** Everything one reader's stream showed over the run, across reconnects. */
export interface StreamLog {
  reader: string;
  connections: StreamConnection[];
  /** Events and heartbeat ids, in the order they came. */
  events: StreamEventRecord[];
  /** Whether, at the end, a fresh connection reported a position at or past every acknowledged post. */
  caughtUp: boolean;
}

/** A connection that says nothing (not even a heartbeat, every 15 s) this long is cut and resumed. */
const SILENCE_MS = 40_000;
const OPEN_TIMEOUT_MS = 10_000;

/** Compares stream positions "R" / "R.1" in commit order. */
export function comparePositions(a: string, b: string): number {
  const [ar, as = "0"] = a.split(".");
  const [br, bs = "0"] = b.split(".");
  return Number(ar) - Number(br) || Number(as) - Number(bs);
}

export interface StreamReaderOptions {
  baseUrl: string;
  recorder: Recorder;
  rng: Rng;
  /** The virtual user whose account this reader streams as (its process number in the history). */
  index: number;
  /** Its account once the virtual user has set it up. */
  credentials: () => { user: string; password: string } | undefined;
  /** Ends the reader (after its drain). */
  signal: AbortSignal;
}

/**
 * A virtual user's live stream for the whole run: it logs in (a session of its own, recorded),
 * holds GET /api/v1/streaming through the front door with its bearer token, and on any
 * disconnect (a fault, the server ending it, or a reconnect of its own every 5–15 s) resumes
 * with Last-Event-ID = the last id it received, as EventSource does. Everything it reads is kept
 * for the checker.
 */
export class StreamReader {
  readonly log: StreamLog;
  private readonly client: RecordedClient;
  private token = "";
  private position = "";
  private current: { req: ClientRequest } | undefined;
  /** Reconnect now, and resolve once a position at or past `target` was seen. */
  private drainTarget: string | undefined;
  private drained: (() => void) | undefined;

  constructor(private readonly options: StreamReaderOptions) {
    this.client = new RecordedClient(options.baseUrl, options.recorder, options.index);
    this.log = { reader: "", connections: [], events: [], caughtUp: false };
  }

  async run(): Promise<void> {
    const { signal } = this.options;
    let account = this.options.credentials();
    while (!account && !signal.aborted) {
      await this.pause(200);
      account = this.options.credentials();
    }
    if (!account) return;
    this.log.reader = account.user;
    let failures = 0;
    while (!signal.aborted) {
      if (!this.token && !(await this.login(account.user, account.password))) {
        await this.pause(this.options.rng.int(300, 800));
        continue;
      }
      if (signal.aborted) break;
      const status = await this.connect();
      if (status === 401) this.token = "";
      failures = status === 200 ? 0 : failures + 1;
      await this.pause(Math.min(2_000, 100 * 2 ** Math.min(failures, 5)) + this.options.rng.int(0, 200));
    }
  }

  /**
   * Reconnects and waits until the stream reports a position at or past `target` (the newest
   * acknowledged post): everything before it has then been delivered. False on timeout.
   */
  async drain(target: string, timeoutMs: number): Promise<boolean> {
    if (!this.log.reader) return false;
    const done = new Promise<void>((resolve) => (this.drained = resolve));
    this.drainTarget = target;
    this.current?.req.destroy();
    const ok = await Promise.race([done.then(() => true), sleep(timeoutMs).then(() => false)]);
    this.log.caughtUp = ok;
    return ok;
  }

  private async login(user: string, password: string): Promise<boolean> {
    const reply = await this.client.login(user, password);
    if (reply.status !== 201) return false;
    this.token = (reply.body as { token: string }).token;
    return true;
  }

  /** One connection, until it ends; answers its status. */
  private connect(): Promise<number> {
    const conn: StreamConnection = {
      openedAt: this.options.recorder.now(),
      lastEventId: this.position,
      status: 0,
    };
    const n = this.log.connections.push(conn) - 1;
    // A fresh connection during a drain reports where the view is at once (its first heartbeat).
    const draining = this.drainTarget !== undefined;
    return new Promise<number>((resolve) => {
      const headers: Record<string, string> = {
        authorization: `Bearer ${this.token}`,
        accept: "text/event-stream",
      };
      if (this.position) headers["last-event-id"] = this.position;
      // A connection of its own (no keep-alive pool): a stream's socket ends with it.
      const req = request(`${this.options.baseUrl}/api/v1/streaming`, { headers, agent: false });
      this.current = { req };
      let finished = false;
      let silence: NodeJS.Timeout | undefined;
      let cut: NodeJS.Timeout | undefined;
      const finish = (end: StreamConnection["end"], error?: string) => {
        if (finished) return;
        finished = true;
        clearTimeout(silence);
        clearTimeout(cut);
        conn.closedAt = this.options.recorder.now();
        conn.end = end;
        if (error) conn.error = error;
        if (this.current?.req === req) this.current = undefined;
        this.options.signal.removeEventListener("abort", onAbort);
        req.destroy();
        resolve(conn.status);
      };
      let byClient = false;
      const onAbort = () => {
        byClient = true;
        req.destroy();
      };
      if (this.options.signal.aborted) onAbort();
      else this.options.signal.addEventListener("abort", onAbort, { once: true });
      const quiet = () => {
        clearTimeout(silence);
        silence = setTimeout(() => finish("error", "silent"), SILENCE_MS);
      };
      silence = setTimeout(() => finish("error", "no answer"), OPEN_TIMEOUT_MS);
      req.on("error", (err: Error & { code?: string }) =>
        finish(byClient || this.isDrainCut(draining) ? "client" : "error", err.code ?? err.message),
      );
      req.on("close", () => finish(byClient || this.isDrainCut(draining) ? "client" : "server"));
      req.on("response", (res) => {
        conn.status = res.statusCode ?? 0;
        conn.respondedAt = this.options.recorder.now();
        if (conn.status !== 200) {
          res.resume();
          res.on("end", () => finish("server"));
          return;
        }
        quiet();
        // A reconnect of its own now and then: resuming is what the checks are about.
        if (!draining && this.drainTarget === undefined)
          cut = setTimeout(
            () => {
              byClient = true;
              req.destroy();
            },
            this.options.rng.int(5_000, 15_000),
          );
        res.setEncoding("utf8");
        let buffer = "";
        res.on("data", (chunk: string) => {
          quiet();
          buffer += chunk;
          let at: number;
          while ((at = buffer.indexOf("\n\n")) >= 0) {
            this.onBlock(buffer.slice(0, at), n);
            buffer = buffer.slice(at + 2);
          }
        });
        res.on("end", () => finish(byClient ? "client" : "server"));
        res.on("error", (err: Error) => finish(byClient ? "client" : "error", err.message));
      });
      req.end();
    });
  }

  /** A connection cut by drain() (which destroys the one open when it starts). */
  private isDrainCut(draining: boolean): boolean {
    return !draining && this.drainTarget !== undefined;
  }

  /** One SSE block: an event (with data), or a heartbeat carrying an id, or a bare comment. */
  private onBlock(block: string, connection: number): void {
    let type = "message";
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":") || line === "") continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") type = value;
      else if (field === "id") id = value;
      else if (field === "data") data.push(value);
    }
    const at = this.options.recorder.now();
    if (id !== undefined) this.position = id;
    if (data.length > 0) {
      let parsed: unknown = data.join("\n");
      try {
        parsed = JSON.parse(parsed as string);
      } catch {
        // kept as text; the checker flags what it cannot read
      }
      this.log.events.push({ id: id ?? "", type, data: parsed, at, connection });
    } else if (id !== undefined) {
      this.log.events.push({ id, type: "heartbeat", data: undefined, at, connection });
    }
    // Positions only grow on a stream: one at or past the target means all before it came.
    if (id !== undefined && this.drainTarget !== undefined && comparePositions(id, this.drainTarget) >= 0)
      this.drained?.();
  }

  private async pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.options.signal });
    } catch {
      // ended
    }
  }
}
