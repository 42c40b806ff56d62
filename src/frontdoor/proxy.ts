import http from "node:http";
import type { Logger } from "pino";
import { newRegistry, sendMetrics } from "../shared/metrics.js";
import { FrontDoorMetrics } from "./metrics.js";

/** Methods that change nothing, so resending them after a lost connection is harmless. */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Bodies beyond this are refused here already (the web tier's own limit is lower). */
const MAX_BODY_BYTES = 64 * 1024;
const UPSTREAM_TIMEOUT_MS = 20_000;
/** How long a replica that refused a connection is left out before it is tried again. */
const COOLDOWN_MS = 1_000;
/** A replica whose /readyz takes longer than this counts as not ready. */
const PROBE_TIMEOUT_MS = 1_000;
/** The front door's own endpoints; the web tier has no route under this prefix. */
const OWN_PREFIX = "/_frontdoor/";

interface Upstream {
  address: string;
  host: string;
  port: number;
  /** Refused a connection: skipped until then. */
  downUntil: number;
  /** The last /readyz answered 200 (assumed true until the first probe says otherwise). */
  ready: boolean;
  lastProbeError?: string;
}

export interface FrontDoorOptions {
  host: string;
  port: number;
  upstreams: readonly string[];
  log: Logger;
  /** How often each replica's /readyz is polled (each poll times out after 1 s; polls never overlap). */
  probeIntervalMs?: number;
  /** On close, how long requests in flight get before their connections are cut. */
  shutdownTimeoutMs?: number;
  /** Event-loop lag, memory…: on in the real process, off in tests. */
  defaultMetrics?: boolean;
}

export interface FrontDoor {
  port: number;
  /** The replicas and what the front door knows of them. */
  upstreams(): { address: string; ready: boolean; down: boolean; error?: string }[];
  /** Stops accepting, lets requests in flight finish (within shutdownTimeoutMs), stops probing. */
  close(): Promise<void>;
}

/**
 * The front door: spreads requests round-robin over the web replicas that are ready (their
 * /readyz, polled every second, answers 200). A replica that refuses the connection is
 * skipped for a moment and the request goes to the next one; so does a request whose reused
 * keep-alive connection the replica closed just as it was sent (Node's documented
 * keep-alive race: `reusedSocket` and ECONNRESET, nothing was read). The body is buffered
 * (it is small) so a retry can resend it. Once a replica has answered anything the request
 * is never resent, since it may have acted on it. When no replica is ready, the not-ready
 * ones are still tried (they answer 503 themselves when the store is down).
 */
export async function startFrontDoor(options: FrontDoorOptions): Promise<FrontDoor> {
  const { log } = options;
  const metrics = new FrontDoorMetrics(newRegistry(options.defaultMetrics ?? false, "front-door"));
  const upstreams: Upstream[] = options.upstreams.map((address) => {
    const [host, port] = splitHostPort(address);
    return { address, host, port, downUntil: 0, ready: true };
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const probeAgent = new http.Agent({ keepAlive: false });
  let next = 0;
  let closing = false;

  const pickOrder = (): Upstream[] => {
    const now = Date.now();
    const start = next++ % upstreams.length;
    const rotated = [...upstreams.slice(start), ...upstreams.slice(0, start)];
    const up = rotated.filter((u) => u.downUntil <= now);
    return [
      ...up.filter((u) => u.ready),
      ...up.filter((u) => !u.ready),
      ...rotated.filter((u) => u.downUntil > now),
    ];
  };

  const server = http.createServer(async (req, res) => {
    const started = performance.now();
    if (closing) res.setHeader("connection", "close");
    res.on("finish", () => {
      metrics.duration.observe((performance.now() - started) / 1000);
      // Once closing, a connection is closed as soon as it has nothing in flight.
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
    if (req.url?.startsWith(OWN_PREFIX)) return ownEndpoint(req, res);

    const body = await readBody(req).catch(() => undefined);
    if (body === undefined) return fail(res, 413, "payload_too_large", "request body is too large");
    const order = pickOrder();
    const resetOnce = new Set<Upstream>();
    for (const upstream of order) {
      const outcome = await forward(req, res, body, upstream, agent);
      if (outcome === "done") {
        metrics.requests.inc({ upstream: upstream.address, status: String(res.statusCode) });
        return;
      }
      metrics.retries.inc({ upstream: upstream.address, reason: outcome });
      if (outcome === "refused") {
        upstream.downUntil = Date.now() + COOLDOWN_MS;
        log.warn({ upstream: upstream.address }, "web replica refused, trying next");
      } else if (!resetOnce.has(upstream)) {
        // A closed idle connection says nothing about the replica: it may get the request again.
        resetOnce.add(upstream);
        order.push(upstream);
      }
    }
    metrics.requests.inc({ upstream: "none", status: "503" });
    fail(res, 503, "unavailable", "no web replica is reachable");
  });
  server.requestTimeout = UPSTREAM_TIMEOUT_MS + 5_000;

  const view = () =>
    upstreams.map((u) => ({
      address: u.address,
      ready: u.ready,
      down: u.downUntil > Date.now(),
      error: u.lastProbeError,
    }));

  const ownEndpoint = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? "").split("?")[0];
    if (req.method === "GET" && path === "/_frontdoor/metrics") {
      sendMetrics(metrics.registry, res).catch(() => res.destroy());
    } else if (req.method === "GET" && path === "/_frontdoor/status") {
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
      res.end(JSON.stringify({ closing, upstreams: view() }));
    } else {
      fail(res, 404, "not_found", "no such endpoint");
    }
  };

  // Readiness polling: one timer, every replica in parallel, never overlapping itself.
  const intervalMs = options.probeIntervalMs ?? 1000;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  const pollAll = async () => {
    await Promise.all(
      upstreams.map(async (u) => {
        const outcome = await probeReady(u, probeAgent, PROBE_TIMEOUT_MS);
        const ready = outcome === true;
        if (ready !== u.ready) {
          log.info(
            { upstream: u.address, ready, reason: ready ? undefined : outcome },
            "web replica readiness",
          );
        }
        u.ready = ready;
        u.lastProbeError = ready ? undefined : String(outcome);
        metrics.upstreamReady.set({ upstream: u.address }, ready ? 1 : 0);
      }),
    );
  };
  const schedule = () => {
    if (closing) return;
    timer = setTimeout(() => {
      polling = pollAll().finally(schedule);
    }, intervalMs);
    timer.unref();
  };

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, resolve);
  });
  polling = pollAll();
  await polling;
  schedule();
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  log.info({ port, upstreams: options.upstreams }, "front door listening");

  return {
    port,
    upstreams: view,
    close: async () => {
      closing = true;
      clearTimeout(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const cut = setTimeout(() => {
        log.warn("requests still in flight at the shutdown deadline: closing their connections");
        server.closeAllConnections();
      }, options.shutdownTimeoutMs ?? 8_000);
      await closed;
      clearTimeout(cut);
      await polling;
      agent.destroy();
      probeAgent.destroy();
    },
  };
}

/** true when /readyz answers 200; otherwise why not. */
function probeReady(upstream: Upstream, agent: http.Agent, timeoutMs: number): Promise<true | string> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: upstream.host, port: upstream.port, path: "/readyz", agent, timeout: timeoutMs },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 200 ? true : `HTTP ${res.statusCode}`));
        res.on("error", (err) => resolve(err.message));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (err) => resolve(err.message));
  });
}

