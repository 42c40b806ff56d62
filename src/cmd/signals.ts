import type { Logger } from "pino";

/**
 * Stops cleanly on SIGTERM or SIGINT. The same signal again, or a stop that outlasts
 * `deadlineMs`, exits at once. (A terminal's Ctrl-C reaches the launcher's children as
 * SIGINT and the launcher then sends SIGTERM: that pair still stops gracefully.)
 */
export function stopOnSignals(log: Logger, stop: () => Promise<void>, deadlineMs = 10_000): void {
  const seen = new Set<NodeJS.Signals>();
  const onSignal = (signal: NodeJS.Signals) => {
    if (seen.has(signal)) {
      log.warn({ signal }, "second signal, exiting now");
      process.exit(1);
    }
    const first = seen.size === 0;
    seen.add(signal);
    if (!first) return;
    log.info({ signal }, "stopping");
    setTimeout(() => {
      log.error({ deadlineMs }, "stop took too long, exiting");
      process.exit(1);
    }, deadlineMs).unref();
    stop().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, "stop failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
