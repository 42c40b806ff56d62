import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { MovableClock } from "./clock.js";

const MINUTE = 60_000;

describe("a movable clock (libfaketime on a timestamp file)", { timeout: 60_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "flock-clock-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("moves a running process's wall clock minutes ahead, then backwards, leaving its timers alone", async () => {
    const clock = new MovableClock(join(dir, "clock"));
    // Prints its wall clock and its monotonic clock every 50 ms.
    const child = spawn(
      process.execPath,
      ["-e", "setInterval(() => console.log(Date.now() + ' ' + performance.now()), 50)"],
      { env: { ...process.env, ...clock.env() }, stdio: ["ignore", "pipe", "inherit"] },
    );
    let last = { skew: 0, monotonic: 0 };
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      const [wall, monotonic] = line.split(" ").map(Number) as [number, number];
      last = { skew: wall - Date.now(), monotonic };
    });
    const settle = async (offsetMs: number) => {
      const deadline = Date.now() + 5_000;
      while (Math.abs(last.skew - offsetMs) > 5_000) {
        assert.ok(Date.now() < deadline, `skew ${last.skew} ms, wanted about ${offsetMs} ms`);
        await sleep(50);
      }
    };
    try {
      await settle(0);
      clock.set("+5m");
      await settle(5 * MINUTE);
      const before = last.monotonic;
      clock.set("-3m"); // a jump of eight minutes backwards, while it runs
      await settle(-3 * MINUTE);
      assert.ok(last.monotonic > before, "the monotonic clock kept going forwards");
      clock.set("+0");
      await settle(0);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