/**
 * "refused": the replica could not be reached at all; "reset": it closed a reused keep-alive
 * connection before reading the request. Both are safe to send elsewhere.
 */
function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: Buffer,
  upstream: Upstream,
  agent: http.Agent,
): Promise<"done" | "refused" | "reset"> {
  return new Promise((resolve) => {
    // The client's own address replaces any X-Forwarded-For it sent, so it cannot pose as another.
    const headers: http.OutgoingHttpHeaders = {
      ...req.headers,
      "content-length": String(body.length),
      "x-forwarded-for": req.socket.remoteAddress ?? "",
    };
    delete headers["transfer-encoding"];
    delete headers["connection"];
    delete headers["keep-alive"];
    const upstreamReq = http.request(
      {
        host: upstream.host,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers,
        // A request that may change state goes over a connection of its own: then a reset can
        // only mean the replica had it (and may have acted), never the keep-alive race where an
        // idle connection is closed under a new request, so it is never sent twice.
        agent: SAFE_METHODS.has(req.method ?? "") ? agent : false,
        timeout: UPSTREAM_TIMEOUT_MS,
      },
      (upstreamRes) => {
        const responseHeaders = { ...upstreamRes.headers };
        // Hop-by-hop: the replica closing its connection to us says nothing about the client's.
        delete responseHeaders["connection"];
        delete responseHeaders["keep-alive"];
        res.writeHead(upstreamRes.statusCode ?? 502, responseHeaders);
        upstreamRes.pipe(res);
        upstreamRes.on("end", () => resolve("done"));
        upstreamRes.on("error", () => {
          res.destroy();
          resolve("done");
        });
      },
    );
    upstreamReq.on("timeout", () => upstreamReq.destroy(new Error("upstream timeout")));
    upstreamReq.on("error", (err: NodeJS.ErrnoException) => {
      if (!res.headersSent) {
        if (err.code === "ECONNREFUSED") return resolve("refused");
        if (upstreamReq.reusedSocket && err.code === "ECONNRESET") return resolve("reset");
        fail(res, 502, "bad_gateway", "the web replica failed to answer");
      } else {
        res.destroy();
      }
      resolve("done");
    });
    upstreamReq.end(body);
  });
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("too large"));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function fail(res: http.ServerResponse, statusCode: number, code: string, message: string): void {
  res.writeHead(statusCode, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify({ error: { code, message } }));
}

export function splitHostPort(address: string): [string, number] {
  const i = address.lastIndexOf(":");
  const port = Number(address.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port)) throw new Error(`expected host:port, got "${address}"`);
  return [address.slice(0, i), port];
}
