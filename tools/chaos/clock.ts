import { writeFileSync } from "node:fs";
import { skewedClockEnv } from "../../src/launcher/faketime.js";

/**
 * A wall clock the run can move while a process runs: libfaketime reads its offset from a
 * timestamp file, rereading it at most once a second (FAKETIME_CACHE_DURATION, cheap: a
 * reread per call costs ~10 µs on every Date.now()). The monotonic clock is never touched, so
 * timers and deadlines keep working; the same pid runs throughout.
 */
export class MovableClock {
  constructor(readonly file: string) {
    this.set("+0");
  }

  /** Environment for the process whose clock this is. */
  env(): NodeJS.ProcessEnv {
    const { FAKETIME_NO_CACHE: _perCall, ...env } = skewedClockEnv("+0", this.file);
    return { ...env, FAKETIME_CACHE_DURATION: "1" };
  }

  /**
   * The offset from the real clock in libfaketime's syntax ("+3m", "-90s", "+0"); the process
   * sees it within a second. Setting an earlier offset makes its clock jump backwards.
   */
  set(offset: string): void {
    writeFileSync(this.file, `${offset}\n`);
  }
}
