import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Where Debian's `faketime` package puts its library, for any architecture. */
function libfaketime(): string | undefined {
  for (const lib of ["/usr/lib", "/usr/lib64"]) {
    const direct = join(lib, "faketime", "libfaketime.so.1");
    if (existsSync(direct)) return direct;
    if (!existsSync(lib)) continue;
    for (const arch of readdirSync(lib)) {
      const candidate = join(lib, arch, "faketime", "libfaketime.so.1");
      if (existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

/**
 * Environment that runs a process (Node included, with the same pid) on a skewed wall clock,
 * through libfaketime (`apt-get install faketime`). `offset` is libfaketime's syntax: "-10m",
 * "+2h", or, with `timestampFile`, whatever that file says at each reading (so a test can make
 * the clock jump). The monotonic clock stays real, so timers and deadlines keep working.
 */
export function skewedClockEnv(offset: string, timestampFile?: string): NodeJS.ProcessEnv {
  const library = libfaketime();
  if (!library) throw new Error("libfaketime not found: install it with `apt-get install -y faketime`");
  return {
    LD_PRELOAD: library,
    FAKETIME_DONT_FAKE_MONOTONIC: "1",
    ...(timestampFile
      ? { FAKETIME_TIMESTAMP_FILE: timestampFile, FAKETIME_NO_CACHE: "1" }
      : { FAKETIME: offset }),
  };
}
