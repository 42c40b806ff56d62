import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { credentials } from "@grpc/grpc-js";
import { frontDoorSettings, type FrontDoorSettings } from "../frontdoor/haproxy-config.js";
import {
  ensureHaproxyInstalled,
  GRACEFUL_STOP,
  haproxyArgs,
  readReplicaStates,
  writeHaproxyConfig,
  type ReplicaState,
} from "../frontdoor/haproxy.js";
import { loadConfig, type StorageKind } from "../shared/config.js";
import { checkBackendHealth } from "../grpc/backend-probe.js";
import { spawnChild, stopChild, waitFor, type Child } from "./child.js";
import { freePorts } from "./etcd-cluster.js";
import { assertPortsFree, describeHolder, type WantedPort } from "./ports.js";

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
  /** The front door's admin listener (metrics, stats, /cluster); a free port is picked when omitted. */
  adminPort?: number;
  /** Required for STORAGE=etcd. */
  etcdEndpoints?: string[];
  /** Extra environment for every Flock process (e.g. SCRYPT_LOG_N for fast tests). */
  env?: NodeJS.ProcessEnv;
  /** Extra environment for backend i (0-based) only, e.g. a skewed clock (see faketime.ts). */
  backendEnv?: (index: number) => NodeJS.ProcessEnv | undefined;
  /** Front door settings beyond what the environment says (tests: its source address). */
  frontDoor?: Partial<FrontDoorSettings>;
}

export interface ProcessInfo {
  role: "front-door" | "web" | "backend";
  name: string;
  address: string;
  pid: number;
}

/**
 * Cheap password hashing and quiet logs, for tests and tools that run many signups on 2 cores;
 * no rate limits at the front door, since they drive many users from one address.
 */
export const FAST_ENV: NodeJS.ProcessEnv = { SCRYPT_LOG_N: "10", LOG_LEVEL: "warn", RATE_LIMITS: "off" };

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

interface Slot {
  info: Omit<ProcessInfo, "pid">;
  /** The ports it listens on, checked before it starts. */
  ports: () => WantedPort[];
  child?: Child;
  start: () => Child;
  stopSignal?: NodeJS.Signals;
}

/**
 * The Flock processes of one topology: backends, web replicas and the front door (HAProxy), each
 * a child process, held by pid, with its log under dataDir/logs. (etcd members are started apart,
 * see etcd-cluster.ts, so tests can kill and restart them on their own.)
 */
export class Stack {
  private readonly slots: Slot[] = [];
  readonly host: string;
  private adminPort: number | undefined;
  private readonly baseEnv: NodeJS.ProcessEnv;

  constructor(private readonly options: StackOptions) {
    this.host = options.host ?? "127.0.0.1";
    this.adminPort = options.adminPort;
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
    this.baseEnv = base;
    options.backendPorts.forEach((port, i) => {
      const name = `backend-${i + 1}`;
      const metricsPort = options.backendMetricsPorts?.[i] ?? 0;
      this.add(
        "backend",
        name,
        port,
        "backend.js",
        {
          BACKEND_HOST: this.host,
          BACKEND_PORT: String(port),
          BACKEND_METRICS_PORT: String(metricsPort),
          ...options.backendEnv?.(i),
        },
        base,
        [{ host: this.host, port: metricsPort, what: `${name}'s metrics (BACKEND_METRICS_PORT)` }],
      );
    });
    options.webPorts.forEach((port, i) =>
      this.add("web", `web-${i + 1}`, port, "web.js", { WEB_HOST: this.host, WEB_PORT: String(port) }, base),
    );
    this.addFrontDoor();
  }

  get frontUrl(): string {
    return `http://${this.host}:${this.options.frontPort}`;
  }

  /** The front door's admin listener: /metrics, /stats, /readyz, /cluster. */
  get adminUrl(): string {
    if (this.adminPort === undefined) throw new Error("the front door's admin port is picked when it starts");
    return `http://${this.host}:${this.adminPort}`;
  }

