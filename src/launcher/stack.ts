import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { credentials } from "@grpc/grpc-js";
import type { StorageKind } from "../shared/config.js";
import { checkBackendHealth } from "../grpc/backend-probe.js";
import { spawnChild, stopChild, waitFor, type Child } from "./child.js";

const CMD_DIR = fileURLToPath(new URL("../cmd/", import.meta.url));

export interface StackOptions {
  storage: StorageKind;
  dataDir: string;
  host?: string;
  frontPort: number;
  webPorts: number[];
  backendPorts: number[];
  /** Prometheus /metrics port of each backend (BACKEND_METRICS_PORT); none when omitted. */
  backendMetricsPorts?: number[];
  /** Required for STORAGE=etcd. */
  etcdEndpoints?: string[];
  /** Extra environment for every Flock process (e.g. SCRYPT_LOG_N for fast tests). */
  env?: NodeJS.ProcessEnv;
  /** Extra environment for backend i (0-based) only, e.g. a skewed clock (see faketime.ts). */
  backendEnv?: (index: number) => NodeJS.ProcessEnv | undefined;
}

export interface ProcessInfo {
  role: "front-door" | "web" | "backend";
  name: string;
  address: string;
  pid: number;
}

/** Cheap password hashing and quiet logs, for tests and tools that run many signups on 2 cores. */
export const FAST_ENV: NodeJS.ProcessEnv = { SCRYPT_LOG_N: "10", LOG_LEVEL: "warn" };

/**
 * The usual etcd topology on given ports: ports[0] the front door, [1..2] web replicas,
 * [3..4] backends, and [5..6], when given, the backends' metrics ports.
 */
export function twoByTwo(
  ports: readonly number[],
  dataDir: string,
  etcdEndpoints: string[],
  env: NodeJS.ProcessEnv = FAST_ENV,
): StackOptions {
  const metrics = ports.length >= 7 ? { backendMetricsPorts: [ports[5]!, ports[6]!] } : {};
  return {
    storage: "etcd",
    dataDir,
    frontPort: ports[0]!,
    webPorts: [ports[1]!, ports[2]!],
    backendPorts: [ports[3]!, ports[4]!],
    etcdEndpoints,
    env,
    ...metrics,
  };
}

/**
 * The Flock processes of one topology: backends, web replicas and the front door, each
 * a child process with its log under dataDir/logs. (etcd members are started apart,
 * see etcd-cluster.ts, so tests can kill and restart them on their own.)
 */
export class Stack {
  private readonly slots: { info: Omit<ProcessInfo, "pid">; child?: Child; start: () => Child }[] = [];
  readonly host: string;

  constructor(private readonly options: StackOptions) {
    this.host = options.host ?? "127.0.0.1";
    const backendAddrs = options.backendPorts.map((p) => `${this.host}:${p}`);
    const webAddrs = options.webPorts.map((p) => `${this.host}:${p}`);
    const base: NodeJS.ProcessEnv = {
      ...process.env,
      STORAGE: options.storage,
      ETCD_ENDPOINTS: (options.etcdEndpoints ?? []).join(","),
      BACKEND_ADDRS: backendAddrs.join(","),
      WEB_ADDRS: webAddrs.join(","),
      FLOCK_DATA_DIR: options.dataDir,
      ...options.env,
    };
    options.backendPorts.forEach((port, i) =>
      this.add(
        "backend",
        `backend-${i + 1}`,
        port,
        "backend.js",
        {
          BACKEND_HOST: this.host,
          BACKEND_PORT: String(port),
          BACKEND_METRICS_PORT: String(options.backendMetricsPorts?.[i] ?? 0),
          ...options.backendEnv?.(i),
        },
        base,
      ),
    );
    options.webPorts.forEach((port, i) =>
      this.add("web", `web-${i + 1}`, port, "web.js", { WEB_HOST: this.host, WEB_PORT: String(port) }, base),
    );
    this.add(
      "front-door",
      "front-door",
      options.frontPort,
      "front-door.js",
      { FRONT_HOST: this.host, PORT: String(options.frontPort) },
      base,
    );
  }

