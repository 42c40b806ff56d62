import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { dirname } from "node:path";

/** A process the launcher started: kept by pid, never found by name. */
export interface Child {
  name: string;
  pid: number;
  process: ChildProcess;
  exited: Promise<number | null>;
}

/** Starts a process with its output appended to `logFile`. */
export function spawnChild(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  logFile: string,
): Child {
  mkdirSync(dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile, { flags: "a" });
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code, signal) => {
      log.end();
      resolve(code ?? (signal ? -1 : null));
    });
    child.on("error", () => resolve(-1));
  });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  return { name, pid: child.pid, process: child, exited };
}

/** `signal` (SIGTERM), then SIGKILL if it has not exited within `graceMs`. Resolves once it is gone. */
export async function stopChild(
  child: Child,
  graceMs = 10_000,
  signal: NodeJS.Signals = "SIGTERM",
): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill(signal);
  const timer = setTimeout(() => child.process.kill("SIGKILL"), graceMs);
  await child.exited;
  clearTimeout(timer);
}

/** Polls `check` until it resolves true, or throws after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
