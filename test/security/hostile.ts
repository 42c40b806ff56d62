/**
 * Helpers for the hostile-input suites (test/security/*.test.ts): a raw HTTP sender that sends
 * exactly the bytes of the path and headers it is given (no URL normalisation, unlike fetch),
 * every request under a timeout, a request counter, and snapshots of the memory stores to prove
 * that nothing was written.
 */
import http from "node:http";
import net from "node:net";
import type { InProcessFlock } from "../fixtures/in-process-flock.js";
import { prefixEnd } from "../../src/storage/kv.js";

/** No request may take longer than this; a slower answer is a hang and fails the test. */
export const REQUEST_TIMEOUT_MS = 8_000;

export interface HostileRequest {
  method: string;
  /** Sent as is: dots, %-escapes and double slashes reach the server untouched. */
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Uint8Array;
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** Counts requests per suite, for the "N hostile requests" line each suite prints. */
export class RequestCounter {
  http = 0;
  grpc = 0;
  get total(): number {
    return this.http + this.grpc;
  }
  summary(what: string, startedMs: number): string {
    const seconds = ((performance.now() - startedMs) / 1000).toFixed(1);
    return `${what}: ${this.total} hostile requests (${this.http} HTTP, ${this.grpc} gRPC) in ${seconds} s`;
  }
}

/** Sends one request; rejects when no full answer arrives in time. */
export function send(
  baseUrl: string,
  request: HostileRequest,
  agent: http.Agent,
  counter?: RequestCounter,
): Promise<Answer> {
  const url = new URL(baseUrl);
  if (counter) counter.http++;
  return new Promise((resolve, reject) => {
    const body =
      request.body === undefined
        ? undefined
        : typeof request.body === "string"
          ? Buffer.from(request.body, "utf8")
          : Buffer.from(request.body);
    const headers: http.OutgoingHttpHeaders = { ...request.headers };
    const framed = hasHeader(headers, "content-length") || hasHeader(headers, "transfer-encoding");
    if (body !== undefined && !framed) headers["content-length"] = body.length;
    const req = http.request(
      {
        host: url.hostname,
        port: Number(url.port),
        method: request.method,
        path: request.path,
        headers,
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString("utf8"),
          });
        });
        res.on("error", fail);
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`));
    }, REQUEST_TIMEOUT_MS);
    function fail(err: Error) {
      clearTimeout(timer);
      reject(new Error(`${describeRequest(request)}: ${err.message}`));
    }
    req.on("error", fail);
    req.end(body);
  });
}

function hasHeader(headers: http.OutgoingHttpHeaders, name: string): boolean {
  return Object.keys(headers).some((k) => k.toLowerCase() === name);
}

/**
 * Writes raw bytes to the server and collects what comes back until the server closes the
 * connection, the reply is complete, or the timeout passes. Returns the status of the first
 * response line, or undefined when the server answered nothing.
 */
export function sendRaw(
  baseUrl: string,
  bytes: Buffer,
  counter?: RequestCounter,
  waitMs = 1_500,
): Promise<{ status: number | undefined; text: string }> {
  const url = new URL(baseUrl);
  if (counter) counter.http++;
  return new Promise((resolve) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) });
    const chunks: Buffer[] = [];
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString("latin1");
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: match ? Number(match[1]) : undefined, text });
    };
    const timer = setTimeout(finish, waitMs);
    socket.on("data", (c: Buffer) => {
      chunks.push(c);
      // One complete answer is enough: the status line and a body end (or none is coming).
      const text = Buffer.concat(chunks).toString("latin1");
      const head = text.indexOf("\r\n\r\n");
      const length = /\r\ncontent-length: *(\d+)/i.exec(text);
      if (head >= 0 && length && text.length >= head + 4 + Number(length[1])) finish();
    });
    socket.on("error", finish);
    socket.on("close", finish);
    socket.write(bytes);
  });
}

/**
 * Every fact the store holds, key → value (hex), except login-failure counters (a failed login
 * is meant to count), the writers' ticks and their applied-marks (`_r/`, bookkeeping that moves
 * only with the facts and expires). "Nothing stored" means this is unchanged.
 */
export interface StoreSnapshot {
  facts: Record<string, string>;
}

/** Reads every key under Flock's prefix from the in-process store (see StoreSnapshot). */
export async function snapshot(flock: InProcessFlock): Promise<StoreSnapshot> {
  const all = await flock.store.range({ key: "flock/", end: prefixEnd("flock/") });
  const facts = Object.create(null) as Record<string, string>;
  for (const kv of all.kvs) {
    if (/\/_s\/loginfail\/|\/t\/[a-z]$|\/_r\//.test(kv.key)) continue;
    facts[kv.key] = Buffer.from(kv.value).toString("hex");
  }
  return { facts };
}

/** Shortens a request for an assertion message. */
export function describeRequest(request: HostileRequest): string {
  const body =
    request.body === undefined
      ? ""
      : typeof request.body === "string"
        ? ` body=${JSON.stringify(request.body.slice(0, 160))}${request.body.length > 160 ? "…" : ""}`
        : ` body=<${request.body.length} bytes>`;
  const headers = JSON.stringify(request.headers ?? {}).slice(0, 300);
  return `${request.method} ${request.path.slice(0, 160)} headers=${headers}${body}`;
}

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function inParallel<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return results;
}

/** Fails with the parts of the store that differ (not a wall of JSON) when anything changed. */
export function assertUnchanged(now: StoreSnapshot, before: StoreSnapshot): void {
  const changes: string[] = [];
  const compare = (path: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      changes.push(`${path}: ${JSON.stringify(b).slice(0, 300)} → ${JSON.stringify(a).slice(0, 300)}`);
    }
  };
  const keys = new Set([...Object.keys(now.facts), ...Object.keys(before.facts)]);
  for (const key of [...keys].sort()) compare(key, now.facts[key], before.facts[key]);
  if (changes.length > 0) throw new Error(`the stores changed:\n${changes.join("\n")}`);
}