  get frontUrl(): string {
    return `http://${this.host}:${this.options.frontPort}`;
  }

  webUrl(i: number): string {
    return `http://${this.host}:${this.options.webPorts[i]}`;
  }

  get backendAddrs(): string[] {
    return this.options.backendPorts.map((p) => `${this.host}:${p}`);
  }

  processes(): ProcessInfo[] {
    return this.slots.flatMap((s) => (s.child ? [{ ...s.info, pid: s.child.pid }] : []));
  }

  /** Starts every process (backends first) and waits until each answers and is ready. */
  async start(): Promise<void> {
    for (const role of ["backend", "web", "front-door"] as const) {
      const slots = this.slots.filter((s) => s.info.role === role);
      await Promise.all(slots.map((s) => this.startSlot(s)));
      await Promise.all(slots.map((s) => this.waitReady(s.info.name)));
    }
  }

  /**
   * Waits until a process is ready: a backend's gRPC health says SERVING (its store answers),
   * a web replica's /readyz answers 200 (a backend is SERVING), the front door answers.
   */
  async waitReady(name: string, timeoutMs = 20_000): Promise<void> {
    const slot = this.slot(name);
    const address = slot.info.address;
    const insecure = { credentials: credentials.createInsecure(), options: {} };
    await waitFor(
      `${name} on ${address} to be ready`,
      async () => {
        if (!slot.child) throw new Error(`${name} is not running`);
        if (slot.info.role === "backend") return (await checkBackendHealth(address, insecure)) === "SERVING";
        if (slot.info.role === "web") return httpOk(`http://${address}/readyz`);
        return httpOk(`http://${address}/_frontdoor/status`);
      },
      timeoutMs,
    );
  }

  async stopProcess(name: string): Promise<void> {
    const slot = this.slot(name);
    if (slot.child) await stopChild(slot.child);
    slot.child = undefined;
  }

  /** SIGKILL: the process gets no chance to finish anything. */
  async killProcess(name: string): Promise<void> {
    const slot = this.slot(name);
    if (!slot.child) return;
    slot.child.process.kill("SIGKILL");
    await slot.child.exited;
    slot.child = undefined;
  }

  async startProcess(name: string): Promise<void> {
    await this.startSlot(this.slot(name));
  }

  /** Stops everything, the front door first and the backends last. */
  async stop(): Promise<void> {
    for (const role of ["front-door", "web", "backend"] as const) {
      await Promise.all(
        this.slots.filter((s) => s.info.role === role).map((s) => this.stopProcess(s.info.name)),
      );
    }
  }

  private add(
    role: ProcessInfo["role"],
    name: string,
    port: number,
    script: string,
    env: NodeJS.ProcessEnv,
    base: NodeJS.ProcessEnv,
  ): void {
    const logFile = join(this.options.dataDir, "logs", `${name}.log`);
    this.slots.push({
      info: { role, name, address: `${this.host}:${port}` },
      start: () => spawnChild(name, process.execPath, [join(CMD_DIR, script)], { ...base, ...env }, logFile),
    });
  }

  private slot(name: string) {
    const slot = this.slots.find((s) => s.info.name === name);
    if (!slot) throw new Error(`no process named ${name}`);
    return slot;
  }

  private async startSlot(slot: (typeof this.slots)[number]): Promise<void> {
    if (slot.child) return;
    const child = slot.start();
    slot.child = child;
    const [host, port] = [this.host, Number(slot.info.address.split(":").pop())];
    const died = child.exited.then((code) => {
      throw new Error(`${slot.info.name} exited (${code}) while starting; see ${this.options.dataDir}/logs`);
    });
    await Promise.race([
      died,
      waitFor(`${slot.info.name} on ${slot.info.address}`, () =>
        slot.info.role === "backend" ? tcpOpen(host, port) : httpOk(`http://${host}:${port}/healthz`),
      ),
    ]);
    died.catch(() => undefined);
  }
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function httpOk(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
  return response.ok;
}