  /** The web replicas (with their addresses) as the front door's health checks see them. */
  async frontDoorReplicas(): Promise<(ReplicaState & { address: string })[]> {
    const states = await readReplicaStates(this.adminUrl);
    return states.map((state) => {
      const port = this.options.webPorts[Number(state.name.replace("web-", "")) - 1];
      return { ...state, address: `${this.host}:${port}` };
    });
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
    this.adminPort ??= (await freePorts(1))[0]!;
    await assertPortsFree(this.slots.filter((s) => !s.child).flatMap((s) => s.ports()));
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
        // The front door is ready once its checks found a ready web replica.
        return httpOk(`${this.adminUrl}/readyz`);
      },
      timeoutMs,
    );
  }

  async stopProcess(name: string): Promise<void> {
    const slot = this.slot(name);
    if (slot.child) await stopChild(slot.child, 10_000, slot.stopSignal);
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
    const slot = this.slot(name);
    if (!slot.child) await assertPortsFree(slot.ports());
    await this.startSlot(slot);
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
    morePorts: WantedPort[] = [],
  ): void {
    const logFile = join(this.options.dataDir, "logs", `${name}.log`);
    const setting = role === "backend" ? "BACKEND_PORT" : "WEB_PORT";
    this.slots.push({
      info: { role, name, address: `${this.host}:${port}` },
      ports: () => [{ host: this.host, port, what: `${name} (${setting})` }, ...morePorts],
      start: () => spawnChild(name, process.execPath, [join(CMD_DIR, script)], { ...base, ...env }, logFile),
    });
  }

  /** HAProxy, its configuration written from the settings each time it starts. */
  private addFrontDoor(): void {
    const name = "front-door";
    const { frontPort, dataDir } = this.options;
    const configFile = join(dataDir, "front-door", "haproxy.cfg");
    this.slots.push({
      info: { role: "front-door", name, address: `${this.host}:${frontPort}` },
      ports: () => [
        { host: this.host, port: frontPort, what: "the front door (PORT)" },
        { host: this.host, port: this.adminPort ?? 0, what: "the front door's admin listener (ADMIN_PORT)" },
      ],
      stopSignal: GRACEFUL_STOP,
      start: () => {
        const binary = ensureHaproxyInstalled();
        const settings: FrontDoorSettings = {
          ...frontDoorSettings(loadConfig(this.baseEnv)),
          host: this.host,
          port: frontPort,
          adminHost: this.host,
          adminPort: this.adminPort!,
          webAddrs: this.options.webPorts.map((p) => `${this.host}:${p}`),
          ...this.options.frontDoor,
        };
        writeHaproxyConfig(binary, configFile, settings);
        return spawnChild(
          name,
          binary,
          haproxyArgs(configFile),
          this.baseEnv,
          join(dataDir, "logs", `${name}.log`),
        );
      },
    });
  }

  private slot(name: string) {
    const slot = this.slots.find((s) => s.info.name === name);
    if (!slot) throw new Error(`no process named ${name}`);
    return slot;
  }

  private async startSlot(slot: Slot): Promise<void> {
    if (slot.child) return;
    const child = slot.start();
    slot.child = child;
    const [host, port] = [this.host, Number(slot.info.address.split(":").pop())];
    let starting = true;
    const died = child.exited.then((code) => {
      if (!starting) return;
      // Taken between the check and the listen: say by whom, not only "exited (1)".
      const holders = slot
        .ports()
        .flatMap((p) => {
          const holder = p.port === 0 ? undefined : describeHolder(p.port);
          return holder ? [`port ${p.port} (${p.what}) is taken by ${holder}`] : [];
        })
        .join("; ");
      throw new Error(
        `${slot.info.name} exited (${code}) while starting${holders ? `: ${holders}` : ""}; ` +
          `see ${join(this.options.dataDir, "logs", `${slot.info.name}.log`)}`,
      );
    });
    died.catch(() => undefined);
    try {
      await Promise.race([
        died,
        waitFor(`${slot.info.name} on ${slot.info.address}`, () =>
          slot.info.role === "web" ? httpOk(`http://${host}:${port}/healthz`) : tcpOpen(host, port),
        ),
      ]);
    } finally {
      starting = false;
    }
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
