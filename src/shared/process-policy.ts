import type { Logger } from "pino";
import { Counter, type Registry } from "prom-client";

/**
 * What a Flock process does with an error nobody handled (installed first thing by every
 * entry point in src/cmd/).
 *
 * - **An unhandled promise rejection is logged and counted, and the process keeps serving.**
 *   Node's default is to exit. In Flock such a rejection is a promise started early whose
 *   consumer had already failed (a prefetch while etcd was slow): the caller got its error,
 *   nothing is half-done, and every piece of state a process holds is soft (views rebuilt from
 *   etcd). Exiting would turn a store outage, which every replica sees at once, into the loss of
 *   every replica at once. It is still a bug: the error log line and the
 *   `flock_unhandled_rejections_total` counter say where, and the tests fail on either.
 * - **An uncaught exception ends the process (exit code 1) after it is logged.** A synchronous
 *   throw out of an event handler can leave this process's own state half-updated; the
 *   supervisor (systemd, the launcher's caller) starts it again and the views are rebuilt.
 */
export function installProcessPolicy(log: Logger, registry?: Registry): void {
  const rejections = registry
    ? new Counter({
        name: "flock_unhandled_rejections_total",
        help: "Promise rejections nobody handled (each one a bug; the process kept serving)",
        registers: [registry],
      })
    : undefined;
  process.on("unhandledRejection", (reason) => {
    rejections?.inc();
    log.error(
      { err: reason },
      "unhandled promise rejection (a bug: a promise failed with no handler); still serving",
    );
  });
  process.on("uncaughtException", (err, origin) => {
    // pino writes to stdout synchronously, so the line is out before the exit.
    log.fatal({ err, origin }, "uncaught exception; exiting");
    process.exit(1);
  });
}
