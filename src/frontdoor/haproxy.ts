import { spawnSync } from "node:child_process";
import { accessSync, constants as fsConstants, mkdirSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { haproxyConfig, type FrontDoorSettings } from "./haproxy-config.js";

/**
 * The launcher glue of the front door: find (or install) HAProxy, write its configuration
 * (checked with `haproxy -c` before use), and how to run it as a child process in the
 * foreground, so the launcher holds its pid like any other process. Signals, as HAProxy reads
 * them: SIGUSR1 stops gracefully (stop accepting, let requests finish, `hard-stop-after` at
 * most), SIGTERM and SIGINT stop at once.
 */

const INSTALL = ["apt-get", "install", "-y", "haproxy"];
/** Debian installs it in /usr/sbin, which is not on every user's PATH. */
const FALLBACKS = ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"];

/** The signal that stops HAProxy gracefully. */
export const GRACEFUL_STOP: NodeJS.Signals = "SIGUSR1";

/** The haproxy binary on PATH or in Debian's place; throws with the install command when missing. */
export function findHaproxy(): string {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter((d) => d !== "");
  for (const candidate of [...dirs.map((d) => join(d, "haproxy")), ...FALLBACKS]) {
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  throw new Error(`HAProxy (the front door) is not installed. Run: sudo ${INSTALL.join(" ")}`);
}

/** As root, installs Debian's haproxy package when missing; otherwise says what to run. */
export function ensureHaproxyInstalled(log: (line: string) => void = console.log): string {
  try {
    return findHaproxy();
  } catch (err) {
    if (process.getuid?.() !== 0) throw err;
  }
  log(`HAProxy is not installed; running: ${INSTALL.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  let result = spawnSync(INSTALL[0]!, INSTALL.slice(1), { stdio: "inherit", env });
  if (result.status !== 0) {
    spawnSync("apt-get", ["update"], { stdio: "inherit", env });
    result = spawnSync(INSTALL[0]!, INSTALL.slice(1), { stdio: "inherit", env });
  }
  if (result.status !== 0) throw new Error(`"${INSTALL.join(" ")}" failed; install haproxy and try again`);
  return findHaproxy();
}

/** Writes the configuration for `settings` to `file` and has HAProxy check it; throws what it says. */
export function writeHaproxyConfig(binary: string, file: string, settings: FrontDoorSettings): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, haproxyConfig(settings), { mode: 0o644 });
  const check = spawnSync(binary, ["-c", "-q", "-f", file], { encoding: "utf8" });
  if (check.status !== 0) {
    throw new Error(`HAProxy refused ${file}:\n${(check.stderr || check.stdout).trim()}`);
  }
}

/** Arguments to run HAProxy in the foreground (no daemon, logs on stdout) with `file`. */
export function haproxyArgs(file: string): string[] {
  return ["-db", "-f", file];
}

/** A web replica as the front door sees it, from the stats of its `web` backend. */
export interface ReplicaState {
  /** web-1, web-2…: the replicas in the order of WEB_ADDRS. */
  name: string;
  /** "UP", "DOWN", "MAINT"… as HAProxy says it. */
  status: string;
}

/** The web replicas' states, read from the admin listener's CSV stats. */
export async function readReplicaStates(adminUrl: string, timeoutMs = 2_000): Promise<ReplicaState[]> {
  const response = await fetch(`${adminUrl}/stats;csv`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`${adminUrl}/stats;csv answered ${response.status}`);
  const [header, ...rows] = (await response.text()).trim().split("\n");
  const columns = (header ?? "").replace(/^# /, "").split(",");
  const at = (name: string) => columns.indexOf(name);
  return rows
    .map((row) => row.split(","))
    .filter((cells) => cells[at("pxname")] === "web" && /^web-\d+$/.test(cells[at("svname")] ?? ""))
    .map((cells) => ({ name: cells[at("svname")]!, status: cells[at("status")] ?? "" }));
}
