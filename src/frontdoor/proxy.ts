import http from "node:http";
import type { Logger } from "pino";

/** Bodies beyond this are refused here already (the web tier's own limit is lower). */
const MAX_BODY_BYTES = 64 * 1024;
const UPSTREAM_TIMEOUT_MS = 20_000;
/** How long a replica that refused a connection is left out before it is tried again. */
const COOLDOWN_MS = 1_000;

interface Upstream {
  host: string;
  port: number;
  downUntil: number;
}

export interface FrontDoor {
  port: number;
  close(): Promise<void>;
}

/**
 * The front door: spreads requests round-robin over the web replicas. A replica that
 * refuses the connection is skipped for a moment and the request goes to the next one;
 * the request body is buffered (it is small) so that retry can resend it. Once a
 * replica has accepted a request it is never resent, since it may have acted on it.
 */
export async function startFrontDoor(options: {
  host: string;
  port: number;
  upstreams: readonly string[];
  log: Logger;
}): Promise<FrontDoor> {
  const upstreams: Upstream[] = options.upstreams.map((address) => {
    const [host, port] = splitHostPort(address);
    return { host, port, downUntil: 0 };
  });
  let next = 0;

  const pickOrder = (): Upstream[] => {
    const now = Date.now();
    const start = next++ % upstreams.length;
    const rotated = [...upstreams.slice(start), ...upstreams.slice(0, start)];
    return [...rotated.filter((u) => u.downUntil <= now), ...rotated.filter((u) => u.downUntil > now)];
  };

  const server = http.createServer(async (req, res) => {
    const body = await readBody(req).catch(() => undefined);
    if (body === undefined) return fail(res, 413, "payload_too_large", "request body is too large");
    for (const upstream of pickOrder()) {
      const outcome = await forward(req, res, body, upstream);
      if (outcome === "done") return;
      upstream.downUntil = Date.now() + COOLDOWN_MS;
      options.log.warn({ upstream: `${upstream.host}:${upstream.port}` }, "web replica refused, trying next");
    }
    fail(res, 503, "unavailable", "no web replica is reachable");
  });
  server.requestTimeout = UPSTREAM_TIMEOUT_MS + 5_000;

  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  options.log.info({ port, upstreams: options.upstreams }, "front door listening");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** "refused" when the replica could not be reached at all (safe to try another). */
function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: Buffer,
  upstream: Upstream,
): Promise<"done" | "refused"> {
  return new Promise((resolve) => {
    // The client's own address replaces any X-Forwarded-For it sent, so it cannot pose as another.
    const headers: http.OutgoingHttpHeaders = {
      ...req.headers,
      "content-length": String(body.length),
      "x-forwarded-for": req.socket.remoteAddress ?? "",
    };
    delete headers["transfer-encoding"];
    const upstreamReq = http.request(
      { host: upstream.host, port: upstream.port, method: req.method, path: req.url, headers, timeout: UPSTREAM_TIMEOUT_MS },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
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
      if (err.code === "ECONNREFUSED" && !res.headersSent) return resolve("refused");
      if (!res.headersSent) fail(res, 502, "bad_gateway", "the web replica failed to answer");
      else res.destroy();
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
