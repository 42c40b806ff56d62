import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createServer } from "node:net";

/**
 * When a port the launcher needs is taken, it says which port, for what, and who holds it:
 * a process listening there, or an outgoing connection the kernel gave that local port (the
 * reason defaults stay below Linux's ephemeral range, 32768–60999). Linux's /proc tells;
 * elsewhere the message only names the port.
 */

export interface WantedPort {
  host: string;
  port: number;
  /** What needs it, e.g. "backend-1 (BACKEND_PORT)". */
  what: string;
}

/** Throws one message naming every wanted port that cannot be listened on, and its holder. */
export async function assertPortsFree(wanted: readonly WantedPort[]): Promise<void> {
  const taken: string[] = [];
  for (const w of wanted) {
    if (w.port === 0) continue;
    const error = await tryListen(w.host, w.port);
    if (error) taken.push(`port ${w.port} on ${w.host}, needed by ${w.what}: ${error}`);
  }
  if (taken.length > 0) throw new Error(`cannot start: ${taken.join("; ")}`);
}

/** Why `host:port` cannot be listened on (who holds it), or undefined when it can. */
async function tryListen(host: string, port: number): Promise<string | undefined> {
  const code = await new Promise<string | undefined>((resolve) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
  if (code === undefined) return undefined;
  if (code !== "EADDRINUSE") return `cannot listen (${code})`;
  return `taken by ${describeHolder(port) ?? "another process (see `ss -tanp 'sport = :" + port + "'`)"}`;
}

interface Socket {
  local: string;
  remote: string;
  state: string;
  inode: string;
}

const TCP_STATES: Record<string, string> = { "01": "established", "0A": "listening", "06": "time-wait" };

/** Who holds local TCP `port`, in words; undefined when /proc cannot tell. */
export function describeHolder(port: number): string | undefined {
  const sockets = [...procSockets("/proc/net/tcp", false), ...procSockets("/proc/net/tcp6", true)].filter(
    (s) => Number(s.local.split(":").pop()) === port,
  );
  if (sockets.length === 0) return undefined;
  const owners = socketOwners(new Set(sockets.map((s) => s.inode)));
  const listening = sockets.find((s) => s.state === "listening");
  const chosen = listening ?? sockets.find((s) => s.state === "established") ?? sockets[0]!;
  const owner = owners.get(chosen.inode);
  const who = owner ? `pid ${owner.pid} (${owner.command})` : "a process this user cannot see";
  if (listening) return `${who}, listening there`;
  if (chosen.state === "time-wait")
    return `a connection just closed (TIME_WAIT ${chosen.local} → ${chosen.remote}); try again in a minute`;
  return `${who}: an outgoing connection ${chosen.local} → ${chosen.remote} was given that local port`;
}

function procSockets(file: string, v6: boolean): Socket[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .map((f) => ({
      local: address(f[1]!, v6),
      remote: address(f[2]!, v6),
      state: TCP_STATES[f[3]!] ?? `state ${f[3]}`,
      inode: f[9]!,
    }));
}

/** "0100007F:1F90" → "127.0.0.1:8080" (IPv6 shown as hex groups, enough to read). */
function address(hex: string, v6: boolean): string {
  const [ip = "", port = "0"] = hex.split(":");
  const portNumber = parseInt(port, 16);
  if (!v6) {
    const bytes = ip
      .match(/../g)!
      .map((b) => parseInt(b, 16))
      .reverse();
    return `${bytes.join(".")}:${portNumber}`;
  }
  const words = ip.match(/.{8}/g)!.map((w) => w.match(/../g)!.reverse().join(""));
  const groups = words
    .join("")
    .match(/.{4}/g)!
    .map((g) => g.replace(/^0+(?=.)/, ""));
  return `[${groups.join(":")}]:${portNumber}`;
}

/** inode → the process holding that socket, found through /proc/<pid>/fd. */
function socketOwners(inodes: Set<string>): Map<string, { pid: number; command: string }> {
  const owners = new Map<string, { pid: number; command: string }>();
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return owners;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode && inodes.has(inode) && !owners.has(inode))
        owners.set(inode, { pid: Number(pid), command: commandOf(pid) });
    }
    if (owners.size === inodes.size) break;
  }
  return owners;
}

function commandOf(pid: string): string {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8")
      .split("\0")
      .filter((a) => a !== "");
    const text = args.join(" ");
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  } catch {
    return "?";
  }
}
