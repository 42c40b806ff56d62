import {
  Channel,
  makeClientConstructor,
  Metadata,
  type Client,
  type ServiceDefinition,
  type ServiceError,
} from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { OpsServiceClient, type GetReplicaStatsResponse } from "../gen/flock/ops/v1/ops.js";
import type { GrpcDial } from "./tls.js";

/** What a probe found: SERVING, NOT_SERVING (up, store not answering or shutting down), or unreachable. */
export type BackendHealth = "SERVING" | "NOT_SERVING" | "UNREACHABLE" | "UNKNOWN";

export interface BackendState {
  address: string;
  health: BackendHealth;
  /** Why it is not SERVING, when known. */
  error?: string;
  checkedAtMs: number;
}

const HealthClient = makeClientConstructor(
  healthService as unknown as ServiceDefinition,
  "grpc.health.v1.Health",
);
type CheckCall = (
  request: { service: string },
  metadata: Metadata,
  options: { deadline: number },
  callback: (err: ServiceError | null, response?: { status?: string }) => void,
) => void;

interface Target {
  address: string;
  channel: Channel;
  health: Client;
  ops: OpsServiceClient;
  state: BackendState;
}

/**
 * Asks each backend address, one by one (not through the load-balanced channel), whether it
 * is SERVING, on a timer; answers come from the last round, so /readyz costs nothing. The
 * same per-address channel serves the /cluster page's GetReplicaStats and GetClusterStatus.
 */
export class BackendProber {
  private readonly targets: Target[];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private round: Promise<void> | undefined;

  constructor(
    addresses: readonly string[],
    dial: GrpcDial,
    private readonly intervalMs = 1000,
    private readonly timeoutMs = 1000,
    private readonly onChange: (state: BackendState) => void = () => undefined,
  ) {
    this.targets = addresses.map((address) => {
      const channel = new Channel(address, dial.credentials, {
        ...dial.options,
        "grpc.initial_reconnect_backoff_ms": 200,
        "grpc.max_reconnect_backoff_ms": 1_000,
      });
      const options = { channelOverride: channel };
      return {
        address,
        channel,
        health: new HealthClient(address, dial.credentials, options),
        ops: new OpsServiceClient(address, dial.credentials, options),
        state: { address, health: "UNKNOWN", checkedAtMs: 0 },
      };
    });
  }

  /** Probes at once and then every interval; resolves after the first round. */
  async start(): Promise<void> {
    await this.probeAll();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const t of this.targets) {
      t.health.close();
      t.ops.close();
      t.channel.close();
    }
  }

  states(): BackendState[] {
    return this.targets.map((t) => ({ ...t.state }));
  }

  anyServing(): boolean {
    return this.targets.some((t) => t.state.health === "SERVING");
  }

  /** The next round has finished (for tests and for the first /readyz). */
  async settled(): Promise<void> {
    await this.round;
  }

  /** One backend's own numbers, asked now; undefined when it does not answer in time. */
  replicaStats(address: string): Promise<GetReplicaStatsResponse | undefined> {
    const target = this.targets.find((t) => t.address === address);
    if (!target) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      target.ops.getReplicaStats(
        {},
        new Metadata(),
        { deadline: Date.now() + this.timeoutMs },
        (err, answer) => resolve(err ? undefined : answer),
      );
    });
  }

  /** Asks backends in turn, SERVING ones first, for the etcd members' status; the first answer wins. */
  async clusterStatus(timeoutMs = 2500) {
    const order = [...this.targets].sort((a, b) => rank(a.state.health) - rank(b.state.health));
    const deadline = Date.now() + timeoutMs;
    let lastError = "no backend configured";
    for (const target of order) {
      if (Date.now() >= deadline) break;
      try {
        const answer = await new Promise<import("../gen/flock/ops/v1/ops.js").GetClusterStatusResponse>(
          (resolve, reject) =>
            target.ops.getClusterStatus({}, new Metadata(), { deadline }, (err, response) =>
              err ? reject(err) : resolve(response),
            ),
        );
        return { via: target.address, answer };
      } catch (err) {
        lastError = `${target.address}: ${(err as ServiceError).details || String(err)}`;
      }
    }
    throw new Error(lastError);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.probeAll().finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  private probeAll(): Promise<void> {
    this.round = Promise.all(this.targets.map((t) => this.probe(t))).then(() => undefined);
    return this.round;
  }

  private probe(target: Target): Promise<void> {
    return new Promise((resolve) => {
      const check = (target.health as unknown as { Check: CheckCall }).Check.bind(target.health);
      check({ service: "" }, new Metadata(), { deadline: Date.now() + this.timeoutMs }, (err, response) => {
        const previous = target.state.health;
        target.state = err
          ? {
              address: target.address,
              health: "UNREACHABLE",
              error: err.details || err.message,
              checkedAtMs: Date.now(),
            }
          : {
              address: target.address,
              health: response?.status === "SERVING" ? "SERVING" : "NOT_SERVING",
              checkedAtMs: Date.now(),
            };
        if (target.state.health !== previous) this.onChange({ ...target.state });
        resolve();
      });
    });
  }
}

function rank(health: BackendHealth): number {
  return health === "SERVING" ? 0 : health === "NOT_SERVING" ? 1 : 2;
}

/** One health check of one backend, on a channel of its own (for tools and the local Stack). */
export async function checkBackendHealth(
  address: string,
  dial: GrpcDial,
  timeoutMs = 1000,
): Promise<BackendHealth> {
  const prober = new BackendProber([address], dial, 60_000, timeoutMs);
  try {
    await prober.start();
    return prober.states()[0]!.health;
  } finally {
    prober.stop();
  }
}
