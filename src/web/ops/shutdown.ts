import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { WebOps } from "./web-ops.js";

/**
 * A web replica's graceful stop, in order:
 * 1. drain: /readyz answers 503 for `drainMs` while requests are still served, so the front
 *    door (which polls /readyz) stops sending new ones here;
 * 2. close: stop accepting connections; requests in flight finish (their answers carry
 *    `Connection: close`), idle keep-alive connections are closed;
 * 3. past `timeoutMs`, whatever is still open is cut.
 * The caller closes the backend clients afterwards.
 */
export async function stopWebGracefully(
  app: FastifyInstance,
  ops: WebOps,
  log: Logger,
  { drainMs, timeoutMs }: { drainMs: number; timeoutMs: number },
): Promise<void> {
  ops.beginDrain();
  log.info({ drainMs }, "draining: /readyz now answers 503");
  await new Promise((resolve) => setTimeout(resolve, drainMs));
  log.info("closing: no new connections, finishing requests in flight");
  const cut = setTimeout(() => {
    log.warn({ timeoutMs }, "requests still running at the shutdown deadline: closing their connections");
    app.server.closeAllConnections();
  }, timeoutMs);
  try {
    await app.close();
  } finally {
    clearTimeout(cut);
  }
}
